// The launcher's rtnetlink plumbing (berth-launcher-link.c) against the real kernel: a veth pair
// between a bridge made here and a network namespace of a process started here, as network/veth.ts
// asks for a container's. The bridge and the host ends are in a namespace of this test's own too
// (its launcher runs there), never the host's. Needs root; the namespaces go with their processes.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealHost, type VethLink } from './index.ts';
import { launcherInNetns, processNetns } from './testing.ts';

const LAUNCHER = join(import.meta.dirname, '..', '..', 'build', 'berth-launcher');
const skip = !existsSync(LAUNCHER)
  ? 'build/berth-launcher is missing (npm run setup builds it)'
  : process.getuid?.() !== 0
    ? 'needs root (veth pairs and bridges)'
    : false;
const tag = process.pid % 100000;
const BRIDGE = `blt${tag}`;
const ends: Array<() => void> = [];
const dir = mkdtempSync(join(tmpdir(), 'berth-launcher-link-'));
/** The test's stand-in for the host: a namespace, and a launcher running in it. */
let home = '';
let host: RealHost;

function ip(args: string[], netns = home): string {
  const r = spawnSync('nsenter', [`--net=${netns}`, '--', 'ip', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (args: string[], netns?: string): any[] => JSON.parse(ip(['-j', ...args], netns) || '[]');

/** A process in a network namespace of its own (as a container's init): the namespace's path. */
async function namespace(): Promise<string> {
  const ns = await processNetns();
  ends.push(ns.kill);
  return ns.path;
}

before(async () => {
  if (skip) return;
  home = await namespace();
  host = new RealHost({ launcherPath: launcherInNetns(LAUNCHER, home, dir) });
  ip(['link', 'add', BRIDGE, 'type', 'bridge']);
  ip(['link', 'set', BRIDGE, 'up']);
});
after(() => {
  host?.close();
  for (const end of ends) end();
  rmSync(dir, { recursive: true, force: true });
});

function link(netns: string, hostVeth: string, over: Partial<VethLink> = {}): VethLink {
  return {
    netns,
    hostVeth,
    bridge: BRIDGE,
    ifname: 'eth0',
    macAddress: '02:42:0a:ef:4d:02',
    mtu: 1400,
    address: '10.239.77.2/24',
    gateway: '10.239.77.1',
    ...over,
  };
}

test(
  'a veth pair as a container on a user network gets it: addresses, MAC, MTU, routes, lo up, the port isolated',
  { skip },
  async () => {
    const ns = await namespace();
    const hostVeth = `vlt${tag}a`;
    const failed = await host.links!.plugVeth(
      link(ns, hostVeth, { address6: 'fd00:ef:4d::2/64', gateway6: 'fd00:ef:4d::1', isolated: true }),
    );
    assert.equal(failed, undefined);
    const [eth0] = json(['-d', 'addr', 'show', 'eth0'], ns);
    assert.equal(eth0.address, '02:42:0a:ef:4d:02');
    assert.equal(eth0.mtu, 1400);
    assert.ok(eth0.flags.includes('UP'), `eth0 up: ${eth0.flags}`);
    const addrs = eth0.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`);
    assert.ok(addrs.includes('10.239.77.2/24'), `eth0's addresses: ${addrs}`);
    assert.ok(addrs.includes('fd00:ef:4d::2/64'), `eth0's addresses: ${addrs}`);
    // Without duplicate address detection: usable at once, never "tentative".
    const v6 = eth0.addr_info.find((a: { local: string }) => a.local === 'fd00:ef:4d::2');
    assert.ok(!v6.tentative && !v6.dadfailed, JSON.stringify(v6));
    const [lo] = json(['addr', 'show', 'lo'], ns);
    assert.ok(lo.flags.includes('UP'));
    assert.deepEqual(
      json(['route', 'show', 'default'], ns).map((r) => [r.gateway, r.dev]),
      [['10.239.77.1', 'eth0']],
    );
    assert.deepEqual(
      json(['-6', 'route', 'show', 'default'], ns).map((r) => [r.gateway, r.dev]),
      [['fd00:ef:4d::1', 'eth0']],
    );
    const [end] = json(['-d', 'link', 'show', hostVeth]);
    assert.equal(end.master, BRIDGE);
    assert.equal(end.mtu, 1400);
    assert.ok(end.flags.includes('UP'));
    assert.equal(end.linkinfo.info_slave_data.isolated, true);
  },
);

test('quiet: no IPv6 link-local address on either end, both up', { skip }, async () => {
  const ns = await namespace();
  const hostVeth = `vlt${tag}b`;
  assert.equal(await host.links!.plugVeth(link(ns, hostVeth, { quiet: true, gateway: undefined })), undefined);
  assert.equal(json(['-d', 'link', 'show', 'eth0'], ns)[0].inet6_addr_gen_mode, 'none');
  const [eth0] = json(['addr', 'show', 'eth0'], ns);
  assert.deepEqual(
    eth0.addr_info.map((a: { family: string; local: string }) => `${a.family} ${a.local}`),
    ['inet 10.239.77.2'],
  );
  assert.ok(eth0.flags.includes('UP'));
  // No gateway given: no default route.
  assert.deepEqual(json(['route', 'show', 'default'], ns), []);
  const [end] = json(['-d', 'link', 'show', hostVeth]);
  assert.equal(end.inet6_addr_gen_mode, 'none');
  assert.ok(end.flags.includes('UP'));
  assert.equal(end.linkinfo.info_slave_data.isolated, false);
  assert.deepEqual(json(['addr', 'show', hostVeth])[0].addr_info, []);
});

test(
  'failures name their step: a host end in use, a namespace or bridge that is not there; deleteLink',
  { skip },
  async () => {
    const ns = await namespace();
    const hostVeth = `vlt${tag}c`;
    assert.equal(await host.links!.plugVeth(link(ns, hostVeth, { ifname: 'eth1' })), undefined);
    assert.deepEqual(await host.links!.plugVeth(link(ns, hostVeth, { ifname: 'eth2' })), {
      step: 'create the veth pair',
      errno: 'EEXIST',
    });
    await host.links!.deleteLink(hostVeth);
    assert.deepEqual(
      json(['link', 'show', 'type', 'veth']).filter((l) => l.ifname === hostVeth),
      [],
    );
    // The pair goes as one: the namespace's end too.
    assert.deepEqual(
      json(['link', 'show', 'type', 'veth'], ns).filter((l) => l.ifname === 'eth1'),
      [],
    );
    await host.links!.deleteLink(hostVeth); // not there: nothing to do
    assert.deepEqual(await host.links!.plugVeth(link('/proc/nonexistent/ns/net', hostVeth)), {
      step: 'open the network namespace',
      errno: 'ENOENT',
    });
    assert.deepEqual(await host.links!.plugVeth(link(ns, hostVeth, { bridge: 'nosuchbr0' })), {
      step: 'find the bridge',
      errno: 'ENODEV',
    });
    assert.deepEqual(await host.links!.plugVeth(link(ns, hostVeth, { address: '10.239.77.300/24' })), {
      step: 'add the IPv4 address',
      errno: 'EINVAL',
    });
    // The launcher is back in its own namespace after a plug, failed or not: a program it starts sees its links.
    const seen = await host.run('ip', ['-j', 'link', 'show', BRIDGE]);
    assert.equal(JSON.parse(seen.stdout)[0].ifname, BRIDGE);
    await host.links!.deleteLink(hostVeth);
  },
);
