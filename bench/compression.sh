#!/usr/bin/env bash
# zstd against gzip for `berth push --compression` and the pull of what it pushed: the
# compressed size, the first push (compress while uploading), a later push (the kept form,
# only uploaded) and the pull (download, decompress, unpack), medians, zstd / gzip ratios.
#
#   bash bench/compression.sh [runs] [payload sizes in MiB]      # defaults: 3 "64 248"
#
# The payload is real files from /usr (libraries, binaries, shared data) up to the size, so it
# compresses as images do (random bytes would not compress at all). Each run pulls the image
# first from an origin registry (pulled layers have no kept compressed form), then pushes it to
# a fresh registry; everything is private and temporary. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-3}
SIZES=${2:-64 248}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
pids=()
regs=()
cleanup() {
  for p in "${regs[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT

ms_of() { local t0; t0=$(date +%s%N); "$@" >/dev/null; echo $(( ($(date +%s%N) - t0) / 1000000 )); }
layer_size() { # registry repo → compressed size of the image's last layer
  curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$1/v2/$2/manifests/1" | bin/node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>{const m=JSON.parse(s);console.log(m.layers.at(-1).size)})'
}

start_berthd --bridge none
B=(docker -H "unix://$BERTH_SOCK")
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
read -r origin opid < <(start_registry "$WORK/origin"); regs+=("$opid")

for MIB in $SIZES; do
  mkdir -p "$WORK/ctx-$MIB/payload"
  find /usr/lib/x86_64-linux-gnu /usr/bin /usr/share -xdev -type f -size -32M -printf '%s %p\n' 2>/dev/null |
    awk -v max=$((MIB * 1048576)) '{ if (sum + $1 > max) exit; sum += $1; sub(/^[0-9]+ /, ""); print }' >"$WORK/files-$MIB" ||
    true # find is cut off (SIGPIPE) once awk has enough
  tar -cf - -T "$WORK/files-$MIB" 2>/dev/null | tar -xf - -C "$WORK/ctx-$MIB/payload"
  printf 'FROM busybox\nCOPY payload /payload\n' >"$WORK/ctx-$MIB/Dockerfile"
  "${B[@]}" build -q -t "$origin/bench/c$MIB:1" "$WORK/ctx-$MIB" >/dev/null
  plain=$(du -sb "$WORK/ctx-$MIB/payload" | cut -f1)
  "${B[@]}" push -q "$origin/bench/c$MIB:1" >/dev/null
  "${B[@]}" rmi "$origin/bench/c$MIB:1" >/dev/null
  rm -rf "$WORK/ctx-$MIB"
  for comp in gzip zstd; do
    first=() later=() pulls=() size=0
    for i in $(seq 1 "$RUNS"); do
      "${B[@]}" pull -q "$origin/bench/c$MIB:1" >/dev/null
      read -r q qpid < <(start_registry "$WORK/q-$comp-$i"); regs+=("$qpid")
      read -r q2 q2pid < <(start_registry "$WORK/q2-$comp-$i"); regs+=("$q2pid")
      "${B[@]}" tag "$origin/bench/c$MIB:1" "$q/bench/c:1"
      "${B[@]}" tag "$origin/bench/c$MIB:1" "$q2/bench/c:1"
      first+=("$(ms_of ./bin/berth -H "unix://$BERTH_SOCK" push -q --compression "$comp" "$q/bench/c:1")")
      later+=("$(ms_of ./bin/berth -H "unix://$BERTH_SOCK" push -q --compression "$comp" "$q2/bench/c:1")")
      size=$(layer_size "$q" bench/c)
      "${B[@]}" rmi "$q/bench/c:1" "$q2/bench/c:1" "$origin/bench/c$MIB:1" >/dev/null
      pulls+=("$(ms_of "${B[@]}" pull -q "$q/bench/c:1")")
      "${B[@]}" rmi "$q/bench/c:1" >/dev/null
      kill "$qpid" "$q2pid"; wait "$qpid" "$q2pid" 2>/dev/null || true
      rm -rf "$WORK/q-$comp-$i" "$WORK/q2-$comp-$i"
    done
    echo "$MIB $comp $plain $size ${first[*]} | ${later[*]} | ${pulls[*]}" >>"$WORK/results"
  done
done

bin/node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const r = {};
for (const l of lines) {
  const [head, later, pulls] = l.split(" | ");
  const [mib, comp, plain, size, ...first] = head.split(" ");
  (r[mib] ??= {})[comp] = { plain: +plain, size: +size, first: med(first.map(Number)), later: med(later.split(" ").map(Number)), pull: med(pulls.split(" ").map(Number)) };
}
console.log(`load average ${require("fs").readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
for (const [mib, c] of Object.entries(r)) {
  console.log(`payload ${mib} MiB of /usr files (${(c.gzip.plain / 1e6).toFixed(0)} MB)`);
  for (const k of ["gzip", "zstd"]) {
    const x = c[k];
    console.log(`  ${k.padEnd(4)}  layer ${(x.size / 1e6).toFixed(1)} MB (${(x.size / x.plain).toFixed(3)} of the files), first push ${x.first} ms, later push ${x.later} ms, pull ${x.pull} ms`);
  }
  const z = c.zstd, g = c.gzip;
  console.log(`  zstd/gzip: size ${(z.size / g.size).toFixed(3)}, first push ${(z.first / g.first).toFixed(3)}, later push ${(z.later / g.later).toFixed(3)}, pull ${(z.pull / g.pull).toFixed(3)}`);
}
' "$WORK/results"
