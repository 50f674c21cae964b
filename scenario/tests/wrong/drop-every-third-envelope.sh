#!/bin/sh
# A deliberately wrong runner: the Rust runner ("$@") with every third envelope line dropped.
n=0
"$@" | while IFS= read -r line; do
  case "$line" in
    *'"line":"envelope"'*) n=$((n + 1)); [ $((n % 3)) -eq 0 ] && continue ;;
  esac
  printf '%s\n' "$line"
done
