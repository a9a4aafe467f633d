#!/usr/bin/env bash
# The unit tests under ThreadSanitizer (CMakePresets.json "tsan", into build-tsan/), against a
# libcaf_core 0.17.6 built with -fsanitize=thread (deploy/caf-tsan): with Debian's
# uninstrumented library every message passed between actors reports as a race.
# With AETHERIUM_PG_ADMIN_URL set (deploy/lib/postgres.sh) the PostgreSQL event-store
# contract test runs too. Any report fails its test. See docs/sanitizers.md.
#   AETHERIUM_CAF_SOURCE_DIR  a checkout of actor-framework at tag 0.17.6 (else it is cloned)
#   AETHERIUM_BUILD_JOBS      parallel compile jobs (default: nproc)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/deploy/lib/common.sh"
build="$root/build-tsan"
jobs="${AETHERIUM_BUILD_JOBS:-$(nproc)}"

log "unit tests under ThreadSanitizer: building"
(cd "$root" && cmake --preset tsan >/dev/null && cmake --build --preset tsan -j "$jobs")

caf_src="${AETHERIUM_CAF_SOURCE_DIR:-$build/actor-framework-0.17.6}"
if [ ! -f "$caf_src/libcaf_core/CMakeLists.txt" ]; then
  git clone --quiet --depth 1 --branch 0.17.6 https://github.com/actor-framework/actor-framework "$caf_src"
fi
cmake -G Ninja -S "$root/deploy/caf-tsan" -B "$build/caf" -DCAF_SOURCE_DIR="$caf_src" >/dev/null
cmake --build "$build/caf" -j "$jobs"

export LD_LIBRARY_PATH="$build/caf${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4 suppressions=$root/tests/sanitizers/tsan.supp"
log "unit tests under ThreadSanitizer: running"
ctest --test-dir "$build" --output-on-failure --timeout 600 -L unit
if [ -n "${AETHERIUM_PG_ADMIN_URL:-}" ]; then
  cmake --build "$build" --target contract_event_store_postgres -j "$jobs"
  ctest --test-dir "$build" --output-on-failure --timeout 600 -R '^contract_event_store_postgres$'
fi
