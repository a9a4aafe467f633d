# Starts and stops a private PostgreSQL server (Debian's) for tests and the quick start.
# Source it after common.sh.

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || { log "PostgreSQL server binaries not found under /usr/lib/postgresql"; return 1; }
  echo "$dir"
}

# postgres_start DIR [PORT]: initdb into DIR/data (as the postgres user: initdb refuses root),
# start on 127.0.0.1:PORT (a free one by default) and wait until it accepts connections.
# Exports PG_DIR, PG_PORT and AETHERIUM_PG_ADMIN_URL (superuser conninfo).
postgres_start() {
  local dir="$1" port="${2:-$(free_port)}" bin
  bin=$(pg_bindir) || return 1
  mkdir -p "$dir"
  chown postgres: "$dir"
  chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { log "initdb failed:"; tail -n 20 "$dir/initdb.log" >&2; return 1; }
  fi
  # A server left running on this private directory (a run that was killed) is stopped
  # first, so this run owns the one it starts.
  if runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    log "stopping a PostgreSQL left running in $dir/data"
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if ! runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" \
      start >"$dir/pg_ctl.log" 2>&1; then
    log "PostgreSQL did not start:"
    tail -n 30 "$dir/server.log" "$dir/pg_ctl.log" >&2
    return 1
  fi
  export PG_DIR="$dir" PG_PORT="$port"
  export AETHERIUM_PG_ADMIN_URL="host=127.0.0.1 port=$port user=postgres dbname=postgres"
  log "PostgreSQL ready on 127.0.0.1:$port (data in $dir/data)"
}

# postgres_stop [MODE]: stops the server started by postgres_start (fast by default).
postgres_stop() {
  local mode="${1:-fast}" bin
  [ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
  bin=$(pg_bindir) || return 0
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -m "$mode" -w stop >/dev/null 2>&1 || true
}

# postgres_create_db NAME: creates a database (no error if it exists).
postgres_create_db() {
  local name="$1"
  psql "$AETHERIUM_PG_ADMIN_URL" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 \
    || psql "$AETHERIUM_PG_ADMIN_URL" -qc "CREATE DATABASE \"$name\"" >/dev/null
}
