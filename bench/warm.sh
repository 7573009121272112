#!/usr/bin/env bash
# Times `docker run --rm --network none busybox true` against berthd with its warm pool
# (--warm-pool 2), berthd without (--warm-pool 0) and, where installed, dockerd, in one run,
# and reports the medians and the ratios to dockerd (issue 15's first target: ≤ 0.1×). In the
# same run, the floor: the same command, the plain `docker run` (no --rm: wait's next-exit)
# and `docker --version`, against bench/fake-engine.ts, which answers every request at once
# with Berth's answers — the least any daemon could take through this CLI on this machine —
# and the ratio floor/dockerd, what the target can be. The docker CLI's CPU time (user+sys,
# hyperfine's mean) beside each median: steadier than wall time under load. Then where one
# run's time goes, phase by phase (bench/run-phases.ts), for each daemon and the fake; then a
# burst: BURST runs (default 20) PAR at a time (default 4) on each daemon, wall time.
# Each daemon's own CPU per run of the timed command (user+sys, warm-up runs included): every
# daemon runs in a cpuacct cgroup of its own, so what it starts and waits for or leaves behind
# (the launcher, conmon, crun's create and delete, containerd and its shims for dockerd) is
# counted with it, the containers' own processes (moved into cgroups of their own) are not.
#
#   bash bench/warm.sh [runs] [none|bridge]
#
# `bridge`: `docker run --rm busybox true` on each daemon's default bridge instead — each
# berthd on a bridge of its own, dockerd on one made here with --iptables=false (never
# berth0 or docker0; everything is removed at the end).
#
# The daemons run privately on temporary roots and get the same busybox image. Needs root
# and hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-30}
NET=${2:-none}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
COLD_SOCK=$WORK/cold/berth.sock
FAKE_SOCK=$WORK/fake.sock
BURST=${BURST:-20}
PAR=${PAR:-4}
pids=()
acct=()
# The daemon started next gets a cpuacct cgroup of its own, named $1: this shell enters it to
# start the daemon (which, and all it starts, inherits it) and `leave`s it after.
ACCT_ROOT=/sys/fs/cgroup/cpuacct
[ -d "$ACCT_ROOT" ] || ACCT_ROOT=/sys/fs/cgroup
HOME_CG=$ACCT_ROOT$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ || ($1 == 0 && $2 == "") {print $3; exit}' /proc/self/cgroup)
account() {
  local g=$ACCT_ROOT/berth-bench-$$-$1
  mkdir "$g" && acct+=("$g") && echo $$ >"$g/cgroup.procs"
}
leave() { echo $$ >"$HOME_CG/cgroup.procs"; }
# A daemon's CPU time so far in ns (cgroup v1's cpuacct.usage, v2's cpu.stat usage_usec).
usage() {
  local g
  for g in "${acct[@]}"; do [ "${g##*-}" = "$1" ] || continue
    if [ -f "$g/cpuacct.usage" ]; then cat "$g/cpuacct.usage"; else echo $(($(awk '/^usage_usec/ {print $2}' "$g/cpu.stat") * 1000)); fi
  done
}
WBR=bwarm$(($$ % 10000))
CBR=bcold$(($$ % 10000))
DBR=bdwarm$(($$ % 10000))
cleanup() {
  stop_daemons
  if [ "$NET" = bridge ]; then
    for b in "$WBR" "$CBR" "$DBR"; do ip link del "$b" 2>/dev/null || true; done
    for b in "$WBR" "$CBR"; do nft delete table ip "berth_$b" 2>/dev/null || true; done
  fi
  rm -rf "$WORK"
  for g in "${acct[@]}"; do rmdir "$g" 2>/dev/null || echo "cgroup $g is still busy" >&2; done
}
trap cleanup EXIT
if [ "$NET" = bridge ]; then
  warm_net=(--bridge "$WBR")
  cold_net=(--bridge "$CBR")
  run=(run --rm busybox true)
else
  # No bridge (the runs use none): berth0 is never touched.
  warm_net=(--bridge none)
  cold_net=(--bridge none)
  run=(run --rm --network none busybox true)
fi

echo "network: $NET; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
account warm
start_berthd --warm-pool 2 "${warm_net[@]}"
leave
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
mkdir -p "$WORK/cold"
account cold
./bin/berthd --data-root "$WORK/cold/root" --exec-root "$WORK/cold/run" -H "unix://$COLD_SOCK" \
  --pidfile "$WORK/cold/berthd.pid" --log-level warn --warm-pool 0 "${cold_net[@]}" 2>"$WORK/cold/berthd.log" &
pids+=($!)
leave
wait_sock "$COLD_SOCK"
docker -H "unix://$COLD_SOCK" load -i "$WORK/busybox.tar" >/dev/null

bin/node bench/fake-engine.ts "$FAKE_SOCK" 2>"$WORK/fake.log" &
pids+=($!)
for _ in $(seq 1 200); do [ -S "$FAKE_SOCK" ] && break; sleep 0.05; done
# The plain run: what the CLI does without --rm (wait's condition next-exit), on the fake only.
plain=("${run[@]/--rm/}")
cmds=(-n berth-warm "docker -H unix://$BERTH_SOCK ${run[*]}" -n berth-cold "docker -H unix://$COLD_SOCK ${run[*]}"
  -n floor "docker -H unix://$FAKE_SOCK ${run[*]}" -n floor-plain "docker -H unix://$FAKE_SOCK ${plain[*]}"
  -n docker-version "docker --version")
if command -v dockerd >/dev/null; then
  account dockerd
  if [ "$NET" = bridge ]; then
    start_dockerd_on_bridge "$DBR"
  else
    start_dockerd
  fi
  leave
  docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null
  cmds+=(-n dockerd "docker -H unix://$DOCKERD_SOCK ${run[*]}")
else
  echo "dockerd is not installed (apt-get install docker.io): timing Berth alone" >&2
fi

declare -A before
for d in warm cold dockerd; do before[$d]=$(usage "$d"); done
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/result.json" "${cmds[@]}" >&2
for d in warm cold dockerd; do
  [ -n "${before[$d]}" ] || continue
  echo "daemon cpu per run, $d (with what it starts): $(((($(usage "$d") - before[$d]) / (RUNS + 3)) / 1000)) us"
done
bin/node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const med = Object.fromEntries(r.map((x) => [x.command, x.median * 1000]));
const cpu = Object.fromEntries(r.map((x) => [x.command, (x.user + x.system) * 1000]));
for (const [k, v] of Object.entries(med))
  console.log(`${k}: median ${v.toFixed(1)} ms, CLI cpu ${cpu[k].toFixed(1)} ms`);
for (const k of ["berth-warm", "berth-cold", "floor"])
  if (med[k] && med.dockerd) console.log(`ratio ${k}/dockerd: ${(med[k] / med.dockerd).toFixed(3)}`);
for (const k of ["berth-warm", "berth-cold"])
  console.log(`${k} above the floor: ${(med[k] - med.floor).toFixed(1)} ms (${(med[k] / med.floor).toFixed(2)}x)`);
' "$WORK/result.json"
if [ -s "$WORK/fake.log" ]; then echo "the fake engine was asked what it does not fake:" >&2; cat "$WORK/fake.log" >&2; fi
for d in "berth-warm:$BERTH_SOCK" "berth-cold:$COLD_SOCK" "floor:$FAKE_SOCK" ${DOCKERD_SOCK:+"dockerd:$DOCKERD_SOCK"}; do
  [ -S "${d#*:}" ] || continue
  echo "phases of one run, ${d%%:*} (medians):"
  bin/node bench/run-phases.ts "${d#*:}" "$RUNS" -- "${run[@]:1}" | sed 's/^/  /'
done
# A burst: the pool (2) cannot hold a sandbox for each; its refills compete with the starts.
for d in "berth-warm:$BERTH_SOCK" "berth-cold:$COLD_SOCK" ${DOCKERD_SOCK:+"dockerd:$DOCKERD_SOCK"}; do
  [ -S "${d#*:}" ] || continue
  t=$(date +%s%N)
  seq "$BURST" | xargs -P "$PAR" -I{} docker -H "unix://${d#*:}" "${run[@]}" >/dev/null
  echo "burst ${d%%:*}: $BURST runs $PAR at a time in $((($(date +%s%N) - t) / 1000000)) ms"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
