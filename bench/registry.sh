#!/usr/bin/env bash
# Times `docker pull` and `docker push` of the same images against berthd and dockerd, both
# talking to berth-registry on loopback, on a quiet machine and under load, and reports medians
# and ratios (Berth / dockerd).
#
#   bash bench/registry.sh [runs] [layer sizes in MiB] [loads]
#   bash bench/registry.sh 3 "64 248" "quiet loaded"      # the defaults
#
# Each image is busybox plus one layer of random bytes (incompressible, so gzip costs what it
# costs on real binaries): 64 MiB, and 248 MiB (a 260 MB image). "loaded" runs two busy loops
# beside the daemons (as many as there are cores here), "quiet" none; the load average is
# printed with each result, since other work on the machine counts too. Pushes: each run
# pushes to a registry root of its own, so every layer is uploaded (a registry that has a blob
# answers "Layer already exists" and times nothing); Berth's image was built here, so its
# layers were gzipped in the background once, as a build leaves them. Pulls: the image removed
# before each run, the two daemons' runs alternating (berth, dockerd, berth, ...), so a change
# of the machine's load falls on both; with each pull the daemon's CPU time (dockerd's with its
# children, unpigz and the untar) and berthd's main thread's alone (what the event loop spent).
# Everything is private and temporary; needs root, dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-3}
SIZES=${2:-64 248}
LOADS=${3:-quiet loaded}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
burners=()
stop_load() {
  for p in "${burners[@]}"; do kill "$p" 2>/dev/null || true; done
  burners=()
}
cleanup() {
  stop_load
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT

start_load() {
  for _ in $(seq "$(nproc)"); do
    sh -c 'while :; do :; done' &
    burners+=($!)
  done
  sleep 2
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# CPU seconds of a process with its reaped children (utime+stime+cutime+cstime), and of one
# thread alone (utime+stime).
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / t }' "$1"; }
thread_cpu_of() { awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "$1"; }

start_berthd --bridge none
start_dockerd
B=(docker -H "unix://$BERTH_SOCK")
D=(docker -H "unix://$DOCKERD_SOCK")
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null

for MIB in $SIZES; do
  # The image, built by Berth, saved and loaded into dockerd so both push the same bytes.
  mkdir -p "$WORK/ctx-$MIB"
  printf 'FROM busybox\nRUN dd if=/dev/urandom of=/payload bs=1M count=%d 2>/dev/null\n' "$MIB" >"$WORK/ctx-$MIB/Dockerfile"
  "${B[@]}" build -q -t "bench/payload:$MIB" "$WORK/ctx-$MIB" >/dev/null
  "${B[@]}" save "bench/payload:$MIB" -o "$WORK/image.tar"
  "${D[@]}" load -i "$WORK/image.tar" >/dev/null
  rm -f "$WORK/image.tar"
  sleep 5 # the background gzip of the new layer (it started a second after the build)

  # Pushes under each load: a fresh registry for every push, alternating the daemons.
  declare -A push_b push_d push_load
  for LOAD in $LOADS; do
    [ "$LOAD" = loaded ] && start_load
    l0=$(loadavg)
    pb=() pd=()
    for i in $(seq 1 "$RUNS"); do
      for who in berth dockerd; do
        read -r reg rpid < <(start_registry "$WORK/reg-push-$who-$i")
        cli=("${B[@]}"); [ "$who" = dockerd ] && cli=("${D[@]}")
        "${cli[@]}" tag "bench/payload:$MIB" "$reg/bench/payload:1"
        t0=$(date +%s%N)
        "${cli[@]}" push -q "$reg/bench/payload:1" >/dev/null
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000000 ))
        if [ "$who" = berth ]; then pb+=("$ms"); else pd+=("$ms"); fi
        "${cli[@]}" rmi "$reg/bench/payload:1" >/dev/null
        kill "$rpid"; wait "$rpid" 2>/dev/null || true
        rm -rf "$WORK/reg-push-$who-$i"
      done
    done
    push_b[$LOAD]="${pb[*]}" push_d[$LOAD]="${pd[*]}" push_load[$LOAD]="$l0 → $(loadavg)"
    [ "$LOAD" = loaded ] && stop_load
  done

  # Pulls under each load: one registry holding the image; each run starts without it.
  read -r reg rpid < <(start_registry "$WORK/reg-pull")
  "${B[@]}" tag "bench/payload:$MIB" "$reg/bench/payload:1"
  "${B[@]}" push -q "$reg/bench/payload:1" >/dev/null
  "${B[@]}" rmi "$reg/bench/payload:1" "bench/payload:$MIB" >/dev/null
  "${D[@]}" rmi "bench/payload:$MIB" >/dev/null
  BPID=$(cat "$WORK/berthd.pid") DPID=$(cat "$WORK/dockerd.pid")
  for LOAD in $LOADS; do
    [ "$LOAD" = loaded ] && start_load
    l0=$(loadavg)
    : >"$WORK/pull-$LOAD.txt"
    for i in $(seq 1 "$RUNS"); do
      for who in berth dockerd; do
        cli=("${B[@]}") pid=$BPID
        [ "$who" = dockerd ] && cli=("${D[@]}") pid=$DPID
        "${cli[@]}" image rm -f "$reg/bench/payload:1" >/dev/null 2>&1 || true
        c0=$(cpu_of "/proc/$pid/stat") m0=$(thread_cpu_of "/proc/$pid/task/$pid/stat")
        t0=$(date +%s%N)
        "${cli[@]}" pull -q "$reg/bench/payload:1" >/dev/null
        t1=$(date +%s%N)
        c1=$(cpu_of "/proc/$pid/stat") m1=$(thread_cpu_of "/proc/$pid/task/$pid/stat")
        echo "$who $(( (t1 - t0) / 1000000 )) $(awk "BEGIN { print $c1 - $c0, $m1 - $m0 }")" >>"$WORK/pull-$LOAD.txt"
      done
    done
    pull_load="$l0 → $(loadavg)"
    [ "$LOAD" = loaded ] && stop_load
    bin/node -e '
const [file, pb, pd, mib, load, pushLoad, pullLoad] = process.argv.slice(1);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const rows = require("fs").readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" "));
const of = (who, k) => med(rows.filter((r) => r[0] === who).map((r) => Number(r[k])));
const r = { berth: of("berth", 1), dockerd: of("dockerd", 1) };
const push = { berth: med(pb.split(" ").map(Number)), dockerd: med(pd.split(" ").map(Number)) };
const mb = Math.round((Number(mib) * 1048576 + 4.9e6) / 1e6);
console.log(`image: busybox + ${mib} MiB of random bytes (~${mb} MB), ${load}, medians of ${pb.split(" ").length}`);
console.log(`  pull  berth ${r.berth.toFixed(0)} ms, dockerd ${r.dockerd.toFixed(0)} ms, ratio ${(r.berth / r.dockerd).toFixed(3)} (load average ${pullLoad})`);
console.log(`        CPU per pull: berthd ${of("berth", 2).toFixed(2)} s (its main thread ${of("berth", 3).toFixed(2)} s), dockerd ${of("dockerd", 2).toFixed(2)} s with its children`);
console.log(`        runs (ms): berth ${rows.filter((x) => x[0] === "berth").map((x) => x[1]).join(" ")}; dockerd ${rows.filter((x) => x[0] === "dockerd").map((x) => x[1]).join(" ")}`);
console.log(`  push  berth ${push.berth.toFixed(0)} ms, dockerd ${push.dockerd.toFixed(0)} ms, ratio ${(push.berth / push.dockerd).toFixed(3)} (load average ${pushLoad})`);
' "$WORK/pull-$LOAD.txt" "${push_b[$LOAD]}" "${push_d[$LOAD]}" "$MIB" "$LOAD" "${push_load[$LOAD]}" "$pull_load"
  done
  "${B[@]}" image rm -f "$reg/bench/payload:1" >/dev/null 2>&1 || true
  "${D[@]}" image rm -f "$reg/bench/payload:1" >/dev/null 2>&1 || true
  kill "$rpid"; wait "$rpid" 2>/dev/null || true
  rm -rf "$WORK/reg-pull"
done
