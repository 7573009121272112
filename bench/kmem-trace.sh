#!/usr/bin/env bash
# Kernel memory per running container by call site: what is still allocated, after N `docker
# run -d --network none busybox sleep`, of what berthd and its descendants (monitors, crun, the
# containers' processes) allocated from the slab meanwhile — grouped (cgroups, network
# namespace, filesystems, seccomp, processes, the shrinker table) and by call site, per container.
#
#   bash bench/kmem-trace.sh [containers]                  (default 20)
#   BERTH_BASE=/work/main bash bench/kmem-trace.sh 20      (that checkout's berthd first, then this one's)
#
# Why not density.sh's slab lines: those count every allocation on the machine, and other work
# moves them by hundreds of kB a container under load. Here the kernel's kmem tracepoints
# (kmalloc, kmem_cache_alloc and their frees, and process forks, to know the daemon's
# descendants) are read from a tracing instance of the script's own in a private tracefs
# mount; an object counts when one of the daemon's processes allocated it and nobody freed it
# by the end (frees are counted whoever makes them: RCU callbacks run in any task). Slab only:
# vmalloc (seccomp's BPF program), pages (kmalloc above 8 kB shows as its own call site) and
# per-CPU areas are density.sh's breakdown. Needs root and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-20}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
# With BERTHD_ARGS='--userns-remap default', the remapped roots pass through here to their containers.
chmod 711 "$WORK"
pids=()
trap remove_all_and_stop EXIT

# One tracing session (in a mount namespace of its own, so the tracefs mount never reaches the
# host) around N starts on socket $2; the trace into $1.
trace_starts() {
  unshare -m --propagation private bash -c '
    set -e
    T=$1/tracefs; mkdir -p "$T"; mount -t tracefs nodev "$T"
    I=$T/instances/berth-kmem-$$; mkdir "$I"
    echo 131072 >"$I/buffer_size_kb"
    for e in kmem/kmalloc kmem/kfree kmem/kmem_cache_alloc kmem/kmem_cache_free sched/sched_process_fork; do echo 1 >"$I/events/$e/enable"; done
    echo 1 >"$I/tracing_on"
    for i in $(seq "$3"); do docker -H "unix://$2" run -d --network none busybox sleep 36000 >/dev/null; done
    sleep 3
    echo 0 >"$I/tracing_on"
    grep -h "^overrun" "$I"/per_cpu/cpu*/stats | grep -v " 0$" | sed "s/^/lost events: /" >&2 || true
    cat "$I/trace" >"$4"
    rmdir "$I"; umount "$T"
  ' _ "$WORK" "$2" "$N" "$1"
}

# The pids and thread ids of process $1 and its descendants, comma-separated.
descendants() {
  local all
  all=$(ps -e -o pid=,ppid= | awk -v r="$1" 'BEGIN {s[r] = 1} {p[$1] = $2} END {do {c = 0; for (x in p) if (!(x in s) && (p[x] in s)) {s[x] = 1; c = 1}} while (c); for (x in s) print x}')
  for p in $all; do ls "/proc/$p/task" 2>/dev/null; done | paste -sd,
}

# The live allocations of trace $1 made by the tasks $3 and their children, per container ($2).
live() {
  python3 - "$@" <<'EOF'
import collections, re, sys
trace, n, mine = sys.argv[1], float(sys.argv[2]), set(sys.argv[3].split(','))
rx = re.compile(r'^\s*\S+-(\d+)\s+\[\d+\]\s+\S+\s+[\d.]+: (\w+): (.*)$')
live = {}
for line in open(trace, errors='replace'):
    m = rx.match(line)
    if not m:
        continue
    pid, ev, rest = m.groups()
    f = dict(kv.split('=', 1) for kv in rest.split() if '=' in kv)
    if ev == 'sched_process_fork':
        if pid in mine or f.get('pid') in mine:
            mine.add(f['child_pid'])
    elif ev in ('kmalloc', 'kmem_cache_alloc'):
        if pid in mine:
            live[f['ptr']] = (f['call_site'].split('+')[0], f.get('name', 'kmalloc'), int(f['bytes_alloc']))
        else:
            live.pop(f['ptr'], None)
    elif ev in ('kfree', 'kmem_cache_free'):
        live.pop(f['ptr'], None)
def group(site, name):
    if site == 'alloc_shrinker_info': return "the shrinker table (its memory cgroup's, kmalloc-1k)"
    if re.search(r'cgroup|psi_|css|sched_group|cpuset|mem_cgroup|task_group|percpu_ref|kernfs', site): return 'cgroups (and kernfs: cgroup files, lo in sysfs)'
    if re.search(r'net|sysctl|sk_|sock|addrconf|devinet|neigh|fib|ipv|inet|nf_|unix|ip_set|nexthop|bucket_table|ops_init|rt6|icmp|tcp|udp|raw|mib|xfrm|dev_|__proc_create|ping', site) or name in ('net_namespace', 'RAWv6', 'sock_inode_cache', 'proc_dir_entry'): return 'network namespace'
    if re.search(r'bpf|seccomp', site): return 'seccomp'
    if re.search(r'super|vfsmnt|mnt|d_alloc|inode|ovl_|shmem|proc_alloc|lsm_inode|list_lru|xas_alloc|radix|buffer_head|es_insert|ext4', site): return 'filesystems (superblocks, mounts, inodes, dentries)'
    if re.search(r'copy_process|mm_|vm_area|mas_|anon_vma|fdtable|files|pipe|filp|alloc_empty_file|cred|pid|dup_fd|sighand|signal', site): return 'processes (tasks, memory maps, files, pipes)'
    return 'other'
groups, sites, count = collections.Counter(), collections.Counter(), collections.Counter()
for site, name, b in live.values():
    groups[group(site, name)] += b
    sites[(site, name)] += b
    count[(site, name)] += 1
print(f'  live slab objects: {sum(groups.values()) / 1024 / n:.1f} kB per container')
for k, v in groups.most_common():
    print(f'    {v / 1024 / n:7.1f} kB  {k}')
print('  call sites (kB and objects per container):')
for (s, name), v in sites.most_common(30):
    print(f'    {v / 1024 / n:7.2f} kB {count[(s, name)] / n:7.2f}  {s} ({name})')
EOF
}

# berthd named $1 from checkout $2 on its own roots under $WORK/$1, busybox loaded.
start_berth() {
  "$2/bin/berthd" --data-root "$WORK/$1/data" --exec-root "$WORK/$1/run" -H "unix://$WORK/$1.sock" \
    --pidfile "$WORK/$1.pid" --bridge none --log-level warn ${BERTHD_ARGS:-} 2>"$WORK/$1.log" &
  pids+=($!)
  wait_sock "$WORK/$1.sock"
  if [ -f "$WORK/busybox.tar" ]; then
    docker -H "unix://$WORK/$1.sock" load -i "$WORK/busybox.tar" >/dev/null
  else
    ./bin/berth -H "unix://$WORK/$1.sock" image bootstrap busybox >/dev/null
    docker -H "unix://$WORK/$1.sock" save busybox -o "$WORK/busybox.tar"
  fi
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
sides=()
[ -n "${BERTH_BASE:-}" ] && sides+=("base:$BERTH_BASE")
sides+=("berth:.")
for side in "${sides[@]}"; do
  name=${side%%:*}
  start_berth "$name" "${side#*:}"
  # One container first: the daemon's own first-use allocations are not a container's.
  docker -H "unix://$WORK/$name.sock" run --rm --network none busybox true
  tasks=$(descendants "$(cat "$WORK/$name.pid")")
  trace_starts "$WORK/$name.trace" "$WORK/$name.sock"
  echo "$name ($N containers; load $(cut -d' ' -f1-3 /proc/loadavg)):"
  live "$WORK/$name.trace" "$N" "$tasks"
  rm -f "$WORK/$name.trace"
  ids=$(docker -H "unix://$WORK/$name.sock" ps -aq)
  [ -n "$ids" ] && docker -H "unix://$WORK/$name.sock" rm -f $ids >/dev/null
done
