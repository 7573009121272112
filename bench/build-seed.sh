#!/usr/bin/env bash
# Times the issue's seed Dockerfile (debian:bookworm, apt-get update, apt-get install nginx)
# with the legacy builder against berthd and dockerd in one run: fresh (--no-cache) and fully
# cached. Both daemons build on a bridge with outbound NAT to the Debian mirror, each on its own:
# Berth on a private bridge it makes itself, dockerd on a private bridge this script makes, with
# NAT in a private nftables table (dockerd runs with --iptables=false and touches no rules).
# Everything is removed at exit.
#
#   bash bench/build-seed.sh [fresh-runs]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-2}
WORK=$(mktemp -d /tmp/berth-bench-seed-XXXXXX)
TAG=$$
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
DBR=dseed$TAG
NFT=berthbench_seed$TAG
pids=()
cleanup() {
  stop_daemons
  ip link del "$DBR" 2>/dev/null || true
  ip link del "bseed$TAG" 2>/dev/null || true
  nft delete table ip "$NFT" 2>/dev/null || true
  nft delete table ip "berth_bseed$TAG" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export DOCKER_BUILDKIT=0


# A /24 in 10.240-10.250 that no route uses, for dockerd's bridge.
SUBNET=
for n in $(seq 240 250); do
  if ! ip route | grep -q "^10\.$n\."; then SUBNET=10.$n.0; break; fi
done
[ -n "$SUBNET" ] || { echo "no free subnet for dockerd's bridge" >&2; exit 1; }

mkdir -p "$WORK/ctx"
printf 'FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y nginx\nCMD ["nginx", "-g", "daemon off;"]\n' >"$WORK/ctx/Dockerfile"

./bin/berthd --data-root "$WORK/berth" --exec-root "$WORK/berth-run" -H "unix://$BERTH_SOCK" --pidfile "$WORK/berthd.pid" \
  --bridge "bseed$TAG" --log-level warn ${BERTHD_ARGS:-} 2>"$WORK/berthd.log" &
pids+=($!)
wait_sock "$BERTH_SOCK"
echo "bootstrapping debian:bookworm (debootstrap, about a minute)" >&2
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap debian:bookworm >/dev/null
docker -H "unix://$BERTH_SOCK" save debian:bookworm -o "$WORK/debian.tar"

ip link add "$DBR" type bridge
ip addr add "$SUBNET.1/24" dev "$DBR"
ip link set "$DBR" up
nft -f - <<NFT
table ip $NFT {
  chain postrouting { type nat hook postrouting priority srcnat; ip saddr $SUBNET.0/24 oifname != "$DBR" masquerade; }
}
NFT
dockerd --data-root "$WORK/dockerd" --exec-root "$WORK/dockerd-run" -H "unix://$DOCKERD_SOCK" --pidfile "$WORK/dockerd.pid" \
  -b "$DBR" --iptables=false --ip-masq=false --log-level warn >"$WORK/dockerd.log" 2>&1 &
pids+=($!)
wait_sock "$DOCKERD_SOCK"
docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/debian.tar" >/dev/null

timeit() { local s=$(date +%s%N); "$@" >/dev/null; echo $(( ($(date +%s%N) - s) / 1000000 )); }
for name in berth dockerd; do
  sock=$BERTH_SOCK; [ $name = dockerd ] && sock=$DOCKERD_SOCK
  fresh=()
  for ((i = 0; i < RUNS; i++)); do fresh+=("$(timeit docker -H "unix://$sock" build -q --no-cache -t seed "$WORK/ctx" 2>/dev/null)"); done
  cached=()
  for ((i = 0; i < 5; i++)); do cached+=("$(timeit docker -H "unix://$sock" build -q -t seed "$WORK/ctx" 2>/dev/null)"); done
  echo "$name: fresh ${fresh[*]} ms; cached ${cached[*]} ms"
done
