#!/usr/bin/env bash
# Runs every benchmark: builds, starts a private PostgreSQL on a free port, runs each
# bench/<name> executable that exists, and stops the server. Figures go to stdout, each
# beside a floor measured in the same run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/deploy/lib/common.sh"
source "$root/deploy/lib/postgres.sh"
bash "$root/deploy/setup.sh" >/dev/null
bash "$root/deploy/build.sh" >/dev/null
build="${AETHERIUM_BUILD_DIR:-$root/build}"
work=$(mktemp -d /tmp/aetherium-bench.XXXXXX)
chmod 755 "$work"
trap 'postgres_stop immediate; rm -rf "$work"' EXIT
postgres_start "$work/pg"

run() {
  local name="$1"; shift
  local bin="$build/bench/$name/bench_$name"
  [ -x "$bin" ] || bin="$build/bench/$name/${name}_bench"
  [ -x "$bin" ] || { echo "== bench/$name: not built yet"; return 0; }
  echo "== bench/$name"
  "$bin" "$@"
  echo
}
run event_store "$AETHERIUM_PG_ADMIN_URL" "${AETHERIUM_BENCH_EVENTS:-20000}"
run scheduler
run actors "$AETHERIUM_PG_ADMIN_URL"
run sandbox
run http "$AETHERIUM_PG_ADMIN_URL"
run task "$AETHERIUM_PG_ADMIN_URL"
# Without a broker: the NOTIFY floor and the embedded log consumer (bench/consumer/run.sh
# adds the Kafka legs).
run consumer "$AETHERIUM_PG_ADMIN_URL" -
# Placements over CAF's network layer, tasks on 1 and 3 node processes, exec on a node.
run cluster
