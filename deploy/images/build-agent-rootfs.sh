#!/bin/sh
# Builds the base agent image: Debian bookworm minbase plus git, ca-certificates, python3,
# nodejs, bash and coreutils, unpacked into a cached directory that sandboxes mount read-only.
#
# Usage: build-agent-rootfs.sh
# Env:   AETHERIUM_CACHE (default $HOME/.cache/aetherium), DEBIAN_MIRROR (default: the
#        host's first apt mirror, else http://deb.debian.org/debian), EXTRA_PACKAGES
#        (comma-separated, added to the list).
# Output: $AETHERIUM_CACHE/images/agent-bookworm-<hash>/, path printed on stdout.
# Needs: root, debootstrap (apt-get install -y debootstrap). Takes half a minute to
# a minute and a half, and about 340 MB.
set -eu

[ "$(id -u)" = 0 ] || { echo "error: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "error: apt-get install -y debootstrap" >&2; exit 1; }

packages="git,ca-certificates,python3,nodejs,bash,coreutils${EXTRA_PACKAGES:+,$EXTRA_PACKAGES}"
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

cache=${AETHERIUM_CACHE:-$HOME/.cache/aetherium}/images
hash=$( (cat "$0"; echo "$packages") | sha256sum | cut -c1-12)
out="$cache/agent-bookworm-$hash"
if [ -f "$out/.aetherium-image" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.agent-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/rootfs"

debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >&2

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
