#!/usr/bin/env bash
# The soak bench (not run by CI): a real `aetherium server` on a private PostgreSQL, fed a
# steady mix of tasks for AETHERIUM_SOAK_SECONDS (default 3600), sampling the server's
# memory, open file descriptors and read-model lag. It fails (exit 1) when a sample of
# the last quarter is more than 10 % above the first quarter's (memory, descriptors).
#
#   bash bench/soak/soak.sh                      # one hour
#   AETHERIUM_SOAK_SECONDS=300 bash bench/soak/soak.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/deploy/lib/common.sh"
source "$root/deploy/lib/postgres.sh"
[ "$(id -u)" = 0 ] || die "the soak bench runs sandboxes and must run as root"
bash "$root/deploy/setup.sh" >/dev/null
bash "$root/deploy/build.sh" >/dev/null
build="${AETHERIUM_BUILD_DIR:-$root/build}"
work=$(mktemp -d /tmp/aetherium-soak.XXXXXX)
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
mkdir -p "$work/repos/acme" "$work/init"
(cd "$work/init" && git init -q -b main && printf 'Hello, world\n' > greeting.txt \
  && printf '#!/bin/sh\ngrep -q Aetherium greeting.txt\n' > check.sh && git add -A \
  && git -c user.name=s -c user.email=s@e commit -qm init && git clone -q --bare . "$work/repos/acme/sample.git")
port=$(free_port)
export AETHERIUM_DATABASE_URL="$AETHERIUM_PG_ADMIN_URL" AETHERIUM_DATA_DIR="$work/data" AETHERIUM_IMAGE="$image" \
  AETHERIUM_REPO_ROOTS="$work/repos" AETHERIUM_LISTEN="127.0.0.1:$port" AETHERIUM_MAX_TASKS="${AETHERIUM_SOAK_SLOTS:-4}"
"$build/bin/aetherium" server >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 || { tail -n 30 "$work/server.log" >&2; die "the server did not start"; }
key=$("$build/bin/aetherium" admin create-key --tenant acme --role admin --name soak --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
python3 "$root/bench/soak/soak.py" --url "http://127.0.0.1:$port" --key "$key" --pid "$server_pid" \
  --repo "$work/repos/acme/sample.git" --seconds "${AETHERIUM_SOAK_SECONDS:-3600}"
