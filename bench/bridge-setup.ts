// The default bridge's set-up at daemon start (NetworkManager.init: the host's addresses and
// routes read, the bridge made with its address, its nft table) and its take-down at shutdown,
// through the launcher (rtnetlink, libnftables) and through the programs (ip, nft), rounds
// interleaved, each on a data root of its own. Run it in a network namespace of its own — all
// of it: the bridge, the table and the ip_forward it sets are that namespace's:
//
//   unshare -n bin/node bench/bridge-setup.ts [rounds]      (needs root and build/berth-launcher)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { RealHost, type Host } from '../src/host/index.ts';
import { NetworkManager } from '../src/network/index.ts';
import { NetnsLock } from '../src/network/netlock.ts';

const rounds = Number(process.argv[2] ?? 20);
const real = new RealHost({ launcherPath: join(import.meta.dirname, '..', 'build', 'berth-launcher') });
const programs: Host = Object.create(real, { links: { value: undefined }, rules: { value: undefined } });
const times: Record<string, number[]> = { launcher: [], 'ip and nft': [] };
const quiet = { debug() {}, info() {}, warn() {} };
console.log(
  `load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
try {
  for (let i = -1; i < rounds; i++)
    for (const k of i % 2 ? ['launcher', 'ip and nft'] : ['ip and nft', 'launcher']) {
      const root = mkdtempSync('/tmp/berth-bridge-setup-');
      const host = k === 'launcher' ? real : programs;
      const m = new NetworkManager({ host, root, bridge: 'bbench0', log: quiet, subnetLock: new NetnsLock('bbench') });
      const t = process.hrtime.bigint();
      await m.init();
      await m.shutdown(false);
      if (i >= 0) times[k]!.push(Number(process.hrtime.bigint() - t) / 1e6); // round -1 warms up
      rmSync(root, { recursive: true, force: true });
    }
} finally {
  real.close();
}
const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!.toFixed(1);
for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(10)} init + shutdown: median ${med(v)} ms`);
console.log(
  `load after ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
