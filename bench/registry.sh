#!/usr/bin/env bash
# Times `docker pull` and `docker push` of the same image against berthd and dockerd, both
# talking to one berth-registry on loopback, and reports medians and ratios (Berth / dockerd).
#
#   bash bench/registry.sh [runs] [layer MiB]
#
# The image is busybox plus one layer of random bytes (incompressible, so gzip costs what it
# costs on real binaries). Pulls: hyperfine, the image removed before each run, runs of the two
# daemons interleaved. Pushes: each run pushes to a registry root of its own, so every layer is
# uploaded (a registry that has a blob answers "Layer already exists" and times nothing).
# Everything is private and temporary; needs root, hyperfine, dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-5}
MIB=${2:-64}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
cleanup() {
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { bin/node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
start_registry() { # root → "host pid"
  local port; port=$(free_port)
  bin/berth-registry --listen "127.0.0.1:$port" --root "$1" --log-level warn 2>>"$WORK/registry.log" &
  local pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.05; done
  echo "127.0.0.1:$port $pid"
}

start_berthd --bridge none
start_dockerd
B=(docker -H "unix://$BERTH_SOCK")
D=(docker -H "unix://$DOCKERD_SOCK")

# The image, built by Berth, saved and loaded into dockerd so both push the same bytes.
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
mkdir -p "$WORK/ctx"
printf 'FROM busybox\nRUN dd if=/dev/urandom of=/payload bs=1M count=%d 2>/dev/null\n' "$MIB" >"$WORK/ctx/Dockerfile"
"${B[@]}" build -q -t bench/payload:1 "$WORK/ctx" >/dev/null
"${B[@]}" save bench/payload:1 -o "$WORK/image.tar"
"${D[@]}" load -i "$WORK/image.tar" >/dev/null

# Pushes: a fresh registry for every push, alternating the daemons.
declare -a push_b push_d
for i in $(seq 1 "$RUNS"); do
  for who in berth dockerd; do
    read -r reg rpid < <(start_registry "$WORK/reg-push-$who-$i")
    cli=("${B[@]}"); [ "$who" = dockerd ] && cli=("${D[@]}")
    "${cli[@]}" tag bench/payload:1 "$reg/bench/payload:1"
    t0=$(date +%s%N)
    "${cli[@]}" push -q "$reg/bench/payload:1" >/dev/null
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    if [ "$who" = berth ]; then push_b+=("$ms"); else push_d+=("$ms"); fi
    "${cli[@]}" rmi "$reg/bench/payload:1" >/dev/null
    kill "$rpid"; wait "$rpid" 2>/dev/null || true
  done
done

# Pulls: one registry holding the image; each run starts without it.
read -r reg rpid < <(start_registry "$WORK/reg-pull")
"${B[@]}" tag bench/payload:1 "$reg/bench/payload:1"
"${B[@]}" push -q "$reg/bench/payload:1" >/dev/null
"${B[@]}" rmi "$reg/bench/payload:1" bench/payload:1 >/dev/null
"${D[@]}" rmi bench/payload:1 >/dev/null
hyperfine -N --runs "$RUNS" --export-json "$WORK/pull.json" \
  -n berth --prepare "docker -H unix://$BERTH_SOCK image rm -f $reg/bench/payload:1" "docker -H unix://$BERTH_SOCK pull -q $reg/bench/payload:1" \
  -n dockerd --prepare "docker -H unix://$DOCKERD_SOCK image rm -f $reg/bench/payload:1" "docker -H unix://$DOCKERD_SOCK pull -q $reg/bench/payload:1" >&2
kill "$rpid"; wait "$rpid" 2>/dev/null || true

bin/node -e '
const [file, pb, pd, mib] = process.argv.slice(1);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const r = Object.fromEntries(JSON.parse(require("fs").readFileSync(file, "utf8")).results.map((x) => [x.command, x.median * 1000]));
const push = { berth: med(pb.split(" ").map(Number)), dockerd: med(pd.split(" ").map(Number)) };
console.log(`image: busybox + ${mib} MiB of random bytes`);
console.log(`pull  berth ${r.berth.toFixed(0)} ms, dockerd ${r.dockerd.toFixed(0)} ms, ratio ${(r.berth / r.dockerd).toFixed(3)}`);
console.log(`push  berth ${push.berth.toFixed(0)} ms, dockerd ${push.dockerd.toFixed(0)} ms, ratio ${(push.berth / push.dockerd).toFixed(3)} (medians of ${pb.split(" ").length})`);
' "$WORK/pull.json" "${push_b[*]}" "${push_d[*]}" "$MIB"
