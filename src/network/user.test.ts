import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunOptions, RunResult } from '../host/index.ts';
import { FakeHost } from '../host/testing.ts';
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
    defaultBridge: () => ({ name: 'berth0', subnet: '172.29.0.0/16' }),
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
    assert.match(batch, new RegExp(`link add ${n.Bridge} type bridge`));
    assert.match(batch, new RegExp(`addr add 172\\.19\\.0\\.1/16 dev ${n.Bridge}`));
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
    assert.equal(nets.resolve(n.Id, 'database'), a.ipAddress);
    assert.equal(nets.resolve(n.Id, 'WEB.'), b.ipAddress);
    assert.equal(nets.resolve(n.Id, 'nobody'), undefined);
    await assert.rejects(nets.remove('app'), /has active endpoints/);
    nets.release('b'.repeat(64));
    assert.equal(nets.resolve(n.Id, 'web'), undefined);
    await nets.shutdown(true);

    const again = new UserNetworks({ host, root, table: 'berth_t_nets', log: quiet, upstream: [], dns: false });
    await again.init();
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
