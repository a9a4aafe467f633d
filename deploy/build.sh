#!/usr/bin/env bash
# Configures and builds Aetherium into ./build (Ninja, ccache when present).
# AETHERIUM_WERROR=1 makes every warning an error (CI sets it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${AETHERIUM_BUILD_DIR:-$root/build}"
werror=OFF
[ "${AETHERIUM_WERROR:-0}" = 1 ] && werror=ON
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${AETHERIUM_BUILD_TYPE:-RelWithDebInfo}" \
  -DAETHERIUM_WERROR="$werror" >/dev/null
cmake --build "$build" -j "${AETHERIUM_BUILD_JOBS:-$(nproc)}"
