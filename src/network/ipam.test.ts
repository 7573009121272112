import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ipam } from './ipam.ts';
import { parseCidr, pickFree, macFor, ipToInt, BRIDGE_CANDIDATES } from './cidr.ts';

test('ipam: distinct addresses, round robin, never the gateway, persisted across reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipam-'));
  try {
    let ipam = new Ipam(join(dir, 'ipam.db'));
    const s = parseCidr('10.9.0.0/29');
    ipam.setPool('bridge', s, s.base + 1);
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
    ipam.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cidr: a free subnet avoids every route, docker0 included', () => {
  const used = ['172.17.0.0/16', '172.29.5.0/24', '192.0.2.0/24'].map(parseCidr);
  const free = pickFree(BRIDGE_CANDIDATES, used)!;
  assert.equal(`${free.base >>> 24}.${(free.base >>> 16) & 255}`, '172.30');
  assert.equal(macFor(ipToInt('172.17.0.2')), '02:42:ac:11:00:02');
});
