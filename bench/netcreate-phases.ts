// Where a user network's create and rm go, in-process and in a network namespace of its own
// (never the host's): UserNetworks over a RealHost whose launcher runs in that namespace, each
// host call timed (the launcher's netlink and nft requests, or the programs run). Without the
// embedded DNS (its sockets would bind the gateway in this process's namespace).
//
//   bin/node bench/netcreate-phases.ts [rounds]      (needs root and build/berth-launcher)
//
// NOLINKS=1 hides the launcher's rtnetlink and libnftables (ip and nft are run instead).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RealHost, type Host } from '../src/host/index.ts';
import { launcherInNetns, processNetns } from '../src/host/testing.ts';
import { UserNetworks } from '../src/network/index.ts';
import { NetnsLock } from '../src/network/netlock.ts';

const rounds = Number(process.argv[2] ?? 20);
const dir = mkdtempSync('/tmp/berth-netphases-');
const ns = await processNetns();
const real = new RealHost({
  launcherPath: launcherInNetns(join(import.meta.dirname, '..', 'build', 'berth-launcher'), ns.path, dir),
});
const times = new Map<string, number[]>();
const timed = async <T>(k: string, f: () => Promise<T>): Promise<T> => {
  const t = process.hrtime.bigint();
  try {
    return await f();
  } finally {
    times.set(k, [...(times.get(k) ?? []), Number(process.hrtime.bigint() - t) / 1e6]);
  }
};
const links = real.links!;
const rules = real.rules!;
const host: Host = Object.create(real, {
  run: { value: (cmd: string, args: string[], o: object) => timed(`${cmd} ${args[0]}`, () => real.run(cmd, args, o)) },
  links: {
    value: process.env.NOLINKS
      ? undefined
      : {
          plugVeth: links.plugVeth,
          deleteLink: (n: string) => timed('netlink: delete the bridge', () => links.deleteLink(n)),
          setUpBridge: (b: never) => timed('netlink: make the bridge', () => links.setUpBridge(b)),
          netInfo: (w: never) => timed('netlink: read the routes', () => links.netInfo(w)),
        },
  },
  rules: {
    value: process.env.NOLINKS
      ? undefined
      : { nft: (r: string) => timed('libnftables: the ruleset', () => rules.nft(r)) },
  },
});
const nets = new UserNetworks({
  host,
  root: dir,
  table: 'berth_phases',
  log: { debug() {}, info() {}, warn() {} },
  upstream: [],
  // The embedded DNS binds the gateway, which is in the namespace, not in this process's.
  dns: false,
  subnetLock: new NetnsLock(`berth-bench/netphases-${process.pid}`),
});
try {
  await nets.init();
  for (let i = -1; i < rounds; i++) {
    const n = await timed('network create', () => nets.create({ Name: `p${i}` }));
    await timed('network rm', () => nets.remove(n.Id));
    if (i < 0) times.clear(); // a warm-up round
  }
  await nets.shutdown(false);
} finally {
  real.close();
  ns.kill();
  rmSync(dir, { recursive: true, force: true });
}
const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(
  `${rounds} rounds${process.env.NOLINKS ? ', ip and nft run' : ''}; load ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (const [k, v] of times)
  console.log(`  ${k.padEnd(28)} ${String(v.length).padStart(3)}x  median ${med(v).toFixed(1)} ms`);
