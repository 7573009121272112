#!/usr/bin/env bash
# berth-vm's guest, made by `npm run setup` (scripts/setup.sh calls this): Debian's cloud kernel
# for the micro-VMs, fetched with apt-get download and unpacked with dpkg-deb — never installed
# on the host — and an initramfs of berth-vm-agent (src/vm/berth-vm-agent.c, linked statically)
# with the virtio modules it loads, packed with busybox-static's cpio. Everything lands in
# build/vm/; each part is redone only when its input changed. Idempotent and quiet.
set -euo pipefail
cd "$(dirname "$0")/.."

VM=build/vm
mkdir -p "$VM"

# The host side (the shim, one per VM) and the guest agent, which must not need a libc in the guest.
if [ ! -x build/berth-vm-shim ] || [ src/vm/berth-vm-shim.c -nt build/berth-vm-shim ] || [ src/vm/vm-wire.h -nt build/berth-vm-shim ]; then
  cc -O2 -Wall -o build/berth-vm-shim.tmp src/vm/berth-vm-shim.c
  mv build/berth-vm-shim.tmp build/berth-vm-shim
fi
if [ ! -x "$VM/berth-vm-agent" ] || [ src/vm/berth-vm-agent.c -nt "$VM/berth-vm-agent" ] || [ src/vm/vm-wire.h -nt "$VM/berth-vm-agent" ]; then
  cc -O2 -Wall -static -s -o "$VM/berth-vm-agent.tmp" src/vm/berth-vm-agent.c
  mv "$VM/berth-vm-agent.tmp" "$VM/berth-vm-agent"
fi

# The modules the agent loads, in dependency order: virtio over MMIO (a microvm has no PCI),
# the serial port it talks over, virtio-fs for the root, virtio-net for the container's network.
MODULES=(drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio drivers/char/virtio_console
  fs/fuse/fuse fs/fuse/virtiofs net/core/failover drivers/net/net_failover drivers/net/virtio_net)

if [ ! -s "$VM/vmlinuz" ] || [ ! -s "$VM/kernel.release" ] || [ ! -d "$VM/modules" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # The versioned package the meta-package points at (apt-get download takes no dependencies).
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    apt-get update -qq
    pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  echo "setup: fetching the micro-VM guest kernel ($pkg, unpacked into $VM, not installed)"
  # apt drops privileges to _apt for downloads; let it write there.
  chown _apt "$tmp" 2>/dev/null || chmod 777 "$tmp"
  (cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null)
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  release=$(ls "$tmp/x/lib/modules")
  rm -rf "$VM/modules.new"
  mkdir -p "$VM/modules.new"
  for m in "${MODULES[@]}"; do
    src=$(ls "$tmp/x/lib/modules/$release/kernel/$m".ko* 2>/dev/null | head -1)
    [ -n "$src" ] || { echo "setup: the guest kernel has no $m module" >&2; exit 1; }
    case "$src" in
      *.xz) xz -dc "$src" > "$VM/modules.new/$(basename "$m").ko" ;;
      *.zst) zstd -qdc "$src" > "$VM/modules.new/$(basename "$m").ko" ;;
      *) cp "$src" "$VM/modules.new/$(basename "$m").ko" ;;
    esac
  done
  cp "$tmp/x/boot/vmlinuz-$release" "$VM/vmlinuz.new"
  rm -rf "$VM/modules"
  mv "$VM/modules.new" "$VM/modules"
  mv "$VM/vmlinuz.new" "$VM/vmlinuz"
  echo "$release" > "$VM/kernel.release"
  rm -f "$VM/initramfs.img"
fi

# The initramfs: /init is the agent, /modules lists what it loads. Left uncompressed: under
# emulation, decompressing it would cost more boot time than reading it.
if [ ! -s "$VM/initramfs.img" ] || [ "$VM/berth-vm-agent" -nt "$VM/initramfs.img" ]; then
  root=$(mktemp -d)
  mkdir -p "$root/lib/modules"
  cp "$VM/berth-vm-agent" "$root/init"
  : > "$root/modules"
  for m in "${MODULES[@]}"; do
    cp "$VM/modules/$(basename "$m").ko" "$root/lib/modules/"
    echo "/lib/modules/$(basename "$m").ko" >> "$root/modules"
  done
  (cd "$root" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) > "$VM/initramfs.img.new"
  mv "$VM/initramfs.img.new" "$VM/initramfs.img"
  rm -rf "$root"
fi
