import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunOptions, RunResult } from '../host/index.ts';
import { FakeHost } from '../host/testing.ts';
import { NetnsLock } from './netlock.ts';
import { UserNetworks } from './user.ts';

/** Records what went to each command's standard input too. */
class Recording extends FakeHost {
  readonly inputs: Array<{ cmd: string; input: string }> = [];
  override async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (opts.input !== undefined) this.inputs.push({ cmd, input: String(opts.input) });
    return super.run(cmd, args, opts);
  }
}

const quiet = { debug() {}, info() {}, warn() {} };

function setup(routes: Array<{ dst: string }> = []) {
  const root = mkdtempSync(join(tmpdir(), 'berth-usernet-'));
  const host = new Recording();
  host.responses.set('ip', (args) => ({
    code: 0,
    stdout: args.includes('route') ? JSON.stringify(routes) : '[]',
    stderr: '',
  }));
  const nets = new UserNetworks({
    host,
    root,
    table: 'berth_t_nets',
    log: quiet,
    upstream: [],
    dns: false,
    defaultBridge: () => ({ name: 'berth0', subnet: '172.17.0.0/16' }),
  });
  return { root, host, nets };
}

test('a new network gets a subnet clear of routes and the default bridge, a bridge, NAT and isolation rules', async () => {
  const { root, host, nets } = setup([{ dst: '172.18.0.0/16' }, { dst: 'default' }]);
  try {
    await nets.init();
    assert.equal(host.inputs.length, 0, 'a start without networks runs no command with input (no nft)');
    const n = await nets.create({ Name: 'web', Labels: { a: 'b' } });
    assert.equal(n.Subnet, '172.19.0.0/16');
    assert.equal(n.Gateway, '172.19.0.1');
    const batch = host.inputs.find((i) => i.cmd === 'ip')!.input;
    // A MAC of its own (its gateway's), so that ports coming and going never change it (cidr.ts's bridgeMac).
    assert.match(batch, new RegExp(`link add ${n.Bridge} address 02:42:ac:13:00:01 type bridge`));
    assert.match(batch, new RegExp(`addr add 172\\.19\\.0\\.1/16 brd \\+ dev ${n.Bridge}`));
    const rules = host.inputs.filter((i) => i.cmd === 'nft').at(-1)!.input;
    assert.match(rules, /table ip berth_t_nets \{/);
    assert.match(rules, new RegExp(`ip saddr 172\\.19\\.0\\.0/16 oifname != "${n.Bridge}" masquerade`));
    assert.match(rules, new RegExp(`iifname "${n.Bridge}" oifname != "${n.Bridge}" oifname @bridges drop`));
    assert.match(rules, /iifname "berth0" oifname != "berth0" oifname @bridges drop/);
    await assert.rejects(nets.create({ Name: 'web' }), /network with name web already exists/);
    await assert.rejects(nets.create({ Name: 'host' }), /pre-defined network/);
    await assert.rejects(nets.create({ Name: 'x', IPAM: { Config: [{ Subnet: '172.19.5.0/24' }] } }), /overlaps/);
    const internal = await nets.create({
      Name: 'inner',
      Internal: true,
      IPAM: { Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.9' }] },
    });
    assert.equal(internal.Gateway, '10.9.0.9');
    const rules2 = host.inputs.filter((i) => i.cmd === 'nft').at(-1)!.input;
    assert.doesNotMatch(rules2, /10\.9\.0\.0\/24 .*masquerade/);
    assert.match(rules2, new RegExp(`oifname "${internal.Bridge}" iifname != "${internal.Bridge}" drop`));
  } finally {
    await nets.shutdown(false);
    rmSync(root, { recursive: true, force: true });
  }
});

test('addresses are never handed out twice, --ip is honoured, names and aliases resolve; networks survive a restart', async () => {
  const { root, host, nets } = setup();
  try {
    await nets.init();
    const n = await nets.create({ Name: 'app', IPAM: { Config: [{ Subnet: '10.7.0.0/24' }] } });
    const a = nets.allocate('app', 'a'.repeat(64), 'db', { aliases: ['database'] });
    const b = nets.allocate(n.Id.slice(0, 10), 'b'.repeat(64), 'web');
    assert.notEqual(a.ipAddress, b.ipAddress);
    assert.notEqual(a.hostVeth, b.hostVeth);
    assert.ok(a.hostVeth.length <= 15 && a.hostVeth.startsWith('vu'));
    assert.throws(() => nets.allocate('app', 'c'.repeat(64), 'x', { ip: a.ipAddress }), /Address already in use/);
    const c = nets.allocate('app', 'c'.repeat(64), 'x', { ip: '10.7.0.200' });
    assert.equal(c.ipAddress, '10.7.0.200');
    assert.deepEqual(nets.resolve(n.Id, 'database')?.v4, [a.ipAddress]);
    assert.deepEqual(nets.resolve(n.Id, 'WEB.')?.v4, [b.ipAddress]);
    assert.equal(nets.resolve(n.Id, 'nobody'), undefined);
    // An alias two containers share answers with both addresses (a Compose service scaled to 2).
    const d2 = nets.allocate('app', 'd'.repeat(64), 'db2', { aliases: ['database'] });
    assert.deepEqual(nets.resolve(n.Id, 'database')?.v4.sort(), [a.ipAddress, d2.ipAddress].sort());
    nets.release('d'.repeat(64));
    await assert.rejects(nets.remove('app'), /has active endpoints/);
    nets.release('b'.repeat(64));
    assert.equal(nets.resolve(n.Id, 'web'), undefined);
    await nets.shutdown(true);

    // The bridge is still there (live restore), with the MAC its containers know: it keeps it.
    host.responses.set('ip', (args) => ({
      code: 0,
      stdout: args.includes('link') ? JSON.stringify([{ ifname: n.Bridge, address: '12:34:56:78:9a:bc' }]) : '[]',
      stderr: '',
    }));
    const before = host.inputs.length;
    const again = new UserNetworks({ host, root, table: 'berth_t_nets', log: quiet, upstream: [], dns: false });
    await again.init();
    assert.equal(
      host.inputs.slice(before).find((i) => i.cmd === 'ip')?.input,
      `link set dev ${n.Bridge} address 12:34:56:78:9a:bc\n`,
    );
    assert.equal(again.get('app').Subnet, '10.7.0.0/24');
    // a's address is still held (a live-restored container); a new one gets another.
    const d = again.allocate('app', 'd'.repeat(64), 'd');
    assert.ok(![a.ipAddress, c.ipAddress].includes(d.ipAddress));
    again.release('a'.repeat(64));
    again.release('c'.repeat(64));
    again.release('d'.repeat(64));
    await again.remove('app');
    assert.equal(again.find('app'), undefined);
    await again.shutdown(false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a restart restores dozens of endpoints: each keeps its address and name, one whose allocation a crash lost takes it again, and no new container gets any of them', async () => {
  const { root, host, nets } = setup();
  try {
    await nets.init();
    await nets.create({ Name: 'many', IPAM: { Config: [{ Subnet: '10.8.0.0/24' }] } });
    const ids = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32));
    const eps = ids.map((id, i) => nets.allocate('many', id, `c${i}`));
    await nets.shutdown(true);

    const again = new UserNetworks({ host, root, table: 'berth_t_nets', log: quiet, upstream: [], dns: false });
    await again.init();
    // The pool lost the first one's allocation (its write never reached the disk).
    again.release(ids[0]!);
    eps.forEach((ep, i) => again.restore(ep, ids[i]!, `c${i}`));
    const netId = again.get('many').Id;
    eps.forEach((ep, i) => assert.deepEqual(again.resolve(netId, `c${i}`)?.v4, [ep.ipAddress]));
    for (const ep of [eps[0]!, eps[39]!])
      assert.throws(() => again.allocate('many', 'e'.repeat(64), 'e', { ip: ep.ipAddress }), /Address already in use/);
    const fresh = Array.from({ length: 40 }, (_, i) => again.allocate('many', `f${i}`.padEnd(64, 'f'), `f${i}`));
    const restored = new Set(eps.map((ep) => ep.ipAddress));
    assert.equal(restored.size, 40);
    assert.deepEqual(
      fresh.filter((ep) => restored.has(ep.ipAddress)),
      [],
    );
    await again.shutdown(false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('IPv6: the bridge gets the gateway (no DAD), containers an address of each family, AAAA from the resolver, ip6 rules', async () => {
  const { root, host, nets } = setup();
  try {
    await nets.init();
    const n = await nets.create({ Name: 'n6', EnableIPv6: true, IPAM: { Config: [{ Subnet: '2001:db8:1::/64' }] } });
    assert.equal(n.EnableIPv6, true);
    assert.equal(n.Subnet6, '2001:db8:1::/64');
    assert.equal(n.Gateway6, '2001:db8:1::1');
    assert.deepEqual(n.IPAMConfig, [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }, { Subnet: '2001:db8:1::/64' }]);
    const batch = host.inputs.filter((i) => i.cmd === 'ip').at(-1)!.input;
    assert.match(batch, new RegExp(`addr add 2001:db8:1::1/64 dev ${n.Bridge} nodad`));
    const rules = host.inputs.filter((i) => i.cmd === 'nft').at(-1)!.input;
    assert.match(rules, new RegExp(`table ip6 berth_t_nets \\{[^]*iifname "${n.Bridge}" oifname != "${n.Bridge}"`));
    assert.doesNotMatch(rules.slice(rules.indexOf('table ip6 berth_t_nets {')), /masquerade/);
    const a = nets.allocate('n6', 'a'.repeat(64), 'a');
    assert.equal(a.ipv6Address, '2001:db8:1::2');
    assert.equal(a.ipv6PrefixLen, 64);
    assert.equal(a.ipv6Gateway, '2001:db8:1::1');
    const b = nets.allocate('n6', 'b'.repeat(64), 'b', { ip6: '2001:db8:1::10' });
    assert.equal(b.ipv6Address, '2001:db8:1::10');
    assert.deepEqual(nets.resolve(n.Id, 'b', a.ipAddress), { v4: [b.ipAddress], v6: ['2001:db8:1::10'] });
    assert.throws(() => nets.allocate('n6', 'c'.repeat(64), 'c', { ip6: '2001:db8:1::10' }), /Address already in use/);
    assert.throws(
      () => nets.allocate('n6', 'c'.repeat(64), 'c', { ip6: '2001:db8:9::1' }),
      /Invalid address 2001:db8:9::1: It does not belong to any of this network's subnets/,
    );
    // On a network without IPv6 (or with a subnet Berth picked), no address may be asked for.
    await nets.create({ Name: 'v4only' });
    assert.throws(
      () => nets.allocate('v4only', 'd'.repeat(64), 'd', { ip6: '2001:db8:1::5' }),
      /user specified IP address is supported only when connecting to networks with user configured subnets/,
    );
    assert.throws(
      () => nets.allocate('v4only', 'd'.repeat(64), 'd', { ip: '172.19.0.9' }),
      /user specified IP address is supported only when connecting to networks with user configured subnets/,
    );
    // An IPv6 subnet without EnableIPv6: --ip6 is taken, as dockerd takes it, and gives nothing.
    await nets.create({ Name: 'v6off', IPAM: { Config: [{ Subnet: '2001:db8:2::/64' }] } });
    const f = nets.allocate('v6off', 'f'.repeat(64), 'f', { ip6: '2001:db8:2::5' });
    assert.ok(f.ipAddress);
    assert.equal(f.ipv6Address, undefined);
    nets.release('f'.repeat(64));
    nets.release('b'.repeat(64), n.Id);
    assert.equal(nets.allocate('n6', 'e'.repeat(64), 'e', { ip6: '2001:db8:1::10' }).ipv6Address, '2001:db8:1::10');
    nets.release('a'.repeat(64));
    nets.release('e'.repeat(64));
  } finally {
    await nets.shutdown(false);
    rmSync(root, { recursive: true, force: true });
  }
});

test('names dockerd takes (spaces, slashes, unicode) are taken; a blank one is dockerd\'s "invalid name"', async () => {
  const { root, nets } = setup();
  try {
    await nets.init();
    for (const name of ['my net', 'a/b', 'é~!@#', '-x', 'x:y'])
      assert.equal((await nets.create({ Name: name })).Name, name);
    assert.equal(nets.get('my net').Name, 'my net');
    await assert.rejects(nets.create({ Name: ' ' }), /invalid name:  /);
    await assert.rejects(nets.create({}), /invalid name: $/);
  } finally {
    await nets.shutdown(false);
    rmSync(root, { recursive: true, force: true });
  }
});

test('a link in an endpoint makes its alias resolve for the linking container only', async () => {
  const { root, nets } = setup();
  try {
    await nets.init();
    const n = await nets.create({ Name: 'ln' });
    const target = nets.allocate('ln', 'a'.repeat(64), 'l1');
    const linker = nets.allocate('ln', 'b'.repeat(64), 'l2', { links: [{ name: '/l1', alias: 'bar' }] });
    const other = nets.allocate('ln', 'c'.repeat(64), 'l3');
    assert.deepEqual(nets.resolve(n.Id, 'bar', linker.ipAddress)?.v4, [target.ipAddress]);
    assert.deepEqual(nets.resolve(n.Id, 'BAR.', linker.ipAddress)?.v4, [target.ipAddress]);
    assert.equal(nets.resolve(n.Id, 'bar', other.ipAddress), undefined);
    assert.deepEqual(nets.resolve(n.Id, 'l1', linker.ipAddress)?.v4, [target.ipAddress]);
    for (const id of ['a', 'b', 'c']) nets.release(id.repeat(64));
  } finally {
    await nets.shutdown(false);
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * Daemons sharing one fake kernel: a batch's `addr add` gives its bridge the connected route
 * that `ip -j route show` lists from then on, as the kernel does once the bridge is up.
 */
function daemonsOnOneKernel(count: number) {
  const routes = new Map<string, string>();
  const lock = new NetnsLock(`berth-test/${process.pid}/user-subnets`);
  return Array.from({ length: count }, () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-usernet-'));
    const host = new Recording();
    host.responses.set('ip', (args, input) => {
      if (args.includes('route'))
        return { code: 0, stdout: JSON.stringify([...routes.values()].map((dst) => ({ dst }))), stderr: '' };
      for (const m of (input ?? '').matchAll(/^addr add (\d\S*)(?: brd \+)? dev (\S+)$/gm)) routes.set(m[2]!, m[1]!);
      return { code: 0, stdout: '[]', stderr: '' };
    });
    const nets = new UserNetworks({
      host,
      root,
      table: 'berth_t_nets',
      log: quiet,
      upstream: [],
      dns: false,
      subnetLock: lock,
    });
    return { root, nets };
  });
}

test('networks created at once, by one daemon or by two on one host, get subnets that overlap nowhere', async () => {
  const daemons = daemonsOnOneKernel(2);
  try {
    for (const d of daemons) await d.nets.init();
    const made = await Promise.all(
      daemons.flatMap((d, i) => ['a', 'b', 'c'].map((x) => d.nets.create({ Name: `${x}${i}` }))),
    );
    const subnets = made.map((n) => n.Subnet);
    assert.equal(new Set(subnets).size, subnets.length, `subnets: ${subnets.join(' ')}`);
    // Two creates of one name at once: one network.
    const same = await Promise.allSettled([
      daemons[0]!.nets.create({ Name: 'twin' }),
      daemons[0]!.nets.create({ Name: 'twin' }),
    ]);
    assert.deepEqual(same.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  } finally {
    for (const d of daemons) {
      await d.nets.shutdown(false);
      rmSync(d.root, { recursive: true, force: true });
    }
  }
});

test('the rules of networks created at once are replaced one at a time, the last with every network', async () => {
  const { root, host, nets } = setup();
  // An nft run that takes longer the earlier it starts: run at once, the first would finish last.
  let pending = 0;
  const run = host.run.bind(host);
  host.run = async (cmd, args, opts) => {
    if (cmd === 'nft') await new Promise((r) => setTimeout(r, 60 - 20 * Math.min(pending++, 2)));
    try {
      return await run(cmd, args, opts);
    } finally {
      if (cmd === 'nft') pending--;
    }
  };
  try {
    await nets.init();
    const made = await Promise.all(['a', 'b', 'c'].map((Name) => nets.create({ Name })));
    const last = host.inputs.filter((i) => i.cmd === 'nft').at(-1)!.input;
    for (const n of made) assert.match(last, new RegExp(`ip saddr ${n.Subnet.replace(/\./g, '\\.')} oifname`));
  } finally {
    await nets.shutdown(false);
    rmSync(root, { recursive: true, force: true });
  }
});

test("the last network's removal takes the tables of both families in one nft transaction, there or not", async () => {
  const { root, host, nets } = setup();
  try {
    await nets.init();
    const n = await nets.create({ Name: 'only' });
    await nets.remove('only');
    assert.equal(
      host.inputs.filter((i) => i.cmd === 'nft').at(-1)!.input,
      'table ip berth_t_nets\ndelete table ip berth_t_nets\ntable ip6 berth_t_nets\ndelete table ip6 berth_t_nets\n',
    );
    assert.ok(!host.calls.some((c) => c.args[0] === 'sh'), 'no shell and a nft each');
    assert.ok(host.calls.some((c) => c.args.join(' ') === `ip link del ${n.Bridge}`));
    await nets.shutdown(false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
