#!/usr/bin/env bash
# Kubernetes' view: a pod sandbox with one container through the CRI, Berth against Debian's
# containerd 1.6 CRI plugin on the same machine in one run.
#
#   bash bench/cri.sh [runs] [pods]        (default 20 cycles, 10 pods held for memory)
#
# 1. Time: bench/cri-driver.ts (gRPC, as kubelet calls) alternates between the two runtimes:
#    RunPodSandbox, CreateContainer (busybox sleep), StartContainer, StopContainer (no grace),
#    RemoveContainer, StopPodSandbox, RemovePodSandbox; medians of each call and of the cycle.
#    Twice: sandboxes on a CNI network (Debian's bridge + host-local, a bridge and subnet of
#    each runtime's own), and in the host's network (no CNI).
# 2. Memory per running pod: each runtime holds <pods> sandboxes with one running container on
#    its CNI network; what the runtime's own processes grew by, divided by the pods: the daemon
#    (berthd / containerd) and its per-pod processes (berth-monitor, one per container and one
#    per infra / containerd-shim-runc-v2, one per pod), each as anonymous memory + page tables
#    (/proc/<pid>/status RssAnon + VmPTE, what is the process's own). The pause and sleep
#    processes are the same image on both and not counted.
#
# Both runtimes run privately under a temporary root with their own socket, state and CNI
# directory; both use Berth's berth-pause as the sandbox image (imported into containerd) and
# the same busybox. containerd gets restrict_oom_score_adj (this machine cannot lower
# oom_score_adj) and is stopped at the end. Needs root, containerd (Debian's `containerd`) and
# containernetworking-plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-20}
PODS=${2:-10}
WORK=$(mktemp -d /tmp/berth-cribench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
CRI_SOCK=$WORK/berth-run/cri.sock
CTRD_SOCK=$WORK/containerd.sock
TAG=$$
pids=()
cleanup() {
  [ -S "$CRI_SOCK" ] && bin/node bench/cri-driver.ts clear "$CRI_SOCK" 2>/dev/null || true
  [ -S "$CTRD_SOCK" ] && bin/node bench/cri-driver.ts clear "$CTRD_SOCK" 2>/dev/null || true
  stop_daemons
  # containerd's shims outlive it: those of this root only.
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $CTRD_SOCK" || true); do kill -9 "$p" 2>/dev/null || true; done
  grep -o "$WORK[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip link del "bcb$TAG" 2>/dev/null || true
  ip link del "bcc$TAG" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# One CNI network per runtime: same plugins, a bridge and /24 of its own.
cni_conf() { # dir bridge subnet
  mkdir -p "$1"
  cat >"$1/10-bench.conflist" <<JSON
{ "cniVersion": "1.0.0", "name": "bench-$2", "plugins": [
  { "type": "bridge", "bridge": "$2", "isGateway": true, "ipMasq": false,
    "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$3" }]], "dataDir": "$1/ipam" } } ] }
JSON
}
cni_conf "$WORK/berth-net.d" "bcb$TAG" "10.234.$((TAG % 250)).0/24"
cni_conf "$WORK/containerd-net.d" "bcc$TAG" "10.235.$((TAG % 250)).0/24"

start_berthd --bridge none --cni-conf-dir "$WORK/berth-net.d" --cni-bin-dir /usr/lib/cni
for _ in $(seq 100); do [ -S "$CRI_SOCK" ] && break; sleep 0.1; done
BERTH="./bin/berth -H unix://$BERTH_SOCK"
$BERTH image bootstrap busybox >/dev/null
# A first sandbox makes berth-pause's image; containerd gets the same one.
bin/node bench/cri-driver.ts hold 1 docker.io/library/busybox:latest "$WORK/logs" "$CRI_SOCK"
bin/node bench/cri-driver.ts clear "$CRI_SOCK"
PAUSE=$(docker -H "unix://$BERTH_SOCK" images --format '{{.Repository}}:{{.Tag}}' | grep berth-pause | head -1)
docker -H "unix://$BERTH_SOCK" save busybox "$PAUSE" -o "$WORK/images.tar"

mkdir -p "$WORK/containerd"
cat >"$WORK/containerd/config.toml" <<TOML
version = 2
root = "$WORK/containerd/root"
state = "$WORK/containerd/state"
[grpc]
  address = "$CTRD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$WORK/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$WORK/containerd-net.d"
TOML
containerd --config "$WORK/containerd/config.toml" --log-level warn >"$WORK/containerd.log" 2>&1 &
pids+=($!)
CTRD_PID=$!
for _ in $(seq 100); do [ -S "$CTRD_SOCK" ] && break; sleep 0.1; done
ctr -a "$CTRD_SOCK" -n k8s.io images import "$WORK/images.tar" >/dev/null

load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== time: a pod with one container, run and removed ($RUNS cycles each, alternating; load $(load))" >&2
CNI=$(bin/node bench/cri-driver.ts cycle "$RUNS" docker.io/library/busybox:latest "$WORK/logs" berth="$CRI_SOCK" containerd="$CTRD_SOCK")
HOST=$(BENCH_CRI_NETWORK=host bin/node bench/cri-driver.ts cycle "$RUNS" docker.io/library/busybox:latest "$WORK/logs" berth="$CRI_SOCK" containerd="$CTRD_SOCK")
echo "   (load after $(load))" >&2

# Anonymous memory + page tables of processes, in KiB: their own, not the shared libraries'.
own_kb() {
  local total=0 p
  for p in "$@"; do
    [ -r "/proc/$p/status" ] || continue
    total=$((total + $(awk '/^RssAnon:|^VmPTE:/ {s += $2} END {print s + 0}' "/proc/$p/status")))
  done
  echo "$total"
}
BERTHD_PID=$(cat "$WORK/berthd.pid")
monitors() { pgrep -f "berth-monitor.*$WORK/berth" || true; }
shims() { pgrep -f "containerd-shim-runc-v2 .*-address $CTRD_SOCK" || true; }

echo "== memory: $PODS running pods each (load $(load))" >&2
b0=$(own_kb "$BERTHD_PID" $(monitors))
bin/node bench/cri-driver.ts hold "$PODS" docker.io/library/busybox:latest "$WORK/logs" "$CRI_SOCK"
sleep 2
b1d=$(own_kb "$BERTHD_PID")
b1m=$(own_kb $(monitors))
nmon=$(monitors | wc -l)
c0=$(own_kb "$CTRD_PID" $(shims))
bin/node bench/cri-driver.ts hold "$PODS" docker.io/library/busybox:latest "$WORK/logs" "$CTRD_SOCK"
sleep 2
c1d=$(own_kb "$CTRD_PID")
c1s=$(own_kb $(shims))
nshim=$(shims | wc -l)
echo "   (load after $(load))" >&2

bin/node -e '
const [cni, host, pods, b0, b1d, b1m, nmon, c0, c1d, c1s, nshim] = process.argv.slice(1);
const show = (label, r) => {
  console.log(`${label}:`);
  for (const rt of Object.keys(r)) console.log(`  ${rt.padEnd(10)} ${Object.entries(r[rt]).map(([k, v]) => `${k} ${v}`).join(", ")} (ms)`);
  console.log(`  ratio berth/containerd (whole cycle): ${(r.berth.total / r.containerd.total).toFixed(3)}`);
};
show("pod on the CNI network", JSON.parse(cni));
show("pod in the host network", JSON.parse(host));
const n = Number(pods);
const berth = (Number(b1d) + Number(b1m) - Number(b0)) / n;
const ctrd = (Number(c1d) + Number(c1s) - Number(c0)) / n;
console.log(`memory per running pod (runtime processes, anon + page tables), ${n} pods:`);
console.log(`  berth      ${berth.toFixed(0)} KiB (berthd now ${b1d} KiB, ${nmon} berth-monitors ${b1m} KiB)`);
console.log(`  containerd ${ctrd.toFixed(0)} KiB (containerd now ${c1d} KiB, ${nshim} shims ${c1s} KiB)`);
console.log(`  ratio berth/containerd: ${(berth / ctrd).toFixed(3)}`);
' "$CNI" "$HOST" "$PODS" "$b0" "$b1d" "$b1m" "$nmon" "$c0" "$c1d" "$c1s" "$nshim"
