#!/bin/sh
# A deliberately wrong runner: the Rust runner ("$@") with every fourth envelope line written twice.
n=0
"$@" | while IFS= read -r line; do
  printf '%s\n' "$line"
  case "$line" in
    *'"line":"envelope"'*) n=$((n + 1)); [ $((n % 4)) -eq 0 ] && printf '%s\n' "$line" ;;
  esac
done
