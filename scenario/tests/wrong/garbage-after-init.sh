#!/bin/sh
# A deliberately wrong runner: the Rust runner ("$@") writing a line that is not JSON after its
# first line.
n=0
"$@" | while IFS= read -r line; do
  printf '%s\n' "$line"
  n=$((n + 1))
  [ "$n" -eq 1 ] && printf '%s\n' '{oops'
done
