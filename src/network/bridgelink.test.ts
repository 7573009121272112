// Bridges by rtnetlink in the launcher (berth-launcher-bridge.c) against bridges by ip, on the
// real kernel: each in a network namespace of a process started here (never the host's), where
// a launcher started through nsenter makes them. Needs root and build/berth-launcher.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealHost, type Host } from '../host/index.ts';
import { launcherInNetns, processNetns } from '../host/testing.ts';
import { deleteLinks, hostAddrs4, hostBridges, isolatePort, setUpBridges, type BridgeLink } from './bridgelink.ts';
import { hostRoutes } from './usersubnets.ts';
import { deleteTables, runNft } from './nft.ts';
import { NetnsLock } from './netlock.ts';
import { UserNetworks } from './user.ts';

const LAUNCHER = join(import.meta.dirname, '..', '..', 'build', 'berth-launcher');
const skip = !existsSync(LAUNCHER)
  ? 'build/berth-launcher is missing (npm run setup builds it)'
  : process.getuid?.() !== 0
    ? 'needs root (bridges in network namespaces)'
    : false;
const dir = mkdtempSync(join(tmpdir(), 'berth-bridgelink-'));
const ends: Array<() => void> = [];
after(() => {
  for (const end of ends) end();
  rmSync(dir, { recursive: true, force: true });
});

/** A namespace of its own, a host whose launcher makes links there, and the same host without its rtnetlink (ip's path). */
async function place(): Promise<{ netns: string; netlink: Host; ip: Host }> {
  const ns = await processNetns();
  const netlink = new RealHost({ launcherPath: launcherInNetns(LAUNCHER, ns.path, dir) });
  ends.push(() => netlink.close(), ns.kill);
  // Its programs still run in the namespace, through the same launcher: only `links` is gone.
  const ip = Object.create(netlink, { links: { value: undefined } }) as Host;
  return { netns: ns.path, netlink, ip };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function nsRun(netns: string, cmd: string, args: string[]): string {
  const r = spawnSync('nsenter', [`--net=${netns}`, '--', cmd, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function ipJson(netns: string, args: string[]): any {
  const r = spawnSync('nsenter', [`--net=${netns}`, '--', 'ip', '-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout || '[]');
}

/** What of a link `ip -d link show` prints that says how it was made: not its index, nor its running timers. */
function made(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(made);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'ifindex' && !k.endsWith('_timer'))
        .map(([k, x]) => [k, made(x)]),
    );
  return v;
}

const BRIDGE: BridgeLink = {
  name: 'bn-blt0',
  create: true,
  macAddress: '02:42:ac:13:00:01',
  address: '172.19.0.1/16',
  address6: 'fd00:b1::1/64',
  up: true,
};

test(
  'a bridge made by rtnetlink is the one ip -batch makes: ip -d link show, its addresses and routes match',
  { skip },
  async () => {
    const a = await place();
    const b = await place();
    await setUpBridges(a.netlink, [BRIDGE]);
    await setUpBridges(b.ip, [BRIDGE]);
    const link = (ns: string) => made(ipJson(ns, ['-d', 'link', 'show', BRIDGE.name]));
    assert.deepEqual(link(a.netns), link(b.netns));
    const [shown] = ipJson(a.netns, ['-d', 'link', 'show', BRIDGE.name]);
    assert.equal(shown.address, BRIDGE.macAddress);
    assert.equal(shown.linkinfo.info_kind, 'bridge');
    assert.ok(shown.flags.includes('UP'), `flags: ${shown.flags}`);
    const addrs = (ns: string) => made(ipJson(ns, ['addr', 'show', BRIDGE.name])[0].addr_info);
    assert.deepEqual(addrs(a.netns), addrs(b.netns));
    const six = ipJson(a.netns, ['-6', 'addr', 'show', BRIDGE.name])[0].addr_info.find(
      (x: { local: string }) => x.local === 'fd00:b1::1',
    );
    // Without duplicate address detection: usable at once.
    assert.ok(six && !six.tentative && six.nodad, JSON.stringify(six));
    for (const family of ['-4', '-6'])
      assert.deepEqual(ipJson(a.netns, [family, 'route', 'show']), ipJson(b.netns, [family, 'route', 'show']));
  },
);

test("the host's bridges, addresses and routes read by netlink are what ip -j shows", { skip }, async () => {
  const { netlink, ip } = await place();
  await setUpBridges(netlink, [
    BRIDGE,
    { ...BRIDGE, name: 'bn-blt1', macAddress: '02:42:ac:14:00:01', address: '172.20.0.1/16', address6: undefined },
  ]);
  assert.deepEqual(await hostBridges(netlink), await hostBridges(ip));
  assert.deepEqual([...(await hostBridges(netlink))].sort(), [
    ['bn-blt0', '02:42:ac:13:00:01'],
    ['bn-blt1', '02:42:ac:14:00:01'],
  ]);
  assert.deepEqual(await hostRoutes(netlink), await hostRoutes(ip));
  const routes = (await hostRoutes(netlink)).map((p) => `${p.family} ${p.bits}`);
  assert.deepEqual(routes, ['4 16', '4 16', '6 64'], 'both bridges and the IPv6 subnet, no link-local');
  // ip lists the links with an IPv4 address; netlink lists every link (the default bridge finds its own by name).
  const byNetlink = await hostAddrs4(netlink);
  const byIp = await hostAddrs4(ip);
  const fields = (x?: { addr_info?: Array<{ family: string; local: string; prefixlen: number }> }) =>
    x?.addr_info?.map((a) => `${a.family} ${a.local}/${a.prefixlen}`);
  for (const l of byIp.addrs)
    assert.deepEqual(fields(byNetlink.addrs.find((x) => x.ifname === l.ifname)), fields(l), l.ifname);
  assert.deepEqual(byNetlink.addrs.find((x) => x.ifname === 'bn-blt0')?.mtu, 1500);
  assert.deepEqual(
    byNetlink.routes,
    byIp.routes.map((r) => ({ dst: r.dst, dev: r.dev })),
  );
});

test(
  'a bridge that is there: its MAC pinned, its IPv4 address changed, its IPv6 one replaced; failures name their step',
  { skip },
  async () => {
    const { netns, netlink } = await place();
    await setUpBridges(netlink, [BRIDGE]);
    await setUpBridges(netlink, [
      {
        name: BRIDGE.name,
        macAddress: '02:42:ac:13:00:09',
        delete4: '172.19.0.1/16',
        address: '172.21.0.1/24',
        address6: 'fd00:b1::1/64',
        replace6: true,
        up: true,
      },
    ]);
    const [shown] = ipJson(netns, ['addr', 'show', BRIDGE.name]);
    assert.equal(shown.address, '02:42:ac:13:00:09');
    assert.deepEqual(
      shown.addr_info
        .filter((x: { scope: string }) => x.scope === 'global')
        .map((x: { local: string; prefixlen: number }) => `${x.local}/${x.prefixlen}`),
      ['172.21.0.1/24', 'fd00:b1::1/64'],
    );
    await assert.rejects(setUpBridges(netlink, [BRIDGE]), /set up bridge bn-blt0: create the bridge: EEXIST/);
    await assert.rejects(
      setUpBridges(netlink, [{ name: 'bn-none', up: true }]),
      /set up bridge bn-none: find the bridge: ENODEV/,
    );
    await assert.rejects(
      setUpBridges(netlink, [{ ...BRIDGE, name: 'bn-blt2', address: '172.19.0.1/99' }]),
      /set up bridge bn-blt2: add the IPv4 address: EINVAL/,
    );
    await deleteLinks(netlink, [BRIDGE.name, 'bn-blt2', 'bn-none']);
    assert.deepEqual(ipJson(netns, ['link', 'show', 'type', 'bridge']), []);
  },
);

test(
  'a bridge port isolated by rtnetlink is the one ip isolates: bridge -d link show says isolated on; no ip started',
  { skip },
  async () => {
    const a = await place();
    const b = await place();
    const ports = async (p: { netns: string }, host: Host) => {
      await setUpBridges(host, [BRIDGE]);
      // A port as a container's host end is: one end of a veth pair, on the bridge.
      nsRun(p.netns, 'ip', ['link', 'add', 'vbl0', 'master', BRIDGE.name, 'type', 'veth', 'peer', 'name', 'vbl1']);
      await isolatePort(host, 'vbl0');
      return nsRun(p.netns, 'bridge', ['-d', 'link', 'show', 'dev', 'vbl0']);
    };
    const started: string[] = [];
    const netlink = Object.create(a.netlink, {
      run: {
        value: (cmd: string, args: readonly string[], o: object) => (started.push(cmd), a.netlink.run(cmd, args, o)),
      },
    }) as Host;
    const byNetlink = await ports(a, netlink);
    assert.match(byNetlink, /\bisolated on\b/);
    assert.deepEqual(started, [], 'the launcher isolated it: no program started');
    assert.equal(byNetlink.replace(/^\d+: /, ''), (await ports(b, b.ip)).replace(/^\d+: /, ''));
    await assert.rejects(isolatePort(a.netlink, 'vbl-none'), /isolate bridge port vbl-none: ENODEV/);
    // A link that is no bridge's port: the kernel's refusal, in its words.
    await assert.rejects(isolatePort(a.netlink, 'vbl1'), /isolate bridge port vbl1: E[A-Z]+/);
    await deleteLinks(a.netlink, ['vbl0', BRIDGE.name]);
    await deleteLinks(b.ip, ['vbl0', BRIDGE.name]);
  },
);

test(
  'a user network made, restored and removed by rtnetlink; a record whose bridge a crash never made gets it at the next start',
  { skip },
  async () => {
    const { netns, netlink } = await place();
    const root = join(dir, 'usernet');
    const quiet = { debug() {}, info() {}, warn() {} };
    const o = {
      host: netlink,
      root,
      table: 'berth_blt_nets',
      log: quiet,
      upstream: [],
      dns: false,
      subnetLock: new NetnsLock(`berth-test/bridgelink-${process.pid}`),
    };
    const nets = new UserNetworks(o);
    await nets.init();
    const n = await nets.create({
      Name: 'blt',
      EnableIPv6: true,
      IPAM: { Config: [{ Subnet: '10.88.0.0/24' }, { Subnet: 'fd00:b2::/64' }] },
    });
    const [shown] = ipJson(netns, ['addr', 'show', n.Bridge]);
    assert.deepEqual(
      shown.addr_info.filter((x: { scope: string }) => x.scope === 'global').map((x: { local: string }) => x.local),
      ['10.88.0.1', 'fd00:b2::1'],
    );
    // A second network's subnet is chosen clear of the first's route, read by netlink.
    const m = await nets.create({ Name: 'blt2' });
    assert.equal(m.Subnet, '172.17.0.0/16');
    const second = await nets.create({ Name: 'blt3' });
    assert.equal(second.Subnet, '172.18.0.0/16');
    await nets.remove('blt3');
    await nets.shutdown(false);
    assert.deepEqual(ipJson(netns, ['link', 'show', 'type', 'bridge']), []);

    // A record written, then the daemon killed before the bridge: the next start makes it.
    mkdirSync(join(root, 'networks'), { recursive: true });
    writeFileSync(
      join(root, 'networks', `${'c'.repeat(64)}.json`),
      JSON.stringify({ ...m, Id: 'c'.repeat(64), Name: 'crashed', Bridge: 'bn-cccccccccccc' }),
    );
    const again = new UserNetworks(o);
    await again.init();
    const bridges = ipJson(netns, ['link', 'show', 'type', 'bridge'])
      .map((l: { ifname: string }) => l.ifname)
      .sort();
    assert.deepEqual(bridges, ['bn-cccccccccccc', n.Bridge, m.Bridge].sort());
    await again.shutdown(false);
    assert.deepEqual(ipJson(netns, ['link', 'show', 'type', 'bridge']), []);
  },
);

test(
  "a ruleset run by libnftables in the launcher is the one nft -f makes; nft's errors come back in its words",
  { skip },
  async () => {
    const a = await place();
    const b = await place();
    const rules = [
      'table ip berth_blt',
      'delete table ip berth_blt',
      'table ip berth_blt {',
      '  set bridges { type ifname; elements = { "bn-blt0" } }',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      '    ip saddr 172.19.0.0/16 oifname != "bn-blt0" masquerade',
      '  }',
      '}',
      '',
    ].join('\n');
    await runNft(a.netlink, rules);
    await runNft(b.ip, rules);
    await runNft(a.netlink, rules); // replaced, not added to
    const listed = nsRun(a.netns, 'nft', ['list', 'ruleset']);
    assert.equal(listed, nsRun(b.netns, 'nft', ['list', 'ruleset']));
    assert.match(listed, /ip saddr 172\.19\.0\.0\/16 oifname != "bn-blt0" masquerade/);
    await assert.rejects(runNft(a.netlink, 'table ip berth_blt { chain c { bogus } }\n'), /nft -f -: .*syntax error/is);
    // Nothing of a failed run is left for the next: it succeeds, and says nothing.
    await runNft(a.netlink, rules);
    await deleteTables(a.netlink, 'berth_blt', ['ip', 'ip6']);
    assert.equal(nsRun(a.netns, 'nft', ['list', 'ruleset']), '');
  },
);
