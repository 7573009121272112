import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Ipam } from './ipam.ts';
import { parseCidr, pickFree, macFor, ipToInt, BRIDGE_CANDIDATES } from './cidr.ts';
import { parseAddr, parsePrefix } from './ip.ts';

const withDir = (fn: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), 'ipam-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
const addr = (s: string) => parseAddr(s).value;

test('ipam: distinct addresses, round robin, never the gateway, persisted across reopen', () => {
  withDir((dir) => {
    let ipam = new Ipam(join(dir, 'ipam.db'));
    ipam.setPool('bridge', { subnet: parsePrefix('10.9.0.0/29'), gateway: addr('10.9.0.1') });
    const a = ipam.allocate('bridge', 'a');
    const b = ipam.allocate('bridge', 'b');
    assert.deepEqual([a, b], ['10.9.0.2', '10.9.0.3']);
    assert.equal(ipam.allocate('bridge', 'a'), a, 'an owner keeps its address');
    ipam.release('bridge', 'a');
    assert.equal(ipam.allocate('bridge', 'c'), '10.9.0.4', 'a freed address is not reused at once');
    ipam.close();
    ipam = new Ipam(join(dir, 'ipam.db'));
    assert.equal(ipam.lookup('bridge', 'b'), b);
    assert.equal(ipam.allocate('bridge', 'd'), '10.9.0.5');
    assert.equal(ipam.allocate('bridge', 'e'), '10.9.0.6');
    assert.equal(ipam.allocate('bridge', 'f'), '10.9.0.2', 'wraps past broadcast and gateway');
    assert.throws(() => ipam.allocate('bridge', 'g'), /no available IPv4 addresses/);
    assert.throws(() => ipam.allocate('bridge', 'h', '10.9.0.3'), /Address already in use/);
    for (const taken of ['10.9.0.1', '10.9.0.0', '10.9.0.7'])
      assert.throws(() => ipam.allocate('bridge', 'h', taken), /Address already in use/, taken);
    assert.throws(() => ipam.allocate('bridge', 'h', '10.9.1.9'), /Invalid address 10.9.1.9: It does not belong/);
    ipam.close();
  });
});

test('ipam: a range gives the automatic addresses, the subnet takes requested ones, reserved ones never', () => {
  withDir((dir) => {
    const ipam = new Ipam(join(dir, 'ipam.db'));
    ipam.setPool('n', {
      subnet: parsePrefix('10.63.0.0/24'),
      gateway: addr('10.63.0.1'),
      range: parsePrefix('10.63.0.128/30'),
      reserved: [addr('10.63.0.130')],
    });
    assert.deepEqual(
      ['a', 'b', 'c'].map((o) => ipam.allocate('n', o)),
      ['10.63.0.128', '10.63.0.129', '10.63.0.131'],
      "dockerd's order: the range's first address is a host's",
    );
    assert.throws(() => ipam.allocate('n', 'd'), /no available IPv4 addresses/, 'the range is full');
    assert.equal(ipam.allocate('n', 'd', '10.63.0.5'), '10.63.0.5', 'outside the range, inside the subnet');
    assert.throws(() => ipam.allocate('n', 'e', '10.63.0.130'), /Address already in use/);
    ipam.close();
  });
});

test('ipam: IPv6 pools, a /64 round robin from ::2, the subnet-router address never given', () => {
  withDir((dir) => {
    const ipam = new Ipam(join(dir, 'ipam.db'));
    ipam.setPool('v6', { subnet: parsePrefix('2001:db8:1::/64'), gateway: addr('2001:db8:1::1') });
    assert.equal(ipam.allocate('v6', 'a'), '2001:db8:1::2');
    assert.equal(ipam.allocate('v6', 'b', '2001:db8:1::10'), '2001:db8:1::10');
    assert.equal(ipam.allocate('v6', 'c'), '2001:db8:1::3');
    assert.throws(() => ipam.allocate('v6', 'd', '2001:db8:1::'), /Address already in use/);
    assert.throws(() => ipam.allocate('v6', 'd', '2001:db8:1::1'), /Address already in use/);
    assert.throws(() => ipam.allocate('v6', 'd', '2001:db8:2::5'), /It does not belong/);
    assert.deepEqual(
      ipam.all().map((x) => x.ip),
      ['2001:db8:1::2', '2001:db8:1::10', '2001:db8:1::3'],
    );
    ipam.close();
  });
});

test('ipam: a schema 1 database (IPv4 as integers) is converted, its allocations kept', () => {
  withDir((dir) => {
    const path = join(dir, 'ipam.db');
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE pools (name TEXT PRIMARY KEY, base INTEGER NOT NULL, prefix INTEGER NOT NULL, gateway INTEGER NOT NULL, last INTEGER NOT NULL);
      CREATE TABLE allocations (pool TEXT NOT NULL, ip INTEGER NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (pool, ip), UNIQUE (pool, owner));`);
    old
      .prepare('INSERT INTO pools VALUES (?, ?, ?, ?, ?)')
      .run('bridge', ipToInt('172.29.0.0'), 16, ipToInt('172.29.0.1'), ipToInt('172.29.0.7'));
    old.prepare('INSERT INTO allocations VALUES (?, ?, ?)').run('bridge', ipToInt('172.29.0.7'), 'c1');
    old.close();
    const ipam = new Ipam(path);
    assert.equal(ipam.lookup('bridge', 'c1'), '172.29.0.7');
    assert.equal(ipam.pool('bridge')?.gateway, '172.29.0.1');
    assert.equal(ipam.allocate('bridge', 'c2'), '172.29.0.8', 'round robin goes on from where it was');
    ipam.close();
    const again = new Ipam(path);
    assert.equal(again.lookup('bridge', 'c2'), '172.29.0.8');
    again.close();
  });
});

test('ipam: an owner asking for another address moves to it, and its old one is free again', () => {
  withDir((dir) => {
    const ipam = new Ipam(join(dir, 'ipam.db'));
    ipam.setPool('n', { subnet: parsePrefix('10.64.0.0/29'), gateway: addr('10.64.0.1') });
    assert.equal(ipam.allocate('n', 'a'), '10.64.0.2');
    assert.equal(ipam.allocate('n', 'a', '10.64.0.5'), '10.64.0.5', 'a reconnect with --ip takes the new one');
    assert.equal(ipam.lookup('n', 'a'), '10.64.0.5');
    assert.equal(ipam.allocate('n', 'b', '10.64.0.2'), '10.64.0.2', 'the old address went with the move');
    assert.throws(() => ipam.allocate('n', 'c', '10.64.0.5'), /Address already in use/);
    assert.deepEqual(
      ipam
        .all()
        .map((x) => `${x.owner}=${x.ip}`)
        .sort(),
      ['a=10.64.0.5', 'b=10.64.0.2'],
    );
    ipam.close();
  });
});

test('ipam: pools are independent; a redefined pool keeps only what its new subnet holds; a deleted one frees all', () => {
  withDir((dir) => {
    const ipam = new Ipam(join(dir, 'ipam.db'));
    ipam.setPool('x', { subnet: parsePrefix('10.65.0.0/24'), gateway: addr('10.65.0.1') });
    ipam.setPool('y', { subnet: parsePrefix('10.66.0.0/24'), gateway: addr('10.66.0.1') });
    assert.equal(ipam.allocate('x', 'a'), '10.65.0.2');
    assert.equal(ipam.allocate('y', 'a'), '10.66.0.2', 'one owner, one address in each pool');
    assert.equal(ipam.allocate('x', 'b', '10.65.0.200'), '10.65.0.200');
    ipam.setPool('x', { subnet: parsePrefix('10.65.0.0/25'), gateway: addr('10.65.0.1') });
    assert.equal(ipam.lookup('x', 'a'), '10.65.0.2', 'inside the new subnet: kept');
    assert.equal(ipam.lookup('x', 'b'), undefined, 'outside it: dropped');
    assert.equal(ipam.pool('x')?.subnet.bits, 25);
    ipam.deletePool('x');
    assert.equal(ipam.pool('x'), undefined);
    assert.equal(ipam.lookup('x', 'a'), undefined);
    assert.throws(() => ipam.allocate('x', 'c'), /network x not found/);
    assert.deepEqual(
      ipam.all().map((x) => `${x.pool}:${x.owner}=${x.ip}`),
      ['y:a=10.66.0.2'],
    );
    ipam.close();
  });
});

test('ipam: a requested address of the other family is not in the subnet', () => {
  withDir((dir) => {
    const ipam = new Ipam(join(dir, 'ipam.db'));
    ipam.setPool('v4', { subnet: parsePrefix('10.67.0.0/24'), gateway: addr('10.67.0.1') });
    ipam.setPool('v6', { subnet: parsePrefix('2001:db8:7::/64'), gateway: addr('2001:db8:7::1') });
    assert.throws(() => ipam.allocate('v4', 'a', '2001:db8:7::5'), /Invalid address 2001:db8:7::5: It does not belong/);
    assert.throws(() => ipam.allocate('v6', 'a', '10.67.0.5'), /Invalid address 10.67.0.5: It does not belong/);
    assert.deepEqual(ipam.all(), []);
    ipam.close();
  });
});

test("cidr: the default bridge takes Docker's 172.17/16 when it is free, else a subnet no route uses", () => {
  assert.equal(formatFree([]), '172.17');
  assert.equal(formatFree(['172.17.0.0/16', '172.29.5.0/24', '192.0.2.0/24']), '172.30');
  assert.equal(macFor(ipToInt('172.17.0.2')), '02:42:ac:11:00:02');
});

function formatFree(used: string[]): string {
  const free = pickFree(BRIDGE_CANDIDATES, used.map(parseCidr))!;
  return `${free.base >>> 24}.${(free.base >>> 16) & 255}`;
}

test("ipam: an owner's pools are found through an index, not by reading every allocation", () => {
  withDir((dir) => {
    const path = join(dir, 'ipam.db');
    const ipam = new Ipam(path);
    ipam.setPool('n1', { subnet: parsePrefix('10.9.0.0/24'), gateway: addr('10.9.0.1') });
    ipam.setPool('n2', { subnet: parsePrefix('10.9.1.0/24'), gateway: addr('10.9.1.1') });
    for (let i = 0; i < 50; i++) ipam.allocate('n1', `c${i}`);
    ipam.allocate('n2', 'c7');
    assert.deepEqual(ipam.poolsOf('c7').sort(), ['n1', 'n2']);
    assert.deepEqual(ipam.poolsOf('nobody'), []);
    ipam.close();
    const db = new DatabaseSync(path);
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT pool FROM ipam_allocations WHERE owner = ?').all('c7');
    db.close();
    assert.match(JSON.stringify(plan), /USING INDEX ipam_allocations_by_owner/);
  });
});

test('ipam: an address given and one freed stay so after the daemon is killed with SIGKILL, never closed', () => {
  withDir((dir) => {
    const db = join(dir, 'ipam.db');
    // A process that allocates and releases, then dies without closing the database.
    const script = `
      const { Ipam } = await import(${JSON.stringify(join(import.meta.dirname, 'ipam.ts'))});
      const { parsePrefix, parseAddr } = await import(${JSON.stringify(join(import.meta.dirname, 'ip.ts'))});
      const ipam = new Ipam(${JSON.stringify(db)});
      ipam.setPool('net', { subnet: parsePrefix('10.9.0.0/29'), gateway: parseAddr('10.9.0.1').value });
      ipam.allocate('net', 'a');
      ipam.allocate('net', 'b');
      ipam.release('net', 'a');
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const ipam = new Ipam(db);
    assert.equal(ipam.lookup('net', 'a'), undefined, 'the release is kept');
    assert.equal(ipam.lookup('net', 'b'), '10.9.0.3', 'the allocation is kept');
    assert.equal(ipam.allocate('net', 'c'), '10.9.0.4', 'and nothing given is given again');
    ipam.close();
  });
});
