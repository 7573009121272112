#!/usr/bin/env bash
# Parallel starts (issue 15, target 4): N `docker run -d` issued P at a time, against berthd and
# dockerd in one run, with `--network none` and on a user network (each container publishing a
# port of its own), and whether anything was lost or handed out twice.
#
#   bash bench/parallel.sh [containers] [parallel] [rounds]     (default 100, 10, 3)
#   DOCKERD=0 bash bench/parallel.sh                             (Berth alone)
#
# Each round of each mode times the N runs (wall clock, `xargs -P`), then checks that N
# containers run under N distinct names, with N distinct addresses on the user network and N
# distinct published host ports, and removes them. The daemons take turns, never both at once;
# the medians of the rounds and the ratios are printed with the load average.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-100}
P=${2:-10}
ROUNDS=${3:-3}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
cleanup() {
  for s in "$BERTH_SOCK" "$DOCKERD_SOCK"; do
    [ -S "$s" ] || continue
    ids=$(docker -H "unix://$s" ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && docker -H "unix://$s" rm -f $ids >/dev/null 2>&1 || true
    # dockerd lets go of a removed container's endpoint a moment after the removal.
    for _ in $(seq 1 50); do
      docker -H "unix://$s" network inspect benchnet >/dev/null 2>&1 || break
      docker -H "unix://$s" network rm benchnet >/dev/null 2>&1 && break
      sleep 0.2
    done
  done
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT

start_berthd --bridge none
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
daemons=(berth)
if [ "${DOCKERD:-1}" = 0 ]; then
  echo "DOCKERD=0: timing Berth alone" >&2
elif command -v dockerd >/dev/null; then
  start_dockerd
  docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null
  daemons+=(dockerd)
else
  echo "dockerd is not installed (apt-get install docker.io): timing Berth alone" >&2
fi
sock() { [ "$1" = berth ] && echo "$BERTH_SOCK" || echo "$DOCKERD_SOCK"; }
# A subnet of its own for each daemon's user network (both bridges exist at once).
declare -A subnet=([berth]=10.231.0.0/16 [dockerd]=10.232.0.0/16)
for d in "${daemons[@]}"; do
  docker -H "unix://$(sock "$d")" network create --subnet "${subnet[$d]}" benchnet >/dev/null
done

# One round: N runs of daemon $1 in mode $2 (none | user), P at a time; prints the seconds.
round() {
  local d=$1 mode=$2 h
  h="unix://$(sock "$d")"
  local args=(--network none)
  [ "$mode" = user ] && args=(--network benchnet -p 127.0.0.1::80)
  local t0 t1
  t0=$(date +%s%N)
  seq 1 "$N" | xargs -P "$P" -I{} docker -H "$h" run -d --name "$mode-{}" "${args[@]}" busybox sleep 3600 >/dev/null
  t1=$(date +%s%N)
  check "$d" "$mode"
  docker -H "$h" rm -f $(docker -H "$h" ps -aq) >/dev/null
  echo "scale=3; ($t1 - $t0) / 1000000000" | bc
}

# Nothing lost, nothing given twice: N running, N names, and on the user network N addresses
# and N host ports.
check() {
  local h="unix://$(sock "$1")" running names ips ports
  running=$(docker -H "$h" ps -q | wc -l)
  names=$(docker -H "$h" ps --format '{{.Names}}' | sort -u | wc -l)
  [ "$running" = "$N" ] && [ "$names" = "$N" ] || {
    echo "$1 $2: $running running, $names names, of $N" >&2
    exit 1
  }
  [ "$2" = user ] || return 0
  ips=$(docker -H "$h" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $(docker -H "$h" ps -q) | sort -u | wc -l)
  ports=$(docker -H "$h" inspect -f '{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}}{{end}}{{end}}' $(docker -H "$h" ps -q) | sort -u | wc -l)
  [ "$ips" = "$N" ] && [ "$ports" = "$N" ] || {
    echo "$1 $2: $ips addresses, $ports host ports, of $N" >&2
    exit 1
  }
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
declare -A times
for mode in none user; do
  for r in $(seq 1 "$ROUNDS"); do
    for d in "${daemons[@]}"; do
      s=$(round "$d" "$mode")
      echo "$d $mode round $r: $s s" >&2
      times[$d.$mode]+="$s "
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for mode in none user; do
  b=$(echo "${times[berth.$mode]}" | median)
  line="$N runs, $P at a time, --network $mode: berth ${b} s"
  if [ -n "${times[dockerd.$mode]:-}" ]; then
    k=$(echo "${times[dockerd.$mode]}" | median)
    line+=", dockerd ${k} s, ratio $(echo "scale=3; $b / $k" | bc)"
  fi
  echo "$line (nothing lost or given twice)"
done
