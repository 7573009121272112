import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installDefaultNetwork, loadCni } from './load.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-cni-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('--cni-conf-dir and --cni-bin-dir: the network from the directory, plugins from the first bin dir that has them', async () => {
  const conf = join(dir, 'net.d');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  for (const d of [conf, a, b]) mkdirSync(d, { recursive: true });
  writeFileSync(
    join(conf, '10-pods.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'pods',
      plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }, { type: 'portmap' }],
    }),
  );
  mkdirSync(join(conf, '05-dir.conf'));
  for (const [d, n, mode] of [
    [a, 'bridge', 0o755],
    [b, 'bridge', 0o755],
    [b, 'host-local', 0o755],
    [a, 'portmap', 0o644],
  ] as const) {
    writeFileSync(join(d, n), '#!/bin/sh\n');
    chmodSync(join(d, n), mode);
  }
  const s = await loadCni(conf, [a, b, join(dir, 'absent')]);
  assert.equal(s.network?.name, 'pods');
  assert.equal(s.available.get('bridge'), join(a, 'bridge'));
  assert.equal(s.available.get('host-local'), join(b, 'host-local'));
  // Not executable: not a plugin.
  assert.deepEqual(s.missing, ['portmap']);
});

test('a node without CNI: no directory is no network and no plugins, not an error', async () => {
  const s = await loadCni(join(dir, 'none'), [join(dir, 'nobin')]);
  assert.equal(s.network, undefined);
  assert.equal(s.available.size, 0);
  assert.deepEqual(s.missing, []);
});

test('--cni-default-network writes 10-berth-cni0.conflist into an empty or invalid directory, and never beside a valid network', async () => {
  const conf = join(dir, 'default.d');
  const written = await installDefaultNetwork(conf);
  assert.equal(written, join(conf, '10-berth-cni0.conflist'));
  const s = await loadCni(conf, []);
  assert.equal(s.network?.name, 'berth-pods');
  assert.equal(s.network?.plugins[0]!.bridge, 'berth-cni0');
  assert.equal(await installDefaultNetwork(conf), undefined);

  const other = join(dir, 'other.d');
  mkdirSync(other);
  writeFileSync(
    join(other, '87-podman-bridge.conflist'),
    JSON.stringify({ cniVersion: '0.4.0', name: 'podman', plugins: [{ type: 'bridge' }] }),
  );
  assert.equal(await installDefaultNetwork(other), undefined);
  assert.deepEqual(readdirSync(other), ['87-podman-bridge.conflist']);
});
