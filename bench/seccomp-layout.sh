#!/usr/bin/env bash
# libseccomp's two layouts of the filter a Berth container gets (Docker's default profile as
# crun compiles it): crun's linear list and the binary tree (SCMP_FLTATR_CTL_OPTIMIZE = 2).
#   1. A private berthd runs one container; its spec's linux.seccomp is compiled by
#      bench/seccomp-layout.c both ways, and the linear program is checked to be, byte for
#      byte, the one crun compiled for that container (berthd keeps it in <exec-root>/seccomp).
#   2. Instructions of each (the kernel keeps a copy: above 8192 bytes it is a 16 kB allocation),
#      and whether the two answer every syscall alike (bench/seccomp-bpf.ts).
#   3. The vmalloc'd program per filter: 10 processes under each, /proc/vmallocinfo's new bpf entries.
#   4. ns a call of system-call loops (bench/seccomp-probe.c) with no filter, the linear one and
#      the tree, interleaved round by round (min and median): getpid (allowed: the kernel's action
#      cache answers it without running the filter), personality(1) (its answer reads the
#      argument), setns (refused: Docker's profile lists it only with CAP_SYS_ADMIN, so it
#      falls to the default; containers-common had a rule refusing it), a number no profile
#      knows (the end of the linear list) and x32's getpid.
#
#   bash bench/seccomp-layout.sh [rounds]      (default 15; CALLS=200000 a loop)
# Needs root, libseccomp-dev and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-15}
CALLS=${CALLS:-200000}
[ -f /usr/include/seccomp.h ] || {
  echo "needs libseccomp-dev: apt-get install libseccomp-dev" >&2
  exit 1
}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
pids=()
sleepers=()
trap 'kill "${sleepers[@]}" 2>/dev/null || true; remove_all_and_stop' EXIT
cc -O2 -Wall -o "$WORK/layout" bench/seccomp-layout.c -lseccomp
cc -O2 -Wall -static -o "$WORK/probe" bench/seccomp-probe.c
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $("$WORK/layout" --version)"

start_berthd --bridge none
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
id=$(docker -H "unix://$BERTH_SOCK" create --network none busybox true)
docker -H "unix://$BERTH_SOCK" start "$id" >/dev/null
config=$(grep -l seccomp $(find "$WORK/berth" "$WORK/berth-run" -name config.json) | head -1)
# The spec's linux.seccomp in seccomp-layout.c's line format.
bin/node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).linux.seccomp;
  const errno = (v) => (v === undefined ? "-" : String(v));
  const out = [`default ${s.defaultAction} ${errno(s.defaultErrnoRet)}`, ...(s.architectures ?? []).map((a) => `arch ${a}`)];
  for (const r of s.syscalls ?? []) {
    out.push(["rule", r.action, errno(r.errnoRet), ...r.names].join(" "));
    for (const a of r.args ?? []) out.push(`arg ${a.index} ${a.op} ${a.value} ${a.valueTwo ?? 0}`);
  }
  console.log(out.join("\n"));
' "$config" >"$WORK/profile"
"$WORK/layout" -O1 "$WORK/linear.bpf" <"$WORK/profile" >/dev/null
"$WORK/layout" "$WORK/tree.bpf" <"$WORK/profile" >/dev/null
crun=$(ls "$WORK"/berth-run/seccomp/*.bpf 2>/dev/null | head -1)
if [ -n "$crun" ] && cmp -s "$crun" "$WORK/linear.bpf"; then
  echo "the linear program is crun's own for this container, byte for byte"
else
  echo "the linear program differs from crun's (${crun:-none kept}): the figures below are not crun's"
fi
echo "instructions: linear $(($(stat -c %s "$WORK/linear.bpf") / 8)), tree $(($(stat -c %s "$WORK/tree.bpf") / 8))"
bin/node bench/seccomp-bpf.ts compare "$WORK/linear.bpf" "$WORK/tree.bpf" || true
bin/node bench/seccomp-bpf.ts runs "$WORK/linear.bpf"

for layout in linear tree; do
  grep bpf /proc/vmallocinfo | sort >"$WORK/vm.before"
  for _ in $(seq 10); do
    "$WORK/layout" --load "$WORK/$layout.bpf" /bin/sleep 60 &
    sleepers+=($!)
  done
  sleep 1
  echo "$layout: vmalloc'd for 10 filters (size with its guard page, count, caller):"
  grep bpf /proc/vmallocinfo | sort | comm -13 "$WORK/vm.before" - | awk '{print "  ", $2, $3}' | sort | uniq -c
  kill "${sleepers[@]}" 2>/dev/null || true
  wait "${sleepers[@]}" 2>/dev/null || true
  sleepers=()
done

loops="loop:$CALLS:39 loop:$CALLS:135:1 loop:$CALLS:308:0:0 loop:$CALLS:1000 loop:$CALLS:0x40000027"
for _ in $(seq "$ROUNDS"); do
  "$WORK/probe" $loops | sed 's/^/none /'
  for layout in linear tree; do "$WORK/layout" --load "$WORK/$layout.bpf" "$WORK/probe" $loops | sed "s/^/$layout /"; done
done >"$WORK/rounds"
python3 - "$WORK/rounds" <<'EOF'
import collections, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, item, v = line.split()
    d[(item.split(':', 2)[2], side)].append(float(v))
names = {'39': 'getpid', '135:1': 'personality(1)', '308:0:0': 'setns', '1000': 'unknown 1000', '0x40000027': "x32's getpid"}
print('ns a call, min / median of', len(d[('39', 'none')]), 'rounds:')
for item, name in names.items():
    cells = []
    for side in ('none', 'linear', 'tree'):
        v = sorted(d[(item, side)])
        cells.append(f'{side} {v[0]:.0f} / {v[len(v) // 2]:.0f}')
    print(f'  {name:16} ' + ', '.join(cells))
EOF
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
