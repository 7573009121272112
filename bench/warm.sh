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
# burst: BURST runs (default 20) PAR at a time (default 4) on each daemon, wall time. Beside
# each of those three, the CPU time each berthd spent per run with everything it starts (the
# launcher, the runtime's create and delete, the monitors — not the containers' own processes,
# which the runtime moves to cgroups of their own), from a cpuacct cgroup each berthd runs in:
# what a run costs the machine, which the warm pool's refill adds to and the next client shares.
#
#   bash bench/warm.sh [runs] [none|bridge|user]
#
# `bridge`: `docker run --rm busybox true` on each daemon's default bridge instead — each
# berthd on a bridge of its own, dockerd on one made here with --iptables=false (never
# berth0 or docker0; everything is removed at the end).
# `user`: `docker run --rm --network warmnet busybox true` on a user network made on each
# daemon (without a default bridge; a /24 each of UNET, default 10.235: .1 berth-warm, .2
# berth-cold, .3 dockerd), after a few starts on it so that the warm pool holds its sandboxes
# there; removed at the end.
#
# BERTH_BASE=<checkout>: a fourth daemon, that checkout's berthd with its warm pool
# (`berth-base`), for an A/B of a change to the warm path: in the hyperfine run, the phases and
# the bursts beside this checkout's; and, since hyperfine times one command's runs after the
# other's, first an interleaved series of AB_RUNS pairs (default 2 × runs), one run on each
# daemon, the order swapped every pair, each timed alone: medians and the median of the pairs'
# differences, under the same load.
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
BASE_SOCK=$WORK/base/berth.sock
BERTH_BASE=${BERTH_BASE:-}
ACCT=(warm cold)
[ -n "$BERTH_BASE" ] && ACCT+=(base)
FAKE_SOCK=$WORK/fake.sock
BURST=${BURST:-20}
PAR=${PAR:-4}
pids=()
WBR=bwarm$(($$ % 10000))
BBR=bbase$(($$ % 10000))
CBR=bcold$(($$ % 10000))
DBR=bdwarm$(($$ % 10000))
# CPU per run of each berthd (ms, with its helpers) over what `what` did, from the counts in $acct0.
acct_report() {
  local what=$1 runs=$2 n
  for n in "${ACCT[@]}"; do echo "  berth-$n: $(((($(acct_ms $n) - ${acct0[$n]}) * 10 / runs)))" | sed -E 's/([0-9])$/.\1/'; done |
    tr '\n' ' ' | sed "s/^/berthd CPU per run with its helpers, $what (ms):/"
  echo
}
acct_mark() { for n in "${ACCT[@]}"; do acct0[$n]=$(acct_ms $n); done; }
declare -A acct0
DNET=
cleanup() {
  if [ "$NET" = user ]; then
    for s in "$BERTH_SOCK" "$COLD_SOCK" "$BASE_SOCK" "$DOCKERD_SOCK"; do
      [ -S "$s" ] && docker -H "unix://$s" network rm warmnet >/dev/null 2>&1 || true
    done
  fi
  stop_daemons
  [ -n "$DNET" ] && ip link del "br-${DNET:0:12}" 2>/dev/null || true
  for n in "${ACCT[@]}"; do for _ in 1 2 3 4 5; do rmdir "$(acct_dir $n)" 2>/dev/null && break; sleep 0.2; done; done
  if [ "$NET" = bridge ]; then
    for b in "$WBR" "$CBR" "$BBR" "$DBR"; do ip link del "$b" 2>/dev/null || true; done
    for b in "$WBR" "$CBR" "$BBR"; do nft delete table ip "berth_$b" 2>/dev/null || true; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$NET" = bridge ]; then
  warm_net=(--bridge "$WBR")
  cold_net=(--bridge "$CBR")
  base_net=(--bridge "$BBR")
  run=(run --rm busybox true)
elif [ "$NET" = user ]; then
  warm_net=(--bridge none)
  cold_net=(--bridge none)
  base_net=(--bridge none)
  run=(run --rm --network warmnet busybox true)
  UNET=${UNET:-10.235}
  if ip -4 route | grep -q "^$UNET\."; then
    echo "$UNET.0.0/16 is routed here already: set UNET" >&2
    exit 1
  fi
else
  # No bridge (the runs use none): berth0 is never touched.
  warm_net=(--bridge none)
  cold_net=(--bridge none)
  base_net=(--bridge none)
  run=(run --rm --network none busybox true)
fi

echo "network: $NET; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
BERTHD_PREFIX="in_acct warm" start_berthd --warm-pool 2 "${warm_net[@]}"
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
mkdir -p "$WORK/cold"
in_acct cold ./bin/berthd --data-root "$WORK/cold/root" --exec-root "$WORK/cold/run" -H "unix://$COLD_SOCK" \
  --pidfile "$WORK/cold/berthd.pid" --log-level warn --warm-pool 0 "${cold_net[@]}" 2>"$WORK/cold/berthd.log" &
pids+=($!)
wait_sock "$COLD_SOCK"
docker -H "unix://$COLD_SOCK" load -i "$WORK/busybox.tar" >/dev/null
if [ -n "$BERTH_BASE" ]; then
  mkdir -p "$WORK/base"
  # From its own checkout (its helpers, its bundle), as a daemon of that checkout runs.
  (cd "$BERTH_BASE" && in_acct base ./bin/berthd --data-root "$WORK/base/root" --exec-root "$WORK/base/run" \
    -H "unix://$BASE_SOCK" --pidfile "$WORK/base/berthd.pid" --log-level warn --warm-pool 2 "${base_net[@]}" \
    2>"$WORK/base/berthd.log") &
  pids+=($!)
  wait_sock "$BASE_SOCK"
  docker -H "unix://$BASE_SOCK" load -i "$WORK/busybox.tar" >/dev/null
fi
if [ "$NET" = user ]; then
  docker -H "unix://$BERTH_SOCK" network create --subnet "$UNET.1.0/24" warmnet >/dev/null
  docker -H "unix://$COLD_SOCK" network create --subnet "$UNET.2.0/24" warmnet >/dev/null
  [ -n "$BERTH_BASE" ] && docker -H "unix://$BASE_SOCK" network create --subnet "$UNET.4.0/24" warmnet >/dev/null
  # The pool follows the last starts' networks: a few on warmnet, then until it holds two there.
  for s in "$BERTH_SOCK" ${BERTH_BASE:+"$BASE_SOCK"}; do
    for _ in 1 2 3 4; do docker -H "unix://$s" "${run[@]}"; done
    for _ in $(seq 1 100); do
      docker -H "unix://$s" info 2>/dev/null | grep -q 'Warm pool: 2 of 2 ready' && break
      sleep 0.1
    done
  done
fi

bin/node bench/fake-engine.ts "$FAKE_SOCK" 2>"$WORK/fake.log" &
pids+=($!)
for _ in $(seq 1 200); do [ -S "$FAKE_SOCK" ] && break; sleep 0.05; done
# The plain run: what the CLI does without --rm (wait's condition next-exit), on the fake only.
plain=("${run[@]/--rm/}")
cmds=(-n berth-warm "docker -H unix://$BERTH_SOCK ${run[*]}")
[ -n "$BERTH_BASE" ] && cmds+=(-n berth-base "docker -H unix://$BASE_SOCK ${run[*]}")
cmds+=(-n berth-cold "docker -H unix://$COLD_SOCK ${run[*]}"
  -n floor "docker -H unix://$FAKE_SOCK ${run[*]}" -n floor-plain "docker -H unix://$FAKE_SOCK ${plain[*]}"
  -n docker-version "docker --version")
if command -v dockerd >/dev/null; then
  if [ "$NET" = bridge ]; then
    start_dockerd_on_bridge "$DBR"
  else
    start_dockerd
  fi
  docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null
  # dockerd leaves a user network's bridge (br-<id12>) when it stops: cleanup removes it by name.
  [ "$NET" = user ] && DNET=$(docker -H "unix://$DOCKERD_SOCK" network create --subnet "$UNET.3.0/24" warmnet)
  cmds+=(-n dockerd "docker -H unix://$DOCKERD_SOCK ${run[*]}")
else
  echo "dockerd is not installed (apt-get install docker.io): timing Berth alone" >&2
fi

if [ -n "$BERTH_BASE" ]; then
  # Interleaved pairs: warm (this checkout) and base, one run each, the order swapped each pair.
  for i in $(seq 1 "${AB_RUNS:-$((RUNS * 2))}"); do
    order=("$BERTH_SOCK:warm" "$BASE_SOCK:base")
    [ $((i % 2)) = 0 ] && order=("$BASE_SOCK:base" "$BERTH_SOCK:warm")
    for o in "${order[@]}"; do
      t=$(date +%s%N)
      docker -H "unix://${o%%:*}" "${run[@]}"
      echo "${o##*:} $((($(date +%s%N) - t) / 1000))"
    done
  done >"$WORK/ab.txt"
  echo "interleaved A/B, $(grep -c '^warm' "$WORK/ab.txt") pairs (load now $(cut -d' ' -f1-3 /proc/loadavg)):"
  bin/node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
const of = (k) => rows.filter((r) => r[0] === k).map((r) => Number(r[1]) / 1000);
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const [w, b] = [of("warm"), of("base")];
const d = w.map((x, i) => x - b[i]);
console.log(`  this checkout: median ${med(w).toFixed(1)} ms; BERTH_BASE: median ${med(b).toFixed(1)} ms; pairs this - base: median ${med(d).toFixed(1)} ms, this faster in ${d.filter((x) => x < 0).length} of ${d.length}`);
' "$WORK/ab.txt"
fi

acct_mark
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/result.json" "${cmds[@]}" >&2
acct_report "hyperfine's runs" $((RUNS + 3))
bin/node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const med = Object.fromEntries(r.map((x) => [x.command, x.median * 1000]));
const cpu = Object.fromEntries(r.map((x) => [x.command, (x.user + x.system) * 1000]));
for (const [k, v] of Object.entries(med))
  console.log(`${k}: median ${v.toFixed(1)} ms, CLI cpu ${cpu[k].toFixed(1)} ms`);
for (const k of ["berth-warm", "berth-base", "berth-cold", "floor"])
  if (med[k] && med.dockerd) console.log(`ratio ${k}/dockerd: ${(med[k] / med.dockerd).toFixed(3)}`);
for (const k of ["berth-warm", "berth-base", "berth-cold"])
  if (med[k]) console.log(`${k} above the floor: ${(med[k] - med.floor).toFixed(1)} ms (${(med[k] / med.floor).toFixed(2)}x)`);
' "$WORK/result.json"
if [ -s "$WORK/fake.log" ]; then echo "the fake engine was asked what it does not fake:" >&2; cat "$WORK/fake.log" >&2; fi
for d in "berth-warm:$BERTH_SOCK" ${BERTH_BASE:+"berth-base:$BASE_SOCK"} "berth-cold:$COLD_SOCK" "floor:$FAKE_SOCK" ${DOCKERD_SOCK:+"dockerd:$DOCKERD_SOCK"}; do
  [ -S "${d#*:}" ] || continue
  echo "phases of one run, ${d%%:*} (medians):"
  acct_mark
  bin/node bench/run-phases.ts "${d#*:}" "$RUNS" -- "${run[@]:1}" | sed 's/^/  /'
  case ${d%%:*} in berth-*) acct_report "one at a time" $((RUNS + 2)) | grep -o "${d%%:*}: [0-9.]*" | sed 's/^/  CPU per run with its helpers, /;s/$/ ms/' ;; esac
done
# A burst: the pool (2) cannot hold a sandbox for each; its refills compete with the starts.
for d in "berth-warm:$BERTH_SOCK" ${BERTH_BASE:+"berth-base:$BASE_SOCK"} "berth-cold:$COLD_SOCK" ${DOCKERD_SOCK:+"dockerd:$DOCKERD_SOCK"}; do
  [ -S "${d#*:}" ] || continue
  acct_mark
  t=$(date +%s%N)
  seq "$BURST" | xargs -P "$PAR" -I{} docker -H "unix://${d#*:}" "${run[@]}" >/dev/null
  echo "burst ${d%%:*}: $BURST runs $PAR at a time in $((($(date +%s%N) - t) / 1000000)) ms$(case ${d%%:*} in berth-*) acct_report x "$BURST" | grep -o "${d%%:*}: [0-9.]*" | sed 's/^.*: /, its CPU per run with its helpers /;s/$/ ms/' ;; esac)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
