#!/usr/bin/env bash
# The quick start's main job: installs what is missing, builds, starts a local PostgreSQL
# under ./.aetherium (kept between runs), builds the sandbox image, then runs
# `aetherium demo`: a server with embedded defaults and one real task in a crun sandbox.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/deploy/lib/common.sh"
source "$root/deploy/lib/postgres.sh"

[ "$(id -u)" = 0 ] || die "Aetherium runs sandboxes and must run as root"
bash "$root/deploy/setup.sh"
bash "$root/deploy/build.sh"

data="${AETHERIUM_DATA_DIR:-$root/.aetherium}"
mkdir -p "$data"
chmod 755 "$data"
export AETHERIUM_DATA_DIR="$data"
if [ -z "${AETHERIUM_DATABASE_URL:-}" ]; then
  port_file="$data/pg.port"
  port=$(cat "$port_file" 2>/dev/null || free_port)
  echo "$port" >"$port_file"
  postgres_start "$data/pg" "$port"
  trap 'postgres_stop' EXIT
  postgres_create_db aetherium
  export AETHERIUM_DATABASE_URL="host=127.0.0.1 port=$port user=postgres dbname=aetherium"
fi
if [ -z "${AETHERIUM_IMAGE:-}" ]; then
  AETHERIUM_IMAGE=$(sh "$root/deploy/images/build-busybox-rootfs.sh")
  export AETHERIUM_IMAGE
fi

bin="${AETHERIUM_BUILD_DIR:-$root/build}/bin/aetherium"
"$bin" demo
"$bin" replay --verify
