#!/usr/bin/env bash
# `docker network create` and `network rm`, Berth against dockerd (and another checkout's
# berthd) on the same machine in one run, through the Engine API (no CLI start-up in the
# figures):
#
#  1. one at a time: a network created then removed, each timed;
#  2. a burst: BURST networks created at once on one daemon (their subnets chosen under
#     netlock.ts's host-wide lock in Berth), then removed; the burst's wall time.
#
#   bash bench/netcreate.sh [rounds] [burst]
#
# Rounds are interleaved: each round times every daemon once, in one order one round and the
# reverse the next, so a load that moves during the run moves all daemons alike. Medians and
# 90th percentiles over the rounds, and the ratios to dockerd's and to the base's.
#
# BERTHD_BASE=<another checkout> starts that checkout's berthd too (its own root and socket,
# the same flags): a daemon-side change measured side by side. All daemons without a default
# bridge (`--bridge none`; dockerd also with --iptables=false): user networks only.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-40}
BURST=${2:-4}
WORK=$(mktemp -d /tmp/berth-netcreate-XXXXXX)
pids=()
socks=()
names=()
finish() {
  # A network left by an interrupted round: dockerd would leave its bridge behind.
  for s in "${socks[@]}"; do
    ids=$(docker -H "unix://$s" network ls -q --filter name=bnc 2>/dev/null || true)
    [ -n "$ids" ] && docker -H "unix://$s" network rm $ids >/dev/null 2>&1 || true
  done
  remove_all_and_stop
}
trap finish EXIT

BERTH_SOCK=$WORK/berth.sock
start_berthd --bridge none
socks+=("$BERTH_SOCK")
names+=(berth)
if [ -n "${BERTHD_BASE:-}" ]; then
  "$BERTHD_BASE/bin/berthd" --data-root "$WORK/based" --exec-root "$WORK/based-run" -H "unix://$WORK/based.sock" \
    --pidfile "$WORK/based.pid" --log-level warn --bridge none 2>"$WORK/based.log" &
  pids+=($!)
  wait_sock "$WORK/based.sock"
  socks+=("$WORK/based.sock")
  names+=(base)
fi
if command -v dockerd >/dev/null; then
  DOCKERD_SOCK=$WORK/dockerd.sock
  start_dockerd
  socks+=("$DOCKERD_SOCK")
  names+=(dockerd)
fi

echo "== network create / rm: $ROUNDS rounds, bursts of $BURST; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
bin/node --input-type=module - "$ROUNDS" "$BURST" "${#socks[@]}" "${socks[@]}" "${names[@]}" <<'JS'
import { request } from 'node:http';
const [rounds, burst, n] = process.argv.slice(2, 5).map(Number);
const socks = process.argv.slice(5, 5 + n);
const names = process.argv.slice(5 + n, 5 + 2 * n);
const call = (sock, method, path, body) =>
  new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        res.statusCode < 300 ? resolve(text ? JSON.parse(text) : {}) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`)),
      );
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const times = names.map(() => ({ create: [], rm: [], burst: [] }));
let seq = 0;
for (let r = -1; r < rounds; r++) {
  const order = names.map((_, i) => i);
  if (r % 2) order.reverse();
  for (const i of order) {
    const sock = socks[i];
    let t = process.hrtime.bigint();
    const { Id } = await call(sock, 'POST', '/networks/create', { Name: `bnc${seq++}` });
    const create = ms(t);
    t = process.hrtime.bigint();
    await call(sock, 'DELETE', `/networks/${Id}`);
    const rm = ms(t);
    t = process.hrtime.bigint();
    const ids = await Promise.all(
      Array.from({ length: burst }, () => call(sock, 'POST', '/networks/create', { Name: `bnc${seq++}` }).then((x) => x.Id)),
    );
    const b = ms(t);
    for (const id of ids) await call(sock, 'DELETE', `/networks/${id}`);
    // Round -1 warms up.
    if (r >= 0) times[i].create.push(create), times[i].rm.push(rm), times[i].burst.push(b);
  }
}
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const med = (xs) => q(xs, 0.5);
for (const k of ['create', 'rm', 'burst']) {
  const label = k === 'burst' ? `${burst} creates at once` : k === 'create' ? 'network create' : 'network rm';
  console.log(`${label}:`);
  for (const [i, name] of names.entries())
    console.log(`  ${name.padEnd(8)} median ${med(times[i][k]).toFixed(1)} ms, p90 ${q(times[i][k], 0.9).toFixed(1)} ms`);
  for (const ref of ['dockerd', 'base']) {
    const j = names.indexOf(ref);
    if (j >= 0) console.log(`  berth/${ref} ${(med(times[0][k]) / med(times[j][k])).toFixed(2)}x`);
  }
}
JS
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
