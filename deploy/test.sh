#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds, starts a
# private PostgreSQL and a Kafka broker (KRaft) on free ports, runs every unit and
# integration test with ctest, and tears everything down, also on failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/deploy/lib/common.sh"
source "$root/deploy/lib/postgres.sh"
[ -f "$root/deploy/lib/kafka.sh" ] && source "$root/deploy/lib/kafka.sh"

[ "$(id -u)" = 0 ] || die "the test suite runs sandboxes and must run as root"
bash "$root/deploy/setup.sh"
bash "$root/deploy/build.sh"
# The agent image with the pinned agent CLIs, for the tests labelled agents (cached: a few
# minutes the first time, at once afterwards). AETHERIUM_TEST_AGENT_IMAGE set by the
# caller names another image instead.
if [ -z "${AETHERIUM_TEST_AGENT_IMAGE:-}" ]; then
  log "agent image (deploy/images/build-agent-rootfs.sh)"
  AETHERIUM_TEST_AGENT_IMAGE=$(sh "$root/deploy/images/build-agent-rootfs.sh") ||
    die "the agent image could not be built (output above)"
fi
export AETHERIUM_TEST_AGENT_IMAGE
# The Debian cloud kernel prepared for microVM sandboxes, for the tests labelled microvm
# (cached after the first download). AETHERIUM_TEST_MICROVM_KERNEL set by the caller names
# another kernel folder instead.
if [ -z "${AETHERIUM_TEST_MICROVM_KERNEL:-}" ]; then
  log "microVM kernel (deploy/images/build-microvm-kernel.sh)"
  AETHERIUM_TEST_MICROVM_KERNEL=$(bash "$root/deploy/images/build-microvm-kernel.sh" | tail -n 1) ||
    die "the microVM kernel could not be prepared (output above)"
fi
export AETHERIUM_TEST_MICROVM_KERNEL

work=$(mktemp -d /tmp/aetherium-test.XXXXXX)
chmod 755 "$work"
cleanup() {
  set +e
  declare -F kafka_stop >/dev/null && kafka_stop
  postgres_stop immediate
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

postgres_start "$work/pg" || die "PostgreSQL could not start (log above)"
if declare -F kafka_start >/dev/null; then
  kafka_start "$work/kafka" || die "Kafka could not start (log above)"
  export AETHERIUM_TEST_KAFKA_BROKERS="$KAFKA_BROKERS" AETHERIUM_TEST_KAFKA_DIR="$work/kafka"
fi
export AETHERIUM_TEST_WORK_DIR="$work"

cd "${AETHERIUM_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 1500 "$@"

# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (CMakePresets.json
# "asan"), unless a subset was asked for or AETHERIUM_SKIP_SANITIZERS=1.
if [ $# -eq 0 ] && [ "${AETHERIUM_SKIP_SANITIZERS:-0}" != 1 ]; then
  log "unit tests under ASan + UBSan"
  (cd "$root" && cmake --preset asan >/dev/null && cmake --build --preset asan)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions="$root/tests/sanitizers/ubsan.supp" \
    ctest --test-dir "$root/build-asan" --output-on-failure --timeout 600 -L unit
fi

# With AETHERIUM_TSAN=1, the unit tests and the PostgreSQL event-store contract test under
# ThreadSanitizer as well (deploy/test-tsan.sh; about 20 minutes on 2 cores from cold).
if [ $# -eq 0 ] && [ "${AETHERIUM_TSAN:-0}" = 1 ]; then
  bash "$root/deploy/test-tsan.sh"
fi
