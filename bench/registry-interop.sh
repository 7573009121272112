#!/usr/bin/env bash
# Interop check of berth-registry with the real Docker engine (Debian's dockerd 20.10) and the
# stock docker CLI: push, "Layer already exists", cross-repository mount, rmi, pull, run; then
# the catalog, a tag list and a manifest HEAD with curl.
#
# Everything is private and temporary: a dockerd on its own roots and socket (no bridge, no
# iptables), a registry on a free loopback port with its own root. Both are stopped by pid and
# their directories removed at exit. Needs root, dockerd and the docker CLI; not part of
# `npm test` (tests must not need dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."

W=$(mktemp -d /tmp/berth-reg-interop.XXXXXX)
DOCKER=(/usr/local/bin/docker -H "unix://$W/d.sock")
REG_PID=""
DOCKERD_PID=""
cleanup() {
  set +e
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
  fi
  # dockerd leaves its overlay mounts behind only if it died hard; only ours, under $W.
  grep -o " $W/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

PORT=$(bin/node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
REG=127.0.0.1:$PORT

echo "== registry on $REG (root $W/registry)"
bin/berth-registry --listen "$REG" --root "$W/registry" --log-level debug 2>"$W/registry.log" &
REG_PID=$!

echo "== private dockerd"
/usr/sbin/dockerd --data-root "$W/d" --exec-root "$W/x" -H "unix://$W/d.sock" --pidfile "$W/d.pid" \
  --bridge none --iptables=false --ip-masq=false --log-level warn >"$W/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 100); do "${DOCKER[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "http://$REG/v2/" >/dev/null

echo "== a busybox image from busybox-static"
mkdir -p "$W/rootfs/bin"
cp /bin/busybox "$W/rootfs/bin/busybox"
for applet in sh echo cat ls true; do ln -s busybox "$W/rootfs/bin/$applet"; done
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
"${DOCKER[@]}" import --change 'CMD ["/bin/sh"]' "$W/rootfs.tar" busybox:local >/dev/null
# A second image sharing busybox's layer, for "Layer already exists" and the mount.
printf 'FROM busybox:local\nRUN echo hello > /greeting\n' | "${DOCKER[@]}" build -q --network none -t busybox:greeting - >/dev/null

set -x
"${DOCKER[@]}" tag busybox:local "$REG/test/busybox:1"
"${DOCKER[@]}" push "$REG/test/busybox:1"
"${DOCKER[@]}" tag busybox:greeting "$REG/test/busybox:2"
"${DOCKER[@]}" push "$REG/test/busybox:2"
"${DOCKER[@]}" tag busybox:greeting "$REG/other/greeting:latest"
"${DOCKER[@]}" push "$REG/other/greeting:latest"
"${DOCKER[@]}" rmi "$REG/test/busybox:1" "$REG/test/busybox:2" "$REG/other/greeting:latest" busybox:local busybox:greeting >/dev/null
"${DOCKER[@]}" pull "$REG/test/busybox:1"
"${DOCKER[@]}" run --rm --network none "$REG/test/busybox:1" echo ran from the registry
"${DOCKER[@]}" pull "$REG/other/greeting:latest"
# By digest, as `docker pull name@sha256:...` and pinned deployments do.
digest=$(curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$REG/v2/other/greeting/manifests/latest" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
"${DOCKER[@]}" pull "$REG/other/greeting@$digest"
# Pushing what the registry already has uploads nothing.
"${DOCKER[@]}" push "$REG/test/busybox:1"
"${DOCKER[@]}" run --rm --network none "$REG/other/greeting:latest" cat /greeting
curl -fsS "http://$REG/v2/_catalog"; echo
curl -fsS "http://$REG/v2/test/busybox/tags/list"; echo
curl -fsS -I -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/test/busybox/manifests/1"
set +x

echo "== registry log (requests)"
grep -c 'level=debug' "$W/registry.log" | sed 's/^/debug lines: /'
if grep -E 'level=(warn|error)' "$W/registry.log"; then echo "registry logged warnings or errors" >&2; exit 1; fi
echo "interop: ok"
