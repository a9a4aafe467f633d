#!/bin/bash
# Fetches the Debian cloud kernel and prepares it for QEMU microvm sandboxes.
#
# Usage: build-microvm-kernel.sh
# Output: ${AETHERIUM_CACHE:-$HOME/.cache/aetherium}/microvm/kernel-<release>/, path printed
# as the last line of stdout (logs go to stderr). It holds:
#   vmlinux        uncompressed ELF kernel, booted by QEMU through PVH (-kernel vmlinux)
#   modules/*.ko   virtio, virtio_ring, virtio_mmio, virtio_console, virtio_blk (+ their deps)
#   modules/order  module file names, one a line, dependencies first (insmod in this order)
#   release        kernel release string, e.g. 6.1.0-57-cloud-amd64
# The kernel package is the one linux-image-cloud-amd64 depends on (override the package
# name with AETHERIUM_MICROVM_KERNEL_PACKAGE). An existing output directory is kept as is.
# Needs: apt-get, dpkg-deb; installs qemu-system-x86, zstd, lz4, e2fsprogs when missing.
set -euo pipefail

log() { echo "build-microvm-kernel: $*" >&2; }
die() { echo "build-microvm-kernel: error: $*" >&2; exit 1; }

modules_wanted=(virtio virtio_ring virtio_mmio virtio_console virtio_blk)

# --- tools -------------------------------------------------------------------------------
missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v lz4 >/dev/null 2>&1 || missing+=(lz4)
command -v mkfs.ext4 >/dev/null 2>&1 || missing+=(e2fsprogs)
command -v file >/dev/null 2>&1 || missing+=(file)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get install -y "${missing[@]}" >&2 ||
    { apt-get update >&2 && apt-get install -y "${missing[@]}" >&2; } ||
    die "could not install ${missing[*]}"
fi

# --- which package -------------------------------------------------------------------------
pkg=${AETHERIUM_MICROVM_KERNEL_PACKAGE:-}
if [ -z "$pkg" ]; then
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n '/^ *Depends: *linux-image-/{s/^ *Depends: *\([^ ]*\).*/\1/p;q}')
  [ -n "$pkg" ] || die "cannot resolve the dependency of linux-image-cloud-amd64 (apt-get update?)"
fi
log "kernel package: $pkg"

cache=${AETHERIUM_CACHE:-$HOME/.cache/aetherium}/microvm
mkdir -p "$cache"

# Fast path: the release is usually the package name minus "linux-image-" (and "-unsigned").
guess=${pkg#linux-image-}
guess=${guess%-unsigned}
if [ -f "$cache/kernel-$guess/release" ] && [ -f "$cache/kernel-$guess/vmlinux" ]; then
  log "already built"
  echo "$cache/kernel-$guess"
  exit 0
fi

tmp=$(mktemp -d "$cache/.kernel-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- download and unpack -------------------------------------------------------------------
# apt-get download runs as the _apt user when it can; give it a directory it may write to.
mkdir "$tmp/deb"
chmod 0777 "$tmp/deb"
chmod 0755 "$tmp"
(cd "$tmp/deb" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
deb=$(find "$tmp/deb" -maxdepth 1 -name '*.deb' -print -quit)
[ -n "$deb" ] || die "no .deb downloaded for $pkg"
dpkg-deb -x "$deb" "$tmp/pkg"

vmlinuz=$(find "$tmp/pkg/boot" -maxdepth 1 -name 'vmlinuz-*' -print -quit)
[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in $deb"
release=${vmlinuz##*/vmlinuz-}
moddir="$tmp/pkg/lib/modules/$release"
[ -d "$moddir" ] || die "no /lib/modules/$release in $deb"
log "kernel release: $release"

out="$cache/kernel-$release"
if [ -f "$out/release" ] && [ -f "$out/vmlinux" ]; then
  log "already built"
  echo "$out"
  exit 0
fi

stage="$tmp/kernel-$release"
mkdir -p "$stage/modules"

# --- vmlinux -------------------------------------------------------------------------------
# The bzImage header gives where the compressed payload lies (setup_sects at 0x1f1,
# payload_offset/payload_length at 0x248/0x24c, relative to the protected-mode code);
# the payload's last 4 bytes are the uncompressed size (little endian).
u8()  { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
setup_sects=$(u8 "$vmlinuz" $((0x1f1)))
[ "$setup_sects" -ne 0 ] || setup_sects=4
payload_offset=$(u32 "$vmlinuz" $((0x248)))
payload_length=$(u32 "$vmlinuz" $((0x24c)))
start=$(( (setup_sects + 1) * 512 + payload_offset ))
[ "$payload_length" -gt 4 ] || die "$vmlinuz has no payload in its header"
dd if="$vmlinuz" of="$tmp/payload" iflag=skip_bytes,count_bytes skip="$start" count="$payload_length" status=none
want_size=$(u32 "$tmp/payload" $((payload_length - 4)))
dd if="$tmp/payload" of="$tmp/payload.c" iflag=count_bytes count=$((payload_length - 4)) status=none

magic=$(od -An -tx1 -N6 "$tmp/payload.c" | tr -d ' \n')
case "$magic" in
  02214c18*)      method=lz4;   lz4 -dc "$tmp/payload.c" > "$stage/vmlinux" ;;
  28b52ffd*)      method=zstd;  zstd -dc --long=31 "$tmp/payload.c" > "$stage/vmlinux" ;;
  fd377a585a00*)  method=xz;    xz -dc "$tmp/payload.c" > "$stage/vmlinux" ;;
  1f8b*)          method=gzip;  gzip -dc "$tmp/payload.c" > "$stage/vmlinux" ;;
  *) die "unknown kernel compression (payload starts with $magic)" ;;
esac
got_size=$(stat -c %s "$stage/vmlinux")
[ "$got_size" -eq "$want_size" ] || die "vmlinux is $got_size bytes, header says $want_size"
[[ $(file -b "$stage/vmlinux") == "ELF 64-bit"* ]] || die "decompressed kernel is not an ELF file"
log "vmlinux: $method payload, $got_size bytes"

# --- modules -------------------------------------------------------------------------------
# The .deb ships no modules.dep: read "depends=" from each module's .modinfo strings.
declare -A modpath=() visiting=() done_=()
while IFS= read -r -d '' ko; do
  name=$(basename "$ko"); name=${name%%.ko*}
  modpath[$name]=$ko
  modpath[${name//-/_}]=$ko
done < <(find "$moddir/kernel" -name '*.ko*' -print0)

order=()
add_module() {
  local name=${1//-/_} ko deps dep
  [ -z "${done_[$name]:-}" ] || return 0
  [ -z "${visiting[$name]:-}" ] || die "module dependency cycle at $name"
  ko=${modpath[$name]:-}
  [ -n "$ko" ] || die "module $name not in $pkg (built into the kernel?)"
  visiting[$name]=1
  case "$ko" in
    *.ko) ;;
    *.ko.xz)  xz -dc "$ko" > "$stage/modules/$name.ko" ;;
    *.ko.zst) zstd -qdc "$ko" > "$stage/modules/$name.ko" ;;
    *.ko.gz)  gzip -dc "$ko" > "$stage/modules/$name.ko" ;;
    *) die "unknown module file $ko" ;;
  esac
  [[ "$ko" != *.ko ]] || cp "$ko" "$stage/modules/$name.ko"
  if command -v modinfo >/dev/null 2>&1; then
    deps=$(modinfo -F depends "$stage/modules/$name.ko")
  else
    deps=$(tr '\0' '\n' < "$stage/modules/$name.ko" | sed -n '/^depends=/{s///p;q}')
  fi
  for dep in ${deps//,/ }; do add_module "$dep"; done
  done_[$name]=1
  order+=("$name.ko")
}
for m in "${modules_wanted[@]}"; do add_module "$m"; done
printf '%s\n' "${order[@]}" > "$stage/modules/order"
log "modules: ${order[*]}"

echo "$release" > "$stage/release"

# --- publish atomically ----------------------------------------------------------------------
if ! mv -T "$stage" "$out" 2>/dev/null; then
  [ -f "$out/release" ] || die "cannot move the kernel into $out"
  log "built concurrently by someone else; keeping theirs"
fi
echo "$out"
