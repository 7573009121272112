#!/usr/bin/env bash
# Where crun's create of a pooled sandbox spends its CPU: a private berthd (`--warm-pool 2
# --bridge none`) makes its pool, the spec of one of its sandboxes is taken (with its /etc files
# and a copy of its root's tree), and `crun create` of it is timed through build/berth-crun as
# the driver runs it (BERTH_CRUN=build/crun, BERTH_CRUN_COPY=1, BERTH_CRUN_SHARE as
# runtime/crun-shared.ts sets them, crun's --root and --log-format), with `perf stat -r N -e
# task-clock,page-faults` of the whole tree — the wrapper, crun, and the container's init until
# it waits at the exec FIFO (perf's counters follow the forks, and a live child's count is
# read with its parent's) — and `crun delete -f` after each run, outside the count. Then the
# same for variants of the spec with one feature out each (bench/crun-variants.ts): what each
# costs is the variant's CPU less the base's. Each round times every variant once (N creates),
# the order rotated round by round; the figures are medians over the rounds, and the
# differences the median of each round's difference, so the machine's load moves both sides.
#
#   bash bench/crun-create.sh [N per variant and round, 20] [rounds, 5]
#
# BERTH_BASE=<checkout>: the sandbox's spec is made by that checkout's berthd (main's spec as the
# base, say). VARIANTS="no-netns no-seccomp ..." limits the variants (base is always timed). REF=1 adds
# `/bin/true`, `build/crun --version` and `build/berth-crun --version` as references.
# PROFILE=1 then records `perf record -g` of ROUNDS × N base creates into $KEEP/perf.data
# (KEEP: a directory kept after the run). Needs root and perf.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-20}
ROUNDS=${2:-5}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
pids=()
ID=crunprof$$
export ID
cleanup() {
  build/crun --root="$WORK/state" delete -f "$ID" >/dev/null 2>&1 || true
  remove_all_and_stop
}
trap cleanup EXIT

# BERTH_BASE=<checkout>: the sandbox is made by that checkout's berthd (its spec as it writes it).
if [ -n "${BERTH_BASE:-}" ]; then
  pushd "$BERTH_BASE" >/dev/null
  start_berthd --warm-pool 2 --bridge none
  popd >/dev/null
else
  start_berthd --warm-pool 2 --bridge none
fi
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
# A pooled sandbox as the pool makes them once the seccomp filter is known (its compiled form in
# the spec's annotation): a container directory whose spec runs the zygote, its root mounted.
sandbox=
for _ in $(seq 20); do
  docker -H "unix://$BERTH_SOCK" run --rm --network none busybox true
  sleep 0.3
  for d in "$WORK"/berth/containers/*/; do
    if grep -q '"/.berth-zygote"' "$d/config.json" 2>/dev/null && grep -q seccomp_bpf_data "$d/config.json" &&
      [ -e "$d/rootfs/bin/busybox" ]; then sandbox=${d%/}; break; fi
  done
  [ -n "$sandbox" ] && break
done
[ -n "$sandbox" ] || { echo "no pooled sandbox in $WORK/berth/containers" >&2; exit 1; }
mkdir -p "$WORK/v/files" "$WORK/rootfs" "$WORK/state"
cp "$sandbox"/{hosts,hostname,resolv.conf} "$WORK/v/files/"
cp -a "$sandbox/rootfs/." "$WORK/rootfs/"
mapfile -t variants < <(bin/node bench/crun-variants.ts "$sandbox/config.json" "$WORK/v" "$(basename "$sandbox")" "$ID" "$WORK/rootfs")
share=$(tr '\0' '\n' <"/proc/$(pgrep -f -- "-c $(basename "$sandbox") " | head -1)/environ" | sed -n 's/^BERTH_CRUN_SHARE=//p')
echo "sandbox $(basename "$sandbox"), BERTH_CRUN_SHARE=${share:-none}; ${#variants[@]} variants, $N creates each a round, $ROUNDS rounds; load $(cut -d' ' -f1 /proc/loadavg)"

export BERTH_CRUN=$PWD/build/crun BERTH_CRUN_COPY=1
[ -n "$share" ] && export BERTH_CRUN_SHARE=$share
create=(build/berth-crun "--root=$WORK/state" --log-format=json create --pid-file "$WORK/pid")
post="build/crun --root=$WORK/state delete -f $ID"
# `stat VARIANT`: N creates of it, prints "task-clock-ms page-faults" (perf's means).
stat() {
  perf stat -x, -r "$N" -e task-clock,page-faults --post "$post" -- "${create[@]}" --bundle "$WORK/v/$1" "$ID" \
    </dev/null >/dev/null 2>"$WORK/perf.out" || { cat "$WORK/perf.out" >&2; return 1; }
  awk -F, '/task-clock/ {t=$1} /page-faults/ {f=$1} END {printf "%.2f %d\n", t, f}' "$WORK/perf.out"
}
stat_cmd() {
  perf stat -x, -r "$N" -e task-clock,page-faults -- "$@" >/dev/null 2>"$WORK/perf.out"
  awk -F, '/task-clock/ {t=$1} /page-faults/ {f=$1} END {printf "%.2f %d\n", t, f}' "$WORK/perf.out"
}
# Each variant created once (and the caches warmed): one crun refuses is left out, with its words.
ok=()
for v in "${variants[@]}"; do
  if "${create[@]}" --bundle "$WORK/v/$v" "$ID" </dev/null >/dev/null 2>"$WORK/err"; then ok+=("$v"); else echo "$v left out: $(cat "$WORK/err")" >&2; fi
  $post >/dev/null 2>&1 || true
done
variants=("${ok[@]}")
declare -A cpu faults
for r in $(seq 1 "$ROUNDS"); do
  n=${#variants[@]}
  for i in $(seq 0 $((n - 1))); do
    v=${variants[$(((i + r) % n))]}
    read -r t f < <(stat "$v")
    cpu[$v]+="$t "
    faults[$v]+="$f "
  done
  if [ "${REF:-0}" = 1 ]; then
    for ref in true crun berth-crun; do
      case $ref in true) cmd=(/bin/true) ;; crun) cmd=(build/crun --version) ;; *) cmd=(build/berth-crun --version) ;; esac
      read -r t f < <(stat_cmd "${cmd[@]}")
      cpu[ref:$ref]+="$t "
      faults[ref:$ref]+="$f "
    done
  fi
  echo "round $r done, load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
base_list=(${cpu[base]})
printf '%-24s %10s %14s %8s   %s\n' variant "CPU ms" "− base (med)" faults "per round"
keys=("${variants[@]}")
[ "${REF:-0}" = 1 ] && keys+=(ref:true ref:crun ref:berth-crun)
for v in "${keys[@]}"; do
  list=(${cpu[$v]})
  diffs=""
  for i in "${!list[@]}"; do diffs+="$(awk -v a="${list[$i]}" -v b="${base_list[$i]}" 'BEGIN {printf "%.2f", a - b}') "; done
  printf '%-24s %10s %14s %8s   %s\n' "$v" "$(echo "${cpu[$v]}" | median)" "$(echo "$diffs" | median)" "$(echo "${faults[$v]}" | median)" "${cpu[$v]}"
done
echo "load at the end $(cut -d' ' -f1 /proc/loadavg)"

if [ "${PROFILE:-0}" = 1 ]; then
  KEEP=${KEEP:-/tmp/crun-create-profile}
  mkdir -p "$KEEP"
  # The deletes run as `crundel` (a link to crun): their samples are told apart by the command's name.
  ln -sf "$PWD/build/crun" "$WORK/crundel"
  perf record -q -g ${CALLGRAPH:+--call-graph "$CALLGRAPH"} -e task-clock -o "$KEEP/perf.data" -- bash -c '
    for _ in $(seq 1 "$1"); do "${@:3}" --bundle "$2/v/base" "$ID" </dev/null >/dev/null; "$2/crundel" --root="$2/state" delete -f "$ID"; done
  ' loop $((ROUNDS * N)) "$WORK" "${create[@]}"
  echo "profile: $KEEP/perf.data"
fi
