#!/usr/bin/env bash
# Installs the chatwire C library into PREFIX, laid out for CMake and pkg-config:
#   PREFIX/include/chatwire.h
#   PREFIX/lib/libchatwire_ffi.so, PREFIX/lib/libchatwire_ffi.a
#   PREFIX/lib/pkgconfig/chatwire.pc
#   PREFIX/lib/cmake/chatwire/chatwireConfig.cmake, chatwireConfigVersion.cmake
# The libraries come from LIBDIR (default: $CARGO_TARGET_DIR/release, else target/release), built
# with `cargo build --release -p chatwire-ffi`.
#
# Usage: bindings/c/install.sh PREFIX [LIBDIR]
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 PREFIX [LIBDIR]" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PREFIX="$(mkdir -p "$1" && cd "$1" && pwd)"
LIBDIR="${2:-${CARGO_TARGET_DIR:-$REPO/target}/release}"
[[ -f "$LIBDIR/libchatwire_ffi.so" ]] || { echo "$0: no libchatwire_ffi.so in $LIBDIR" >&2; exit 1; }
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -1)"

install -d "$PREFIX/include" "$PREFIX/lib/pkgconfig" "$PREFIX/lib/cmake/chatwire"
install -m 644 "$HERE/include/chatwire.h" "$PREFIX/include/"
install -m 755 "$LIBDIR/libchatwire_ffi.so" "$PREFIX/lib/"
if [[ -f "$LIBDIR/libchatwire_ffi.a" ]]; then
    install -m 644 "$LIBDIR/libchatwire_ffi.a" "$PREFIX/lib/"
fi
sed -e "s|@PREFIX@|$PREFIX|" -e "s|@VERSION@|$VERSION|" "$HERE/chatwire.pc.in" \
    >"$PREFIX/lib/pkgconfig/chatwire.pc"
install -m 644 "$HERE/cmake/chatwireConfig.cmake" "$PREFIX/lib/cmake/chatwire/"
sed -e "s|@VERSION@|$VERSION|" "$HERE/cmake/chatwireConfigVersion.cmake.in" \
    >"$PREFIX/lib/cmake/chatwire/chatwireConfigVersion.cmake"
echo "installed chatwire $VERSION into $PREFIX"
