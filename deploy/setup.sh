#!/usr/bin/env bash
# Installs everything Aetherium needs to build, test and run on Debian 12. Idempotent:
# packages already present are not fetched again.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/common.sh"

packages=(
  build-essential cmake ninja-build ccache pkg-config git python3 python3-venv
  libcaf-dev libpqxx-dev librdkafka-dev nlohmann-json3-dev libssl-dev libcurl4-openssl-dev
  libasio-dev librestinio-dev libfmt-dev libhttp-parser-dev libjwt-dev libspdlog-dev libgtest-dev googletest
  postgresql postgresql-contrib
  default-jre-headless maven kcat
  crun runc runsc busybox-static debootstrap uidmap iproute2 nftables e2fsprogs
  qemu-system-x86 lz4 zstd file
  wrk curl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# A packaged PostgreSQL cluster may start itself: ours are private, so keep it out of the way.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_lsclusters -h | awk '$4 == "online" {print $1, $2}' | while read -r v c; do
    pg_ctlcluster "$v" "$c" stop || true
  done
fi

if [ -f "$here/lib/kafka.sh" ]; then
  source "$here/lib/kafka.sh"
  kafka_install
fi
log "setup complete"
