#!/usr/bin/env bash
# The read-model bench (not run by CI): a real `aetherium server` over a log of 100 k and
# of 1 M events holding the same tasks, on a private PostgreSQL. For each log it prints
#   - the floor: the raw read of the log, COPY (SELECT ... FROM events) TO STDOUT;
#   - the floor of a start: the server over an empty log;
#   - the server's start to /readyz and its RSS once ready, without a checkpoint (the board
#     rebuilds from position 0) and with the checkpoint the first run saved at its stop.
#
#   bash bench/read_model/run.sh                       # 100 000 and 1 000 000 events, 1 000 tasks
#   AETHERIUM_BENCH_SIZES="200000" AETHERIUM_BENCH_TASKS=500 bash bench/read_model/run.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/deploy/lib/common.sh"
source "$root/deploy/lib/postgres.sh"
[ "$(id -u)" = 0 ] || die "the server probes sandbox runtimes and must run as root"
build="${AETHERIUM_BUILD_DIR:-$root/build}"
bin="$build/bin/aetherium"
make_log="$build/bench/read_model/read_model_make_log"
[ -x "$bin" ] && [ -x "$make_log" ] || die "build aetherium and read_model_make_log first"
sizes="${AETHERIUM_BENCH_SIZES:-100000 1000000}"
tasks="${AETHERIUM_BENCH_TASKS:-1000}"
work=$(mktemp -d /tmp/aetherium-rm-bench.XXXXXX)
chmod 755 "$work"
server_pid=
cleanup() {
  set +e
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid"
  postgres_stop immediate
  rm -rf "$work"
}
trap cleanup EXIT
postgres_start "$work/pg"
image=$(sh "$root/deploy/images/build-busybox-rootfs.sh" | tail -n 1)
mkdir -p "$work/repos"

now() { date +%s.%N; }
seconds() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# Starts the server on database $1, waits for /readyz, prints "<seconds to ready> <RSS MiB>",
# and stops it cleanly (which saves a checkpoint).
start_and_measure() {
  local url="$1" port t0 t1 rss
  port=$(free_port)
  t0=$(now)
  AETHERIUM_DATABASE_URL="$url" AETHERIUM_DATA_DIR="$work/data" AETHERIUM_IMAGE="$image" \
    AETHERIUM_REPO_ROOTS="$work/repos" AETHERIUM_LISTEN="127.0.0.1:$port" \
    "$bin" server >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 6000); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { tail -n 30 "$work/server.log" >&2; die "the server exited"; }
    sleep 0.02
  done
  t1=$(now)
  rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server_pid/status")
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=
  echo "$(seconds "$t0" "$t1") $rss"
}

# The start floor: the same server over an empty log (runtime probes, connections, HTTP).
psql "$AETHERIUM_PG_ADMIN_URL" -qc "CREATE DATABASE bench_empty" >/dev/null
read -r empty empty_rss < <(start_and_measure "host=127.0.0.1 port=$PG_PORT user=postgres dbname=bench_empty")
echo "floor: start over an empty log ${empty} s, RSS ${empty_rss} MiB"
printf '%-10s %-8s %-22s %-26s %-26s\n' events tasks "floor: COPY TO STDOUT" "start, no checkpoint" "start, from checkpoint"
for n in $sizes; do
  db="bench_$n"
  psql "$AETHERIUM_PG_ADMIN_URL" -qc "CREATE DATABASE $db" >/dev/null
  url="host=127.0.0.1 port=$PG_PORT user=postgres dbname=$db"
  "$bin" migrate up --database-url "$url" >/dev/null
  "$make_log" "$n" "$tasks" | psql "$url" -qc "COPY events FROM STDIN" >/dev/null
  psql "$url" -qc "VACUUM ANALYZE events" >/dev/null
  t0=$(now)
  psql "$url" -qc "COPY (SELECT position, event_id, stream_id, stream_version, type, schema_version, payload, metadata, recorded_at, prev_hash, hash FROM events ORDER BY position) TO STDOUT" >/dev/null
  floor=$(seconds "$t0" "$(now)")
  read -r cold cold_rss < <(start_and_measure "$url")   # rebuilds from 0, saves a checkpoint at stop
  # The first stop saved the checkpoint at the head: this start folds nothing after it.
  read -r warm warm_rss < <(start_and_measure "$url")
  saved=$(psql "$url" -qAtc "SELECT position FROM projection_snapshots WHERE name = 'task_board'")
  printf '%-10s %-8s %-22s %-26s %-26s\n' "$n" "$tasks" "${floor} s" "${cold} s, RSS ${cold_rss} MiB" \
    "${warm} s, RSS ${warm_rss} MiB (at ${saved})"
done
