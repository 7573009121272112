#!/usr/bin/env bash
# Many running containers (issue 15, targets 3 and 5): N `busybox sleep` containers started one
# after another, half with `--network none` and half on a user network (alternating), against
# berthd and then dockerd — never both at N at once: each daemon's half ends with its
# containers removed and the daemon stopped.
#
#   bash bench/many.sh [containers]        (default 1000)
#   DOCKERD=0 bash bench/many.sh 300       (Berth alone)
#   SUBNET=10.236.0.0/16 bash bench/many.sh (the user network's subnet, if 10.233.0.0/16 is taken)
#   JOBS=4 bash bench/many.sh 1000         (starts 4 at a time: dockerd reaches 1000 in time,
#                                           but the start-time figures are then not per start)
#
# For each daemon:
#   - every `docker run -d` timed: the medians of the first 50 and the last 50 starts (and of
#     each further hundred, with the load then), the claim being that a start does not cost more
#     with many running; with JOBS=1 also the daemon's CPU time for each start (berthd; dockerd
#     with its containerd) by hundreds, steadier than the wall time under load;
#   - the kernel's share that grows with the containers whatever the engine: the host's mount
#     table (a runtime's clone(CLONE_NEWNS) copies all of it, and Berth's crun wrapper unshares
#     once more on hybrid cgroup hosts) and 50 `unshare -m true`'s CPU time, before and at N;
#   - at N: the daemon's own RSS (berthd; dockerd and its containerd), `docker ps -a` and
#     `GET /containers/json?all=1` (hyperfine medians, and the daemon's CPU time a call),
#     `docker stats --no-stream` over all N
#     (twice: its time, the daemon's CPU time meanwhile, and the rows the CLI left blank — it
#     blanks a container whose answer took over 2 s);
#   - the clients' own floor under each of these (Berth's half): `stats --no-stream`, `ps -a`
#     and curl's `GET /containers/json?all=1` against a fake daemon (bench/fake-engine.ts) that
#     answers at once with what Berth answered — what no daemon can go below;
#   - a restart with N running (live restore): the daemon stopped, started again, timed until
#     `docker ps` lists the N running again, with the new daemon's CPU time by then and its RSS
#     5 s later (berthd twice: from its bundle, then from its sources);
#   - at the end, Berth's figures over dockerd's.
# Needs root, hyperfine and, for the comparison, dockerd (Debian's docker.io). Check `free -m`
# first: N busybox containers take about 1 MB each under Berth and 4 MB under dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-1000}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
cleanup() {
  for s in "$BERTH_SOCK" "$DOCKERD_SOCK"; do
    [ -S "$s" ] || continue
    ids=$(docker -H "unix://$s" ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && echo "$ids" | xargs -r -n 100 docker -H "unix://$s" rm -f >/dev/null 2>&1 || true
    docker -H "unix://$s" network rm manynet >/dev/null 2>&1 || true
  done
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

# Berth makes the image; dockerd loads the same one.
start_berthd --bridge none --live-restore
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
daemons=(berth)
if [ "${DOCKERD:-1}" != 0 ] && command -v dockerd >/dev/null; then daemons+=(dockerd); fi

# kB resident of the daemon $1 (berthd; dockerd with its containerd).
daemon_rss() {
  local total=0 p
  if [ "$1" = berth ]; then p=$(cat "$WORK/berthd.pid"); else p="$(cat "$WORK/dockerd.pid") $(pgrep -f "containerd --config $WORK/dockerd-run" || true)"; fi
  for q in $p; do total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$q/status"))); done
  echo "$total"
}

# CPU time (user + system, ms) of daemon $1 so far (berthd; dockerd with its containerd).
daemon_cpu() {
  local total=0 p
  if [ "$1" = berth ]; then p=$(cat "$WORK/berthd.pid"); else p="$(cat "$WORK/dockerd.pid") $(pgrep -f "containerd --config $WORK/dockerd-run" || true)"; fi
  for q in $p; do total=$((total + $(awk '{print ($14 + $15) * 10}' "/proc/$q/stat"))); done
  echo "$total"
}

# The host's mount table and what copying it costs: "<mounts> mounts, unshare -m <ms>" — the CPU
# time (user + system) of `unshare -m true` over that of `unshare true`, a call, from 50 of each.
mount_cost() {
  # This shell's children's CPU time (it runs in a subshell of its own: $BASHPID, taken here).
  local me=$BASHPID a b c
  a=$(awk '{print ($16 + $17) * 10}' "/proc/$me/stat")
  for _ in $(seq 1 50); do unshare -m true; done
  b=$(awk '{print ($16 + $17) * 10}' "/proc/$me/stat")
  for _ in $(seq 1 50); do unshare true; done
  c=$(awk '{print ($16 + $17) * 10}' "/proc/$me/stat")
  echo "$(wc -l </proc/self/mountinfo) mounts, unshare -m $(awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { printf "%.1f ms CPU (unshare alone %.1f)", (b - a) / 50, (c - b) / 50 }')"
}

# Starts daemon $1 again (its roots and flags as before), in the background; berthd from its
# sources rather than its bundle when $2 is "sources".
restart_daemon() {
  if [ "$1" = berth ]; then
    local pid
    pid=$(cat "$WORK/berthd.pid")
    kill "$pid"
    while [ -e "/proc/$pid" ]; do sleep 0.05; done
    BERTH_DAEMON_BUNDLE=$([ "${2:-}" = sources ] && echo 0 || echo 1) ./bin/berthd --data-root "$WORK/berth" --exec-root "$WORK/berth-run" -H "unix://$BERTH_SOCK" --pidfile "$WORK/berthd.pid" \
      --log-level warn --bridge none --live-restore 2>>"$WORK/berthd.log" &
  else
    local pid
    pid=$(cat "$WORK/dockerd.pid")
    kill "$pid"
    while [ -e "/proc/$pid" ]; do sleep 0.05; done
    dockerd --data-root "$WORK/dockerd" --exec-root "$WORK/dockerd-run" -H "unix://$DOCKERD_SOCK" --pidfile "$WORK/dockerd.pid" \
      --bridge none --iptables=false --ip-masq=false --log-level warn --live-restore >>"$WORK/dockerd.log" 2>&1 &
  fi
  pids+=($!)
}

# The figures of daemon $1, printed as soon as its half is done.
summary() {
  local d=$1
  bin/node -e '
const fs = require("fs");
const [d, times, list, n, rss, stats, restart, restartCpu, load, apiCpu, psCpu, srcRestart, srcCpu, floor, floorList, restartRss, mounts0, mountsN] = process.argv.slice(1);
const medians = (f) => Object.fromEntries(JSON.parse(fs.readFileSync(f, "utf8")).results.map((x) => [x.command, (x.median * 1000).toFixed(1)]));
const fl = floorList && fs.existsSync(floorList) ? medians(floorList) : {};
const of = (k) => (fl[k] ? `, the client alone ${fl[k]} ms` : "");
const extra = (srcRestart ? `; from the sources (no bundle) ${srcRestart} ms (CPU ${srcCpu} ms)` : "") + (floor ? `; the docker CLI alone (fake daemon) ${floor}` : "");
// Each line: wall ms, the daemon CPU ms (- when starts overlapped), the load then, the network.
const rows = fs.readFileSync(times, "utf8").trim().split("\n").map((l) => l.split(" "));
const t = rows.map((r) => Number(r[0]));
const cpu = rows.map((r) => Number(r[1]));
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };
const first = med(t.slice(0, 50)), last = med(t.slice(-50));
const hundreds = [];
const cpuHundreds = [];
for (let i = 0; i < t.length; i += 100) {
  hundreds.push(`${i + 1}-${Math.min(i + 100, t.length)}: ${med(t.slice(i, i + 100))} (load ${rows[Math.min(i + 99, t.length - 1)][2]})`);
  const c = cpu.slice(i, i + 100);
  if (!c.some(Number.isNaN)) cpuHundreds.push((c.reduce((a, b) => a + b, 0) / c.length).toFixed(1));
}
const l = medians(list);
console.log(`${d} (${n} containers, load at ${n}: ${load}): start median first 50 ${first} ms, last 50 ${last} ms (${(last / first).toFixed(2)}x); by hundreds ${hundreds.join(", ")}`);
// Each half alone: what grows only on the user network is its bridge and veths, the kernel work.
const halves = ["none", "manynet"].map((net) => {
  const h = [];
  for (let i = 0; i < t.length; i += 100) h.push(med(rows.slice(i, i + 100).filter((r) => r[3] === net).map((r) => Number(r[0]))));
  return `--network ${net} ${h.join(", ")}`;
});
console.log(`${d}: start medians by hundreds, each half: ${halves.join("; ")}`);
if (cpuHundreds.length) console.log(`${d}: daemon CPU a start (mean ms) by hundreds ${cpuHundreds.join(", ")}`);
console.log(`${d}: the host before the starts ${mounts0}; at ${n} ${mountsN}`);
console.log(`${d}: RSS ${(rss / 1024).toFixed(0)} MB, ps -a ${l.ps} ms (daemon CPU ${psCpu} ms${of("ps")}), GET /containers/json?all=1 ${l.api} ms (daemon CPU ${apiCpu} ms${of("api")}), stats --no-stream ${stats}, restart ${restart} ms (CPU ${restartCpu} ms, RSS after ${restartRss} MB)${extra}`);
fs.writeFileSync(`${times}.json`, JSON.stringify({ ps: +l.ps, api: +l.api, "ps CPU": +psCpu, "api CPU": +apiCpu, stats: parseInt(stats), restart: +restart, ...(fl.ps ? { "ps floor": +fl.ps, "api floor": +fl.api, "stats floor": parseInt(floor) } : {}) }));
' "$d" "$WORK/$d.times" "$WORK/$d.list.json" "$N" "${result[$d.rss]}" "${result[$d.stats]}" "${result[$d.restart]}" "${result[$d.restartcpu]}" "${result[$d.load]}" "${result[$d.apicpu]}" "${result[$d.pscpu]}" \
    "${result[$d.restart.sources]:-}" "${result[$d.restart.sources.cpu]:-}" "$([ "$d" = berth ] && echo "${result[floor]:-}")" \
    "$([ "$d" = berth ] && echo "$WORK/floor.list.json")" "${result[$d.restart.rss]}" "${result[$d.mounts0]}" "${result[$d.mountsN]}"
}

declare -A result
for d in "${daemons[@]}"; do
  if [ "$d" = dockerd ]; then
    start_dockerd --live-restore
    docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null
    sock=$DOCKERD_SOCK
  else
    sock=$BERTH_SOCK
  fi
  h="unix://$sock"
  docker -H "$h" network create --subnet "${SUBNET:-10.233.0.0/16}" manynet >/dev/null
  echo "$d: load $(load) before $N starts" >&2
  : >"$WORK/$d.times"
  result[$d.mounts0]=$(mount_cost)
  # The daemon's processes, whose CPU time each start adds (one at a time only: JOBS=1).
  if [ "$d" = berth ]; then cpupids=$(cat "$WORK/berthd.pid"); else cpupids="$(cat "$WORK/dockerd.pid") $(pgrep -f "containerd --config $WORK/dockerd-run" || true)"; fi
  export h WORK d cpupids
  # shellcheck disable=SC2016 # expanded by the inner shell
  seq 1 "$N" | xargs -P "${JOBS:-1}" -I{} bash -c '
    i={}; net=none
    [ $((i % 2)) = 0 ] && net=manynet
    cpu() { local s=0 q; for q in $cpupids; do s=$((s + $(awk "{print (\$14 + \$15) * 10}" /proc/$q/stat))); done; echo $s; }
    [ "${JOBS:-1}" = 1 ] && c=$(cpu)
    t=$(date +%s%N)
    docker -H "$h" run -d --network "$net" busybox sleep 36000 >/dev/null
    echo "$((($(date +%s%N) - t) / 1000000)) $([ "${JOBS:-1}" = 1 ] && echo $(($(cpu) - c)) || echo -) $(cut -d" " -f1 /proc/loadavg) $net" >>"$WORK/$d.times"
    [ $((i % 100)) = 0 ] && echo "$d: $i started, load $(cut -d" " -f1-3 /proc/loadavg)" >&2
    true'
  sleep 2
  result[$d.load]=$(load)
  result[$d.mountsN]=$(mount_cost)
  result[$d.rss]=$(daemon_rss "$d")
  hyperfine -N --warmup 1 --runs 10 --export-json "$WORK/$d.list.json" \
    -n ps "docker -H $h ps -a" \
    -n api "curl -s --unix-socket $sock http://localhost/containers/json?all=1" >&2
  # The daemon's CPU time for one listing, which the load does not inflate as it does the wall
  # time: 20 API calls, then 10 `ps -a` (ms a call; dockerd's with its containerd).
  c=$(daemon_cpu "$d")
  for _ in $(seq 1 20); do curl -s -o /dev/null --unix-socket "$sock" "http://localhost/containers/json?all=1"; done
  result[$d.apicpu]=$(awk -v a="$c" -v b="$(daemon_cpu "$d")" 'BEGIN { printf "%.1f", (b - a) / 20 }')
  c=$(daemon_cpu "$d")
  for _ in $(seq 1 10); do docker -H "$h" ps -a >/dev/null; done
  result[$d.pscpu]=$(awk -v a="$c" -v b="$(daemon_cpu "$d")" 'BEGIN { printf "%.1f", (b - a) / 10 }')
  for run in 1 2; do
    c=$(daemon_cpu "$d")
    t=$(date +%s%N)
    docker -H "$h" stats --no-stream >"$WORK/$d.stats"
    result[$d.stats]+="${result[$d.stats]:+, }$(ms "$t") ms (CPU $(($(daemon_cpu "$d") - c)) ms, $(grep -c -- '^ *-- ' "$WORK/$d.stats" || true) of $(($(wc -l <"$WORK/$d.stats") - 1)) blank)"
  done
  echo "$d: stats ${result[$d.stats]}, load $(load)" >&2
  if [ "$d" = berth ]; then
    # The clients' own floor: the same commands against a fake daemon that answers at once
    # with what Berth answered (the list, one stats reply): `stats --no-stream` (twice), and
    # `ps -a` and curl's `GET /containers/json?all=1` (hyperfine medians, as above).
    curl -s --unix-socket "$sock" "http://localhost/v1.45/containers/json?all=1" >"$WORK/list.json"
    curl -s --unix-socket "$sock" "http://localhost/v1.45/version" >"$WORK/version.json"
    curl -s --unix-socket "$sock" "http://localhost/v1.45/containers/$(docker -H "$h" ps -lq)/stats?stream=0" >"$WORK/stats.json"
    rm -f "$WORK/fake.sock"
    bin/node bench/fake-engine.ts "$WORK/fake.sock" "$WORK" &
    fake=$!
    for _ in $(seq 1 100); do [ -S "$WORK/fake.sock" ] && break; sleep 0.05; done
    for run in 1 2; do
      t=$(date +%s%N)
      docker -H "unix://$WORK/fake.sock" stats --no-stream >/dev/null
      result[floor]+="${result[floor]:+, }$(ms "$t") ms"
    done
    hyperfine -N --warmup 1 --runs 10 --export-json "$WORK/floor.list.json" \
      -n ps "docker -H unix://$WORK/fake.sock ps -a" \
      -n api "curl -s --unix-socket $WORK/fake.sock http://localhost/containers/json?all=1" >&2
    kill "$fake"
    echo "the clients alone (a fake daemon answering at once): stats --no-stream ${result[floor]}, load $(load)" >&2
  fi
  # A restart, timed until `docker ps` lists the N running again, with the daemon's CPU time by
  # then; berthd also from its sources (no bundle), the module loading's share.
  for variant in bundle sources; do
    [ "$d" = berth ] || [ "$variant" = bundle ] || continue
    t=$(date +%s%N)
    restart_daemon "$d" "$variant"
    for _ in $(seq 1 6000); do
      [ "$(docker -H "$h" ps -q 2>/dev/null | wc -l)" = "$N" ] && break
      sleep 0.02
    done
    key=$d.restart$([ "$variant" = sources ] && echo .sources || true)
    result[$key]=$(ms "$t")
    result[$key.cpu]=$(daemon_cpu "$d")
    # What the restarted daemon holds at N, once settled (no container started since: the
    # figure a restart leaves, where the one above follows N starts).
    sleep 5
    result[$key.rss]=$(($(daemon_rss "$d") / 1024))
    echo "$d: restarted ($variant) in ${result[$key]} ms (CPU ${result[$key.cpu]} ms), RSS 5 s later ${result[$key.rss]} MB, load $(load)" >&2
  done
  result[$d.restartcpu]=${result[$d.restart.cpu]}
  summary "$d"
  docker -H "$h" ps -aq | xargs -r -n 100 docker -H "$h" rm -f >/dev/null
  # dockerd lets go of a removed container's endpoint a moment after the removal.
  for _ in $(seq 1 100); do
    docker -H "$h" network rm manynet >/dev/null 2>&1 && break
    sleep 0.2
  done
  if [ "$d" = dockerd ]; then kill "$(cat "$WORK/dockerd.pid")"; fi
done


# Berth's figures over dockerd's, from the same run.
if [ -f "$WORK/berth.times.json" ] && [ -f "$WORK/dockerd.times.json" ]; then
  bin/node -e '
const fs = require("fs");
const [b, d] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
const r = (k) => `${k} ${(b[k] / d[k]).toFixed(2)}x`;
console.log(`Berth / dockerd: ${["ps", "api", "ps CPU", "api CPU", "stats", "restart"].map(r).join(", ")}`);
// Above the floor of the clients (Berth run against the fake daemon): the share of the daemons.
const above = (k) => `${k} ${(b[k] - b[`${k} floor`]).toFixed(0)} / ${(d[k] - b[`${k} floor`]).toFixed(0)} ms`;
if (b["ps floor"]) console.log(`above the floor of the clients, Berth / dockerd: ${["ps", "api", "stats"].map(above).join(", ")}`);
' "$WORK/berth.times.json" "$WORK/dockerd.times.json"
fi
