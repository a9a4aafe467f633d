# Shared helpers for the deploy scripts. Source it; do not run it.

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Where downloaded artefacts (Kafka jars, root filesystems) are cached between runs.
aetherium_cache() {
  local dir="${AETHERIUM_CACHE:-$HOME/.cache/aetherium}"
  mkdir -p "$dir"
  echo "$dir"
}

log() { printf '[aetherium] %s\n' "$*" >&2; }
die() { printf '[aetherium] error: %s\n' "$*" >&2; exit 1; }
