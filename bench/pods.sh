#!/usr/bin/env bash
# Pods, Berth against Podman 4.3 (Debian's, with runc) on the same machine in one run:
#
#  1. `pod create` and two member containers started (`run -d --pod`); the previous run's pod
#     is removed before each run (hyperfine's prepare, not timed);
#  2. `kube play` of a two-container pod, the previous run's `kube down` not timed.
#
#   bash bench/pods.sh [runs]
#
# The cases are interleaved: each of the [runs] rounds times every case once (hyperfine
# --runs 1 over all of them), in the listed order one round and the reverse the next, after
# one warm-up round not counted; so a load that moves during the run moves Berth's and
# Podman's figures alike (hyperfine's runs of one case after another put each case in a
# different stretch of the run). The medians are over the rounds.
#
# BERTH_BASE=<another checkout> adds its `berth` CLI against the same berthd, timed in the same
# run (`base ...` cases): a client-side change measured side by side, as load moves both alike.
# BERTHD_BASE=<another checkout> starts that checkout's berthd too (its own root and socket,
# the same flags) and times this checkout's CLI against it in the same run (`based ...` cases):
# a daemon-side change measured side by side.
#
# Both without networking (`--network none` for Podman, berthd with `--bridge none`), so
# neither touches the host's bridges or firewall; both run the same busybox image (Berth
# bootstraps it and saves it, Podman loads the archive) and keep their state under a
# temporary root. Podman's defaults fail on this machine (rlimits above the hard limits, no
# CAP_SYS_RESOURCE; see DESIGN.md), so it runs with a private containers.conf: nofile/nproc at
# the hard limits, cgroupfs, file events, and runc through a wrapper that drops the infra
# container's rlimits. Needs root, hyperfine and podman (`apt-get install podman catatonit`);
# without podman, Berth is timed alone.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-10}
WORK=$(mktemp -d /tmp/berth-podbench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
pids=()
HAVE_PODMAN=$(command -v podman >/dev/null && echo 1 || echo 0)
export CONTAINERS_CONF=$WORK/containers.conf
PODMAN="podman --root $WORK/podman --runroot $WORK/podman-run --tmpdir $WORK/podman-tmp"
cleanup() {
  if [ "$HAVE_PODMAN" = 1 ]; then
    $PODMAN pod rm -af >/dev/null 2>&1 || true
    $PODMAN system reset -f >/dev/null 2>&1 || true
  fi
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT

start_berthd --bridge none
BERTH="./bin/berth -H unix://$BERTH_SOCK"
$BERTH image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"

write_pod_yaml "$WORK/pod.yaml"

IDLE="sh -c 'trap \"exit 0\" TERM; while :; do sleep 1; done'"
cmds=(
  -n "berth pod create + 2 run -d"
  --prepare "$BERTH pod rm -f bp >/dev/null 2>&1 || true"
  "$BERTH pod create --name bp >/dev/null && $BERTH run -d --pod bp busybox $IDLE >/dev/null && $BERTH run -d --pod bp busybox $IDLE >/dev/null"
  -n "berth kube play"
  --prepare "$BERTH kube down -q $WORK/pod.yaml >/dev/null 2>&1 || true"
  "$BERTH kube play -q $WORK/pod.yaml >/dev/null"
)

if [ -n "${BERTHD_BASE:-}" ]; then
  BASED_SOCK=$WORK/based.sock
  "$BERTHD_BASE/bin/berthd" --data-root "$WORK/based" --exec-root "$WORK/based-run" -H "unix://$BASED_SOCK" \
    --pidfile "$WORK/based.pid" --log-level warn --bridge none 2>"$WORK/based.log" &
  pids+=($!)
  wait_sock "$BASED_SOCK"
  BASED="./bin/berth -H unix://$BASED_SOCK"
  $BASED image bootstrap busybox >/dev/null
  cmds+=(
    -n "based pod create + 2 run -d"
    --prepare "$BASED pod rm -f bp >/dev/null 2>&1 || true"
    "$BASED pod create --name bp >/dev/null && $BASED run -d --pod bp busybox $IDLE >/dev/null && $BASED run -d --pod bp busybox $IDLE >/dev/null"
    -n "based kube play"
    --prepare "$BASED kube down -q $WORK/pod.yaml >/dev/null 2>&1 || true"
    "$BASED kube play -q $WORK/pod.yaml >/dev/null"
  )
fi

if [ -n "${BERTH_BASE:-}" ]; then
  BASE="$BERTH_BASE/bin/berth -H unix://$BERTH_SOCK"
  cmds+=(
    -n "base pod create + 2 run -d"
    --prepare "$BERTH pod rm -f bp >/dev/null 2>&1 || true"
    "$BASE pod create --name bp >/dev/null && $BASE run -d --pod bp busybox $IDLE >/dev/null && $BASE run -d --pod bp busybox $IDLE >/dev/null"
    -n "base kube play"
    --prepare "$BERTH kube down -q $WORK/pod.yaml >/dev/null 2>&1 || true"
    "$BASE kube play -q $WORK/pod.yaml >/dev/null"
  )
fi

if [ "$HAVE_PODMAN" = 1 ]; then
  cat >"$WORK/runc-wrap" <<'WRAP'
#!/bin/bash
# Drops the rlimits and oom_score_adj Podman puts in a bundle (above this machine's limits).
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = --bundle ] || [ "${!i}" = -b ]; then j=$((i + 1)); bundle=${!j}; fi
done
if [ -n "${bundle:-}" ] && [ -f "$bundle/config.json" ]; then
  python3 -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); c["process"].pop("rlimits",None); c["process"].pop("oomScoreAdj",None); json.dump(c,open(p,"w"))' "$bundle/config.json"
fi
exec /usr/bin/runc "$@"
WRAP
  chmod +x "$WORK/runc-wrap"
  cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$(ulimit -Hu):$(ulimit -Hu)"]
[engine]
runtime = "runcwrap"
cgroup_manager = "cgroupfs"
events_logger = "file"
[engine.runtimes]
runcwrap = ["$WORK/runc-wrap"]
CONF
  $PODMAN load -q -i "$WORK/busybox.tar" >/dev/null
  # The pause image is built on the first pod: not on the clock.
  $PODMAN pod create --network none --name warm >/dev/null && $PODMAN pod rm -f warm >/dev/null
  cmds+=(
    -n "podman pod create + 2 run -d"
    --prepare "$PODMAN pod rm -f -t 0 pp >/dev/null 2>&1 || true"
    "$PODMAN pod create --network none --name pp >/dev/null && $PODMAN run -d --pod pp busybox $IDLE >/dev/null && $PODMAN run -d --pod pp busybox $IDLE >/dev/null"
    -n "podman kube play"
    --prepare "$PODMAN kube down $WORK/pod.yaml >/dev/null 2>&1 || true"
    "$PODMAN kube play --network none $WORK/pod.yaml >/dev/null"
  )
else
  echo "podman is not installed (apt-get install podman catatonit): timing Berth alone" >&2
fi

# The cases as triples (name, prepare, command) from hyperfine's flags above, so that a round
# can list them in either order.
cases=()
for ((i = 0; i < ${#cmds[@]}; i += 5)); do cases+=("${cmds[i + 1]}" "${cmds[i + 3]}" "${cmds[i + 4]}"); done
ncases=$((${#cases[@]} / 3))
round() { # round number (0: warm-up) -> $WORK/round-N.json
  local order=() args=() k
  for ((k = 0; k < ncases; k++)); do order+=("$k"); done
  if (($1 % 2 == 1)); then
    local rev=()
    for ((k = ncases - 1; k >= 0; k--)); do rev+=("$k"); done
    order=("${rev[@]}")
  fi
  for k in "${order[@]}"; do args+=(-n "${cases[3 * k]}" --prepare "${cases[3 * k + 1]}" "${cases[3 * k + 2]}"); done
  hyperfine --runs 1 --style basic --export-json "$WORK/round-$1.json" "${args[@]}" >>"$WORK/hyperfine.log" 2>&1
}
round 0
rm "$WORK/round-0.json"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$RUNS"); do round "$r"; done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
# Medians and their ratios are the claim; the CPU the commands' processes used (user + sys,
# means: the CLI's and the clients' own, not the daemons') says how much of a loaded run's
# time is the clients', and the load averages say how loaded it was.
bin/node -e '
const fs = require("fs");
const rounds = fs.readdirSync(process.argv[1]).filter((f) => /^round-\d+\.json$/.test(f));
const runs = {};
for (const f of rounds)
  for (const x of JSON.parse(fs.readFileSync(`${process.argv[1]}/${f}`, "utf8")).results)
    (runs[x.command] ??= []).push({ ms: x.times[0] * 1000, cpu: (x.user + x.system) * 1000 });
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
// In the order the cases are listed (each round file has its own).
const names = process.argv[4].split("\n").filter((n) => runs[n]);
const med = Object.fromEntries(names.map((k) => [k, median(runs[k].map((x) => x.ms))]));
const cpu = Object.fromEntries(names.map((k) => [k, runs[k].reduce((a, x) => a + x.cpu, 0) / runs[k].length]));
console.log(`${rounds.length} interleaved rounds (the order reversed every other round), one warm-up round before them`);
for (const [k, v] of Object.entries(med)) console.log(`${k}: median ${v.toFixed(1)} ms, client CPU ${cpu[k].toFixed(0)} ms`);
for (const c of ["pod create + 2 run -d", "kube play"]) {
  const b = med[`berth ${c}`], p = med[`podman ${c}`];
  if (b && p) console.log(`${c}: ratio berth/podman ${(b / p).toFixed(3)}`);
  const based = med[`based ${c}`];
  if (b && based) console.log(`${c}: ratio berthd/base berthd ${(b / based).toFixed(3)}`);
  const base = med[`base ${c}`];
  if (b && base) console.log(`${c}: ratio berth/base ${(b / base).toFixed(3)}, client CPU ${cpu[`berth ${c}`].toFixed(0)} against ${cpu[`base ${c}`].toFixed(0)} ms`);
}
console.log(`load average (1, 5, 15 min): ${process.argv[2]} before, ${process.argv[3]} after`);
' "$WORK" "$LOAD_BEFORE" "$LOAD_AFTER" "$(for ((k = 0; k < ncases; k++)); do echo "${cases[3 * k]}"; done)"
