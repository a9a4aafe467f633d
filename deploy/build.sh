#!/usr/bin/env bash
# Configures and builds Aetherium into ./build (Ninja, ccache when present).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${AETHERIUM_BUILD_DIR:-$root/build}"
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${AETHERIUM_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build" -j "${AETHERIUM_BUILD_JOBS:-$(nproc)}"
