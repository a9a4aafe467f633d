#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis against docs/openapi.yaml: every check, positive
# and negative data. Fails on any 5xx, any answer the document does not allow, or a
# server that died.
#
# usage: run_schemathesis.sh TEST_SERVER_BINARY OPENAPI_YAML WORK_DIR [extra schemathesis args]
set -euo pipefail

server_bin=$1
schema=$2
work=$3
shift 3
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

key=ak_schemathesis_admin_$RANDOM$RANDOM
log=$work/server.log
AETHERIUM_TEST_ADMIN_KEY=$key "$server_bin" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

port=
deadline=$((SECONDS + 30))
while [ -z "$port" ] && [ $SECONDS -lt $deadline ]; do
  port=$(sed -n 's/^listening on port \([0-9][0-9]*\)$/\1/p' "$log")
  kill -0 "$pid" 2>/dev/null || break
  [ -n "$port" ] || sleep 0.1
done
if [ -z "$port" ]; then
  echo "FAIL: the test server did not start" >&2
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
