#!/usr/bin/env bash
# What `berthd --userns-remap` costs on the two ways its layers can be owned by the range:
# idmapped (layers unpacked as they are, each root file system an overlay of idmapped layers
# mounted by berth-idmount) against shifted (a chowned copy, dockerd's way, forced with
# BERTH_USERNS_IDMAP=0), with a plain berthd beside them. Three daemons side by side:
#   - `berth image bootstrap busybox` (one small layer), each daemon in turn;
#   - `docker pull` of a many-file image (/usr/include, /usr/share/doc, /usr/lib/python3 of this
#     machine: ~19 000 files, ~320 MB) from berth-registry on loopback, hyperfine, interleaved;
#   - the disk the layers take (du of overlay/layers) and what owns a layer's files;
#   - `docker run --rm busybox true` (the idmapped mount is one helper run per start).
#
#   bash bench/userns.sh [runs]     # 3 by default
#
# The load average is printed with each result. Everything is private and temporary; needs
# root, hyperfine; makes the dockremap user if it is missing (and leaves it, as dockerd does).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-3}
WORK=$(mktemp -d /tmp/berth-bench-userns-XXXXXX)
# The remapped roots pass through here to reach their containers' root file systems.
chmod 711 "$WORK"
pids=()
trap 'stop_daemons; rm -rf "$WORK"' EXIT
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# start NAME [flags...]: a berthd on $WORK/NAME, socket $WORK/NAME.sock.
start() {
  local name=$1
  shift
  ./bin/berthd --data-root "$WORK/$name" --exec-root "$WORK/$name-run" -H "unix://$WORK/$name.sock" \
    --pidfile "$WORK/$name.pid" --bridge none --log-level info "$@" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
  wait_sock "$WORK/$name.sock"
}
start plain
start idmapped --userns-remap default
BERTH_USERNS_IDMAP=0 start shifted --userns-remap default
grep -h 'image layers' "$WORK/idmapped.log" "$WORK/shifted.log" >&2
NAMES=(plain idmapped shifted)
cli() { docker -H "unix://$WORK/$1.sock" "${@:2}"; }
store() { [ "$1" = plain ] && echo "$WORK/plain" || echo "$WORK/$1/100000.100000"; }

echo "== bootstrap busybox (load $(loadavg))"
for i in $(seq 1 "$RUNS"); do
  for n in "${NAMES[@]}"; do
    cli "$n" image rm -f busybox >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    ./bin/berth -H "unix://$WORK/$n.sock" image bootstrap busybox >/dev/null
    echo "  $n run $i: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  done
done

read -r reg rpid < <(start_registry "$WORK/registry")
pids+=("$rpid")
tar -C / -cf "$WORK/files.tar" usr/include usr/share/doc usr/lib/python3
echo "== the image: $(tar -tf "$WORK/files.tar" | wc -l) entries, $(( $(stat -c %s "$WORK/files.tar") / 1000000 )) MB"
cli plain import "$WORK/files.tar" "$reg/bench/files:1" >/dev/null
cli plain push -q "$reg/bench/files:1" >/dev/null
rm -f "$WORK/files.tar"

echo "== pull (load $(loadavg))"
args=()
for n in "${NAMES[@]}"; do
  args+=(-n "$n" --prepare "docker -H unix://$WORK/$n.sock image rm -f $reg/bench/files:1" "docker -H unix://$WORK/$n.sock pull -q $reg/bench/files:1")
done
hyperfine -N --runs "$RUNS" "${args[@]}" >&2
echo "   (load after: $(loadavg))"

echo "== disk: overlay/layers of each store, and who owns /usr/include/stdio.h in its layer"
for n in "${NAMES[@]}"; do
  f=$(ls -d "$(store "$n")"/overlay/layers/*/diff/usr/include/stdio.h)
  echo "  $n: $(du -sm "$(store "$n")/overlay/layers" | cut -f1) MB, stdio.h $(stat -c %u:%g "$f"), /bin/busybox in a container $(cli "$n" run --rm busybox stat -c %u:%g /bin/busybox)"
done

echo "== docker run --rm busybox true (load $(loadavg))"
args=()
for n in "${NAMES[@]}"; do args+=(-n "$n" "docker -H unix://$WORK/$n.sock run --rm busybox true"); done
hyperfine -N --warmup 1 --runs $((RUNS * 5)) "${args[@]}" >&2
echo "   (load after: $(loadavg))"

echo "== the mount alone: berth-idmount (a 1-layer idmapped overlay) against mount(8) of a plain one, each unmounted (load $(loadavg))"
M=$WORK/m
mkdir -p "$M"/{l,u,w,t}
echo x >"$M/l/f"
hyperfine -N --warmup 3 --runs $((RUNS * 20)) \
  -n idmount "sh -c 'build/berth-idmount --uid-map 0:100000:65536 --gid-map 0:100000:65536 --lower $M/l --upper $M/u --work $M/w $M/t && umount $M/t'" \
  -n mount "sh -c 'mount -t overlay overlay -o lowerdir=$M/l,upperdir=$M/u,workdir=$M/w $M/t && umount $M/t'" >&2
echo "   (load after: $(loadavg))"
