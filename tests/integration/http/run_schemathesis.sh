#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis against docs/openapi.yaml: every check, positive
# and negative data. Fails on any 5xx, any answer the document does not allow, or a
# server that died.
#
# usage: run_schemathesis.sh test-server TEST_SERVER_BINARY OPENAPI_YAML WORK_DIR [extra args]
#        run_schemathesis.sh aetherium AETHERIUM_BINARY OPENAPI_YAML WORK_DIR [extra args]
#
# test-server: the HTTP adapter over the real control plane on in-memory ports.
# aetherium:   the real `aetherium server` over a fresh database of the PostgreSQL server
#              named by AETHERIUM_PG_ADMIN_URL, with an admin key made by
#              `aetherium admin create-key`. Tasks it accepts fail at checkout (their
#              repositories do not exist), so every log it follows ends.
set -euo pipefail

mode=$1
server_bin=$2
schema=$3
work=$4
shift 4
version=4.32.5
venv=$work/venv
mkdir -p "$work"

if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version | grep -q "$version"; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv"; then
    echo "FAIL: python3 -m venv does not work (apt-get install -y python3-venv)" >&2
    exit 1
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

log=$work/server.log
: >"$log"
cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c"; done' EXIT
case $mode in
  test-server)
    key=ak_schemathesis_admin_$RANDOM$RANDOM
    AETHERIUM_TEST_ADMIN_KEY=$key "$server_bin" >"$log" 2>&1 &
    pid=$!
    port_pattern='s/^listening on port \([0-9][0-9]*\)$/\1/p'
    ;;
  aetherium)
    if [ -z "${AETHERIUM_PG_ADMIN_URL:-}" ]; then
      echo "FAIL: AETHERIUM_PG_ADMIN_URL is not set (run through deploy/test.sh)" >&2
      exit 1
    fi
    db=schemathesis_$$_$RANDOM
    psql "$AETHERIUM_PG_ADMIN_URL" -qc "CREATE DATABASE $db" >/dev/null
    cleanup+=("psql \"\$AETHERIUM_PG_ADMIN_URL\" -qc 'DROP DATABASE IF EXISTS $db WITH (FORCE)' >/dev/null")
    export AETHERIUM_DATABASE_URL="$AETHERIUM_PG_ADMIN_URL dbname=$db"
    # A real image: the server starts a sandbox of each runtime to learn which ones it offers.
    image=$(sh "$(dirname "$0")/../../../deploy/images/build-busybox-rootfs.sh" | tail -n 1)
    export AETHERIUM_DATA_DIR=$work/data AETHERIUM_IMAGE=$image AETHERIUM_LISTEN=127.0.0.1:0
    export AETHERIUM_GITHUB_WEBHOOK_SECRET=schemathesis-webhook-secret
    # Rate limits have tests of their own; here they would keep the fuzzer out of the handlers.
    export AETHERIUM_RATE_LIMIT=1000 AETHERIUM_RATE_BURST=1000
    rm -rf "$work/data"
    "$server_bin" migrate up >/dev/null
    key=$("$server_bin" admin create-key --tenant acme --role admin --name schemathesis --json |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
    "$server_bin" server >"$log" 2>&1 &
    pid=$!
    port_pattern='s/^aetherium server listening on .*:\([0-9][0-9]*\)$/\1/p'
    ;;
  *)
    echo "usage: $0 test-server|aetherium BINARY OPENAPI_YAML WORK_DIR [args]" >&2
    exit 2
    ;;
esac
cleanup=("kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true" "${cleanup[@]}")

port=
deadline=$((SECONDS + 60))
while [ -z "$port" ] && [ $SECONDS -lt $deadline ]; do
  port=$(sed -n "$port_pattern" "$log")
  kill -0 "$pid" 2>/dev/null || break
  [ -n "$port" ] || sleep 0.1
done
if [ -z "$port" ]; then
  echo "FAIL: the server did not start" >&2
  cat "$log" >&2
  exit 1
fi

status=0
"$venv/bin/schemathesis" --config-file "$(dirname "$0")/schemathesis.toml" run "$schema" \
  --url "http://127.0.0.1:$port" \
  -H "Authorization: Bearer $key" \
  --checks all \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
  --seed "${SCHEMATHESIS_SEED:-20240601}" \
  --request-timeout 10 \
  --no-color \
  --report junit,vcr --report-dir "$work/report" \
  "$@" || status=$?

if ! kill -0 "$pid" 2>/dev/null; then
  echo "FAIL: the server died during the run" >&2
  cat "$log" >&2
  exit 1
fi
exit $status
