#!/usr/bin/env bash
# Times `docker build` (legacy builder, POST /build) against berthd and dockerd in one run:
# a fresh build (--no-cache), a fully cached rebuild, and a two-stage build whose stages are
# independent (Berth runs them in parallel; dockerd's legacy builder runs them one by one).
#
#   bash bench/build.sh [runs]
#
# Both daemons run privately on temporary roots with the same busybox image (Berth bootstraps
# it and saves it; dockerd loads that archive). No network: RUN steps do local work only, so
# this measures the builder (step containers, commits, cache), not a package mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-10}
WORK=$(mktemp -d /tmp/berth-bench-build-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
cleanup() {
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT
export DOCKER_BUILDKIT=0


mkdir -p "$WORK/ctx" "$WORK/par"
# the seed example's shape without the mirror: base, two RUN steps with real file work, a CMD
cat >"$WORK/ctx/Dockerfile" <<'DF'
FROM busybox
RUN mkdir -p /srv/www && for i in $(seq 1 200); do echo "page $i" > /srv/www/$i.html; done
RUN tar -cf /srv/site.tar -C /srv www && gzip -1 /srv/site.tar
COPY index.html /srv/www/index.html
CMD ["httpd", "-f", "-h", "/srv/www"]
DF
echo '<h1>hi</h1>' >"$WORK/ctx/index.html"
cat >"$WORK/par/Dockerfile" <<'DF'
FROM busybox AS a
RUN sleep 1 && echo a > /a
FROM busybox AS b
RUN sleep 1 && echo b > /b
FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
DF

start_berthd
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
socks=(berth "$BERTH_SOCK")
if command -v dockerd >/dev/null; then
  start_dockerd
  docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null
  socks+=(dockerd "$DOCKERD_SOCK")
fi

fresh=() cached=() par=()
for ((i = 0; i < ${#socks[@]}; i += 2)); do
  n=${socks[i]} s=${socks[i+1]}
  docker -H "unix://$s" build -q -t bench "$WORK/ctx" >/dev/null   # fills the cache
  fresh+=(-n "$n" "docker -H unix://$s build -q --no-cache --network none -t bench $WORK/ctx")
  cached+=(-n "$n" "docker -H unix://$s build -q --network none -t bench $WORK/ctx")
  par+=(-n "$n" "docker -H unix://$s build -q --no-cache --network none -t par $WORK/par")
done
report() {
  bin/node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const med = Object.fromEntries(r.map((x) => [x.command, x.median * 1000]));
const parts = Object.entries(med).map(([k, v]) => `${k} ${v.toFixed(1)} ms`);
console.log(`${process.argv[2]}: ${parts.join(", ")}` + (med.berth && med.dockerd ? `, ratio berth/dockerd ${(med.berth / med.dockerd).toFixed(2)}` : ""));
' "$1" "$2"
}
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$WORK/fresh.json" "${fresh[@]}" >&2
hyperfine -N --warmup 2 --runs "$((RUNS * 3))" --export-json "$WORK/cached.json" "${cached[@]}" >&2
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$WORK/par.json" "${par[@]}" >&2
report "$WORK/fresh.json" fresh
report "$WORK/cached.json" cached
report "$WORK/par.json" "parallel stages"
