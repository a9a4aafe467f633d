#!/usr/bin/env bash
# The consumer-latency bench (not run by CI): starts a private PostgreSQL and a private Kafka
# broker on free ports, runs bench_consumer (event committed -> handler called, p50/p99/max,
# for the embedded log consumer and for the Kafka relay and consumer group, beside a raw
# LISTEN/NOTIFY floor), and stops both, also when the bench fails or is interrupted.
#
#   bash bench/consumer/run.sh                 # 500 events, 10 ms apart
#   bash bench/consumer/run.sh 2000 5          # events, pause in ms
#   AETHERIUM_BENCH_KAFKA=0 bash bench/consumer/run.sh   # PostgreSQL legs only
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/deploy/lib/common.sh"
source "$root/deploy/lib/postgres.sh"
source "$root/deploy/lib/kafka.sh"
[ "$(id -u)" = 0 ] || die "postgres_start runs initdb as the postgres user and must run as root"
build="${AETHERIUM_BUILD_DIR:-$root/build}"
bin="$build/bench/consumer/bench_consumer"
[ -f "$build/CMakeCache.txt" ] || die "configure and build first: bash deploy/build.sh"
cmake --build "$build" --target bench_consumer >/dev/null || die "bench_consumer does not build"
events="${1:-500}"
pause_ms="${2:-10}"

work=$(mktemp -d /tmp/aetherium-consumer-bench.XXXXXX)
chmod 755 "$work"
bench_pid=
cleanup() {
  set +e
  [ -n "$bench_pid" ] && kill -TERM "$bench_pid" 2>/dev/null && wait "$bench_pid"
  kafka_stop "$work/kafka"
  postgres_stop immediate
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

postgres_start "$work/pg"
brokers=-
if [ "${AETHERIUM_BENCH_KAFKA:-1}" != 0 ]; then
  kafka_start "$work/kafka"
  brokers="$KAFKA_BROKERS"
fi
# In the background, so a signal to this script is handled at once (bash runs traps only
# between commands) and the cleanup stops the bench before the services.
"$bin" "$AETHERIUM_PG_ADMIN_URL" "$brokers" "$events" "$pause_ms" &
bench_pid=$!
wait "$bench_pid"
bench_pid=
