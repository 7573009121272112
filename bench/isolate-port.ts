// A bridge port's isolation (what a default-bridge container's start under `--icc=false`
// asks, network/user.ts's isolate) through the launcher (BRPORT, rtnetlink) and through
// `ip link set dev X type bridge_slave isolated on`, calls interleaved, on veth pairs on a
// bridge made here. Run it in a network namespace of its own — all of it: the bridge and the
// pairs are that namespace's and go with it:
//
//   unshare -n bin/node bench/isolate-port.ts [rounds]      (needs root and build/berth-launcher)
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { RealHost, type Host } from '../src/host/index.ts';
import { isolatePort } from '../src/network/bridgelink.ts';

const rounds = Number(process.argv[2] ?? 200);
const real = new RealHost({ launcherPath: join(import.meta.dirname, '..', 'build', 'berth-launcher') });
const programs: Host = Object.create(real, { links: { value: undefined } });
const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
ip('link', 'add', 'bip0', 'type', 'bridge');
// Two ports, one per path; each round takes the isolation off both, then sets it again.
for (const p of ['vip0', 'vip1']) ip('link', 'add', p, 'master', 'bip0', 'type', 'veth', 'peer', 'name', `${p}p`);
const times: Record<string, number[]> = { launcher: [], ip: [] };
console.log(`load ${load()}`);
try {
  for (let i = -5; i < rounds; i++) {
    for (const p of ['vip0', 'vip1']) ip('link', 'set', 'dev', p, 'type', 'bridge_slave', 'isolated', 'off');
    for (const k of i % 2 ? ['launcher', 'ip'] : ['ip', 'launcher']) {
      const t = process.hrtime.bigint();
      await isolatePort(k === 'launcher' ? real : programs, k === 'launcher' ? 'vip0' : 'vip1');
      if (i >= 0) times[k]!.push(Number(process.hrtime.bigint() - t) / 1e6); // the first rounds warm up
    }
  }
} finally {
  real.close();
}
const at = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.floor(v.length * q)]!.toFixed(2);
for (const [k, v] of Object.entries(times))
  console.log(`  ${k.padEnd(8)} isolate a port: median ${at(v, 0.5)} ms, p90 ${at(v, 0.9)} ms (${v.length} calls)`);
console.log(`load after ${load()}`);
