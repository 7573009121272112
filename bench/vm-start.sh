#!/usr/bin/env bash
# Times `docker run --rm busybox true` on each isolation Berth offers, in one run: the default
# runtime (crun or runc), gVisor (`--runtime runsc`) and micro-VMs (`--runtime berth-vm`), and
# how long the VM's kernel had been up when the container's process ran (its /proc/uptime),
# which is the guest's share of the time to a running process. Says whether the VMs ran with
# KVM or under TCG emulation (no usable /dev/kvm: these test machines).
#
#   bash bench/vm-start.sh [runs]
#
# A private berthd on a temporary root, no networking. Needs root, hyperfine and `npm run setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-5}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
pids=()
cleanup() {
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT

start_berthd
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
D="docker -H unix://$BERTH_SOCK"
runtimes=$($D info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')

if [ -r /dev/kvm ] && timeout 5 qemu-system-x86_64 -M microvm,accel=kvm -nodefaults -display none -S -qmp stdio </dev/null >/dev/null 2>&1; then
  accel=kvm
else
  accel="tcg (no usable /dev/kvm)"
fi

cmds=()
for rt in $runtimes; do
  cmds+=(-n "$rt" "$D run --rm --network none --runtime $rt busybox true")
done
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$WORK/result.json" "${cmds[@]}" >&2
bin/node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
for (const x of r) console.log(`${x.command}: median ${(x.median * 1000).toFixed(0)} ms (min ${(x.min * 1000).toFixed(0)}, max ${(x.max * 1000).toFixed(0)})`);
' "$WORK/result.json"
if [[ " $runtimes " == *" berth-vm "* ]]; then
  up=$($D run --rm --network none --runtime berth-vm busybox cut -d' ' -f1 /proc/uptime)
  echo "berth-vm: accel $accel; the guest kernel had been up ${up} s when the process ran"
fi
