#!/bin/sh
# Builds a tiny root filesystem from the static busybox binary, for fast sandbox tests.
#
# Usage: build-busybox-rootfs.sh
# Output: ${AETHERIUM_CACHE:-$HOME/.cache/aetherium}/images/busybox-<hash>/, path printed
# on stdout. Rebuilt only when the busybox binary or this script changes. Sandboxes mount
# it read-only; file modes stay as a normal system has them (runc copies a mount point's
# mode onto the tmpfs it mounts there, so /tmp must stay 1777).
# Needs: busybox-static (apt-get install -y busybox-static).
set -eu

busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "error: $busybox missing (apt-get install -y busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
  echo "error: $busybox is dynamically linked; install busybox-static" >&2; exit 1
fi

cache=${AETHERIUM_CACHE:-$HOME/.cache/aetherium}/images
hash=$(cat "$busybox" "$0" | sha256sum | cut -c1-12)
out="$cache/busybox-$hash"
if [ -f "$out/.aetherium-image" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.busybox-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

root="$tmp/rootfs"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
         "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run" "$root/workspace" \
         "$root/root" "$root/home/agent"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
agent:x:1000:1000:agent:/home/agent:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
agent:x:1000:
nogroup:x:65534:
GROUP
echo "127.0.0.1 localhost" > "$root/etc/hosts"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/home/agent"
touch "$root/.aetherium-image"

mv "$root" "$out"
echo "$out"
