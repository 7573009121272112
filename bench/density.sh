#!/usr/bin/env bash
# The per-container monitor: memory per running container and start cost, berthd under conmon
# (`--monitor conmon`), berthd under its own monitor (`--monitor berth`) and dockerd, in one run.
#
#   bash bench/density.sh [containers] [runs]        (default 100 containers, 20 runs; the quiet
#                                                    check of issue 15's 0.5 MB target: 100 15, twice)
#   DOCKERD=0 bash bench/density.sh 300 20          (Berth alone: a quicker look at many containers)
#   BERTH_BASE=/work/main CONMON=0 DOCKERD=0 bash bench/density.sh 100 5
#                                                    (this checkout against another, A/B in one run;
#                                                    REVERSE=1 measures them in the other order)
#
# 1. Start cost: `docker run --rm --network none busybox true` against the three daemons, one
#    hyperfine (medians; ratios against dockerd and between the two monitors).
# 2. Memory: each daemon in turn starts N `busybox sleep` containers (`--network none`);
#    MemAvailable is read before and after with the page cache dropped (`echo 3 >
#    drop_caches`, the median of five reads), the drop divided by N. Beside it, what the
#    monitor processes hold of their own (anonymous memory and page tables, from
#    /proc/<pid>/status), summed and divided by N: conmon, berth-monitor, or dockerd's
#    containerd-shim-runc-v2; and what the container's memory cgroup is charged. Other work on
#    the machine moves MemAvailable: the other two figures are the steadier ones; the load
#    average is printed with the results.
#    Then the breakdown of that cost, per container (BREAKDOWN=0 skips it): the /proc/meminfo
#    fields that moved (AnonPages, Slab = SReclaimable + SUnreclaim, KernelStack, PageTables,
#    Shmem, Percpu), the slab caches that grew most (objects per container × object size: a
#    count of kernel objects, which other work on the machine moves less than MemAvailable), the
#    monitor's and the container's init's private memory (smaps_rollup's Pss_Anon, and VmPTE),
#    the container's memory cgroup (memory.stat's rss and the kernel memory charged to it), the
#    monitor's open files, and the mount count of the first container's mount namespace with 1
#    and with N running (a count that grows with N would mean every container holds copies of
#    the others' mounts).
# 3. Start cost again with the N containers running (issue 15's fifth target: a start should not
#    cost more when many containers run).
#
# Each daemon runs privately on a temporary root. Needs root, hyperfine, conmon, dockerd
# (Debian's docker.io; without it Berth's two monitors are compared alone).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-100}
RUNS=${2:-20}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
# With BERTHD_ARGS='--userns-remap default', the remapped roots pass through here to their containers.
chmod 711 "$WORK"
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
trap remove_all_and_stop EXIT

# berthd named $1 with monitor $2 (default $1), from checkout $3 (default this one), on its own
# roots under $WORK/$1.
start_berth() {
  "${3:-.}/bin/berthd" --data-root "$WORK/$1/data" --exec-root "$WORK/$1/run" -H "unix://$WORK/$1.sock" \
    --pidfile "$WORK/$1.pid" --bridge none --log-level warn --monitor "${2:-$1}" ${BERTHD_ARGS:-} 2>"$WORK/$1.log" &
  pids+=($!)
  wait_sock "$WORK/$1.sock"
}

start_berth conmon
start_berth berth
./bin/berth -H "unix://$WORK/conmon.sock" image bootstrap busybox >/dev/null
docker -H "unix://$WORK/conmon.sock" save busybox -o "$WORK/busybox.tar"
docker -H "unix://$WORK/berth.sock" load -i "$WORK/busybox.tar" >/dev/null
daemons=(conmon berth)
# BERTH_BASE=<checkout>: that checkout's berthd with its own monitor beside this one's ("base"),
# measured in the same run — a change to what a container costs, A/B.
if [ -n "${BERTH_BASE:-}" ]; then
  start_berth base berth "$BERTH_BASE"
  docker -H "unix://$WORK/base.sock" load -i "$WORK/busybox.tar" >/dev/null
  daemons+=(base)
fi
if [ "${CONMON:-1}" = 0 ]; then
  daemons=("${daemons[@]:1}")
fi
# REVERSE=1: the memory measured in the opposite order (a second A/B run, so that neither side
# always comes first on a machine whose load moves).
if [ "${REVERSE:-0}" = 1 ]; then
  reversed=()
  for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do reversed+=("${daemons[i]}"); done
  daemons=("${reversed[@]}")
fi
if [ "${DOCKERD:-1}" = 0 ]; then
  echo "DOCKERD=0: comparing Berth's two monitors alone" >&2
elif command -v dockerd >/dev/null; then
  start_dockerd
  docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null
  daemons+=(dockerd)
else
  echo "dockerd is not installed (apt-get install docker.io): comparing Berth's two monitors alone" >&2
fi
sock() { echo "$WORK/$1.sock"; }

# Start cost, the three daemons in one hyperfine run; $1 names the result file.
time_starts() {
  local cmds=()
  for d in "${daemons[@]}"; do
    cmds+=(-n "$d" "docker -H unix://$(sock "$d") run --rm --network none busybox true")
  done
  hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/$1.json" "${cmds[@]}" >&2
}

mem_available() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
  sleep 1
  for _ in 1 2 3 4 5; do
    awk '/^MemAvailable:/ {print $2}' /proc/meminfo
    sleep 0.2
  done | sort -n | sed -n 3p
}

# The /proc/meminfo fields and slab object counts into $1.mem and $1.slab, the page cache
# dropped first (as mem_available does).
snapshot() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
  sleep 1
  grep -E '^(MemAvailable|MemFree|AnonPages|Slab|SReclaimable|SUnreclaim|KernelStack|PageTables|Shmem|Percpu|VmallocUsed|Active|Inactive|Unevictable):' /proc/meminfo |
    tr -d ':' | awk '{print $1, $2}' | sort >"$1.mem"
  awk 'NR > 2 {print $1, $2, $4}' /proc/slabinfo | sort >"$1.slab"
  # vmalloc'd bytes by the function that asked (seccomp's BPF programs are bpf_prog_alloc's).
  awk '$3 ~ /\+/ {sub(/\+.*/, "", $3); b[$3] += $2} END {for (k in b) print k, b[k]}' /proc/vmallocinfo | sort >"$1.vmalloc"
  awk '$1 == "memory" {print $3}' /proc/cgroups >"$1.memcg"
}

# The monitor processes of daemon $1 (pids).
monitor_pids() {
  local pattern
  case $1 in
    conmon) pattern='^/usr/bin/conmon' ;;
    berth) pattern='/build/berth-monitor' ;;
    dockerd) pattern='containerd-shim-runc-v2' ;;
    base) pattern='/build/berth-monitor' ;;
  esac
  for p in $(pgrep -f "$pattern" || true); do
    tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q "$WORK/$1" && echo "$p"
  done
  return 0
}

# Pss_Anon and VmPTE (kB) of processes $@, averaged: "anon pte count".
private_kb() {
  local anon=0 pte=0 count=0
  for p in "$@"; do
    a=$(awk '/^Pss_Anon:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
    t=$(awk '/^VmPTE:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    anon=$((anon + ${a:-0}))
    pte=$((pte + ${t:-0}))
    count=$((count + 1))
  done
  [ "$count" -gt 0 ] && echo "$((anon / count)) $((pte / count)) $count" || echo "0 0 0"
}

# Until the kernel has freed what removed containers held: their memory cgroups go on dying
# (and their slab objects with them) for seconds after `docker rm`, and counted in the next
# daemon's before/after they would make its containers look cheaper. Waits while the number of
# memory cgroups falls, at most a minute.
settle() {
  local last now
  last=$(awk '$1 == "memory" {print $3}' /proc/cgroups)
  for _ in $(seq 1 20); do
    sync
    echo 3 >/proc/sys/vm/drop_caches
    sleep 3
    now=$(awk '$1 == "memory" {print $3}' /proc/cgroups)
    [ "$now" -lt "$last" ] || break
    last=$now
  done
}

# kB the kernel gives each new memory cgroup for its shrinker table: one 1 kB kmalloc-1k object
# per 64 of the most memcg-aware shrinkers (one per mounted filesystem: each container's overlay,
# proc, sysfs, mqueue, devpts and tmpfs) ever registered at once since boot — it never shrinks.
# On a host that once ran a thousand containers this alone is ~300 kB a container: the reading
# says how much of a container's cost is this machine's history. Ten probe cgroups, removed.
shrinker_table_kb() {
  local mem=/sys/fs/cgroup/memory a b
  [ -d "$mem" ] || mem=/sys/fs/cgroup
  a=$(awk '$1 == "kmalloc-1k" {print $2}' /proc/slabinfo)
  for i in $(seq 10); do mkdir "$mem/berth-bench-probe-$$-$i"; done
  b=$(awk '$1 == "kmalloc-1k" {print $2}' /proc/slabinfo)
  for i in $(seq 10); do rmdir "$mem/berth-bench-probe-$$-$i"; done
  echo $(((b - a) / 10))
}

# kB of anonymous memory of daemon $1's own process (berthd, or dockerd with its containerd).
daemon_anon_kb() {
  local total=0 p
  for p in $(cat "$WORK/$1.pid" 2>/dev/null) $([ "$1" = dockerd ] && pgrep -f "containerd --config $WORK/dockerd-run" || true); do
    total=$((total + $(awk '/^RssAnon:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# What N containers of daemon $1 cost, per container: the breakdown the header describes.
# $2 and $3 are the snapshots before and after; $4 the first container's mount count with 1 running.
breakdown() {
  local d=$1 s
  s=$(sock "$d")
  echo "$d breakdown, per container ($N running; load $(cut -d' ' -f1-3 /proc/loadavg)):"
  join "$2.mem" "$3.mem" | awk -v n="$N" '$1 ~ /^Mem/ {printf "  %-13s %8.1f kB less\n", $1, ($2 - $3) / n} $1 !~ /^Mem/ {printf "  %-13s %+8.1f kB\n", $1, ($3 - $2) / n}'
  # Where the free pages went: the LRU lists (process and file pages, shmem), slab, stacks, page
  # tables, per-cpu areas and vmalloc (less the kernel stacks, which are vmalloc'd and counted in
  # both); what is left is memory no /proc/meminfo field names — the kernel's pages taken
  # straight from the page allocator (kmalloc above 8 kB, pipe buffers, network buffers ...).
  join "$2.mem" "$3.mem" | awk -v n="$N" '{d[$1] = ($3 - $2) / n}
    END {
      lru = d["Active"] + d["Inactive"] + d["Unevictable"]; vm = d["VmallocUsed"] - d["KernelStack"]
      rest = -d["MemFree"] - lru - d["Slab"] - d["KernelStack"] - d["PageTables"] - d["Percpu"] - vm
      printf "  MemFree %.1f kB less: LRU pages %+.1f, Slab %+.1f, KernelStack %+.1f, PageTables %+.1f, Percpu %+.1f, vmalloc beyond stacks %+.1f, in no field %+.1f kB\n", -d["MemFree"], lru, d["Slab"], d["KernelStack"], d["PageTables"], d["Percpu"], vm, rest
    }'
  echo "  vmalloc that grew most (kB per container, by the function that asked):"
  join -a 2 -e 0 -o 0,1.2,2.2 "$2.vmalloc" "$3.vmalloc" | awk -v n="$N" '{kb = ($3 - $2) / n / 1024; if (kb >= 0.5 || kb <= -0.5) printf "    %-28s %+7.1f kB\n", $1, kb}' |
    sort -k2 -g -r | head -5
  echo "  slab caches that grew most (objects in use per container × size):"
  join "$2.slab" "$3.slab" | awk -v n="$N" '{d = ($4 - $2) / n; kb = d * $3 / 1024; if (kb >= 0.5 || kb <= -0.5) printf "    %-24s %+7.2f × %5d B = %+7.1f kB\n", $1, d, $3, kb}' |
    sort -t= -k2 -g -r | head -"${SLABS:-16}"
  join "$2.slab" "$3.slab" | awk -v n="$N" '{t += ($4 - $2) * $3} END {printf "    all slab objects: %+.1f kB\n", t / n / 1024}'
  local ids pids
  ids=$(docker -H "unix://$s" ps -q)
  pids=$(docker -H "unix://$s" inspect -f '{{.State.Pid}}' $ids)
  read -r a t c < <(private_kb $(monitor_pids "$d"))
  local monitor=$((a + t))
  echo "  monitor ($c; more than N when a warm pool holds some): Pss_Anon $a kB, page tables $t kB, $(ls "/proc/$(monitor_pids "$d" | head -1)/fd" | wc -l) open files"
  read -r a t c < <(private_kb $pids)
  echo "  container's init ($c): Pss_Anon $a kB, page tables $t kB"
  local rss=0 kmem=0 cnt=0
  for pid in $pids; do
    rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "/proc/$pid/cgroup")
    if [ -n "$rel" ] && [ -r "/sys/fs/cgroup/memory$rel/memory.stat" ]; then
      rss=$((rss + $(awk '$1 == "rss" {print $2}' "/sys/fs/cgroup/memory$rel/memory.stat") / 1024))
      kmem=$((kmem + $(cat "/sys/fs/cgroup/memory$rel/memory.kmem.usage_in_bytes") / 1024))
    else
      rel=$(awk -F: '$1 == "0" {print $3}' "/proc/$pid/cgroup")
      rss=$((rss + $(awk '$1 == "anon" {print $2}' "/sys/fs/cgroup$rel/memory.stat") / 1024))
      kmem=$((kmem + $(awk '$1 == "kernel" {print $2}' "/sys/fs/cgroup$rel/memory.stat") / 1024))
    fi
    cnt=$((cnt + 1))
  done
  [ "$cnt" -gt 0 ] && echo "  container's memory cgroup: rss $((rss / cnt)) kB, kernel memory $((kmem / cnt)) kB (its stacks, page tables, namespaces' objects)"
  # What is measured per object, summed: the monitor's own pages and its kernel stack (16 kB),
  # and all the container's cgroup is charged; the namespaces' objects not charged to it (the
  # slab lines above without -cg-) come on top.
  local daemon=$((($(daemon_anon_kb "$d") - $5) / N))
  [ "$cnt" -gt 0 ] && echo "  measured per object: monitor $monitor + 16 kB kernel stack, container's cgroup $(((rss + kmem) / cnt)) kB, the daemon's heap $daemon kB: $((monitor + 16 + (rss + kmem) / cnt + daemon)) kB (the kernel's objects not charged to the cgroup come on top)"
  local first_pid
  first_pid=$(docker -H "unix://$s" inspect -f '{{.State.Pid}}' "$(cat "$WORK/$d.first")")
  echo "  memory cgroups: $(awk -v n="$N" -v a="$(cat "$2.memcg")" '{printf "%+.2f", ($1 - a) / n}' "$3.memcg") per container (each holds the kernel's shrinker table, the last line)"
  echo "  first container's mounts: $4 with 1 running, $(wc -l <"/proc/$first_pid/mountinfo") with $N"
  # Its filesystems of its own: its root's and the devices (superblocks) of mounts the host has none of.
  # Each costs a superblock, its root inode and dentry, and a shrinker id: the id widens every
  # memory cgroup's shrinker table (the last line) for as long as the machine runs.
  echo "  first container's superblocks: $(awk 'NR == FNR {host[$3] = 1; next} ($5 == "/" || !($3 in host)) && !seen[$3]++ {n++; for (i = 7; $i != "-"; i++); t = t " " $(i + 1) ":" $5} END {print n t}' /proc/self/mountinfo "/proc/$first_pid/mountinfo")"
  echo "  the daemon's own anonymous memory: $daemon kB per container (berthd's V8 heap, dockerd's and containerd's Go heaps: they move with their collections)"
}

# kB of anonymous memory and page tables of the monitor processes of daemon $1, and their count.
monitor_kb() {
  local total=0 count=0
  for p in $(monitor_pids "$1"); do
    kb=$(awk '/^(RssAnon|VmPTE):/ {s += $2} END {print s + 0}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + kb))
    count=$((count + 1))
  done
  echo "$total $count"
}

# kB of memory charged to the memory cgroups of daemon $1's containers (their processes and the
# kernel memory charged with them), summed.
cgroup_kb() {
  local total=0
  for pid in $(docker -H "unix://$(sock "$1")" inspect -f '{{.State.Pid}}' $(docker -H "unix://$(sock "$1")" ps -q)); do
    local rel
    rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3} $1 == "0" && $2 == "" {v2 = $3} END {if (v2 != "") print v2}' "/proc/$pid/cgroup" | head -1)
    local f=/sys/fs/cgroup/memory$rel/memory.usage_in_bytes
    [ -r "$f" ] || f=/sys/fs/cgroup$rel/memory.current
    [ -r "$f" ] && total=$((total + $(cat "$f") / 1024))
  done
  echo "$total"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ "${BREAKDOWN:-1}" = 0 ] || shrinker_before=$(shrinker_table_kb)
time_starts idle
declare -A per_container monitor_per cgroup_per
for d in "${daemons[@]}"; do
  before=$(mem_available)
  [ "${BREAKDOWN:-1}" = 0 ] || snapshot "$WORK/$d.before"
  daemon_before=$(daemon_anon_kb "$d")
  docker -H "unix://$(sock "$d")" run -d --network none busybox sleep 36000 >"$WORK/$d.first"
  first_mounts=$(wc -l <"/proc/$(docker -H "unix://$(sock "$d")" inspect -f '{{.State.Pid}}' "$(cat "$WORK/$d.first")")/mountinfo")
  for i in $(seq 2 "$N"); do
    docker -H "unix://$(sock "$d")" run -d --network none busybox sleep 36000 >/dev/null
  done
  sleep 2
  after=$(mem_available)
  if [ "${BREAKDOWN:-1}" != 0 ]; then
    snapshot "$WORK/$d.after"
    breakdown "$d" "$WORK/$d.before" "$WORK/$d.after" "$first_mounts" "$daemon_before" >"$WORK/$d.breakdown"
  fi
  per_container[$d]=$(((before - after) / N))
  read -r kb count < <(monitor_kb "$d")
  monitor_per[$d]=$((count > 0 ? kb / count : 0))
  cgroup_per[$d]=$(($(cgroup_kb "$d") / N))
  echo "$d: $N containers, MemAvailable $before → $after kB; $count monitors, $kb kB of their own" >&2
  if [ "$d" != "${daemons[-1]}" ]; then
    docker -H "unix://$(sock "$d")" rm -f $(docker -H "unix://$(sock "$d")" ps -aq) >/dev/null
    settle
  fi
done
# The last daemon's N containers still run; the others get theirs again, then every daemon
# starts with N of its own running.
for d in "${daemons[@]}"; do
  if [ "$d" != "${daemons[-1]}" ]; then
    for i in $(seq 1 "$N"); do
      docker -H "unix://$(sock "$d")" run -d --network none busybox sleep 36000 >/dev/null
    done
  fi
done
time_starts busy
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for d in "${daemons[@]}"; do
  echo "$d memory: ${per_container[$d]} kB per container (MemAvailable), monitor's own ${monitor_per[$d]} kB, container's cgroup ${cgroup_per[$d]} kB"
done
if [ "${BREAKDOWN:-1}" != 0 ]; then
  for d in "${daemons[@]}"; do cat "$WORK/$d.breakdown"; done
  echo "the kernel's shrinker table: ~$shrinker_before kB per new memory cgroup before the run, ~$(shrinker_table_kb) kB after (kmalloc-1k; each container has one memory cgroup, and no daemon can shrink this: a reboot does)"
fi
bin/node -e '
const fs = require("fs");
const [idle, busy, n] = [process.argv[1], process.argv[2], process.argv[3]];
const med = (f) => Object.fromEntries(JSON.parse(fs.readFileSync(f, "utf8")).results.map((x) => [x.command, x.median * 1000]));
const a = med(idle), b = med(busy);
for (const k of Object.keys(a)) console.log(`${k} start: median ${a[k].toFixed(1)} ms idle, ${b[k].toFixed(1)} ms with ${n} running (${(b[k] / a[k]).toFixed(2)}x)`);
if (a.dockerd) for (const k of ["conmon", "berth", "base"].filter((k) => a[k])) console.log(`ratio ${k}/dockerd: ${(a[k] / a.dockerd).toFixed(3)} idle, ${(b[k] / b.dockerd).toFixed(3)} busy`);
if (a.conmon) console.log(`ratio berth-monitor/conmon: ${(a.berth / a.conmon).toFixed(3)} idle, ${(b.berth / b.conmon).toFixed(3)} busy`);
if (a.base) console.log(`ratio berth/base: ${(a.berth / a.base).toFixed(3)} idle, ${(b.berth / b.base).toFixed(3)} busy`);
' "$WORK/idle.json" "$WORK/busy.json" "$N"
