#!/usr/bin/env bash
# Generates the Swift package's sources from a built libchatwire_ffi:
#   bindings/swift/generate.sh target/debug/libchatwire_ffi.so [path/to/uniffi-bindgen]
# Writes Sources/Chatwire/ (ChatwireFFI.swift, ChatwireCore.swift and the hand-written
# AsyncStreams.swift) and the C modules Sources/chatwire_ffiFFI/ and Sources/chatwire_coreFFI/
# (header + module.modulemap) that Package.swift declares. Run from anywhere in the repository.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
lib="${1:?usage: generate.sh LIBCHATWIRE_FFI [UNIFFI_BINDGEN]}"
lib="$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")"
bindgen="${2:-$(dirname "$lib")/uniffi-bindgen}"
out="$HERE/Sources"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# From the repository, so library mode finds sdk-ffi/uniffi.toml and sdk-core/uniffi.toml.
(cd "$REPO" && "$bindgen" generate "$lib" --language swift --no-format --out-dir "$tmp") >/dev/null
rm -rf "$out"
mkdir -p "$out/Chatwire"
cp "$tmp/ChatwireFFI.swift" "$tmp/ChatwireCore.swift" "$HERE/Chatwire/AsyncStreams.swift" "$out/Chatwire/"
for ns in chatwire_ffiFFI chatwire_coreFFI; do
    mkdir -p "$out/$ns"
    cp "$tmp/$ns.h" "$out/$ns/"
    cp "$tmp/$ns.modulemap" "$out/$ns/module.modulemap"
done
echo "generated $out"
