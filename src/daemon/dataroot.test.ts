import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secureDataRoot } from './dataroot.ts';

test('a data root is tightened at start: 0711 itself, its database 0600, its stores closed to others', async () => {
  const root = join(mkdtempSync(join(tmpdir(), 'berth-dataroot-')), 'data');
  try {
    mkdirSync(root, { mode: 0o755 });
    chmodSync(root, 0o755);
    for (const d of ['content', 'overlay', 'tmp', 'volumes', 'containers']) {
      mkdirSync(join(root, d));
      chmodSync(join(root, d), 0o755);
    }
    writeFileSync(join(root, 'metadata.db'), '');
    chmodSync(join(root, 'metadata.db'), 0o644);
    const changed = await secureDataRoot(root);
    const mode = (p: string) => statSync(join(root, p)).mode & 0o777;
    assert.equal(mode('.'), 0o711);
    assert.equal(mode('metadata.db'), 0o600);
    assert.equal(mode('content'), 0o700);
    assert.equal(mode('overlay'), 0o710);
    assert.equal(mode('tmp'), 0o700);
    assert.equal(mode('volumes'), 0o701);
    assert.equal(mode('containers'), 0o710);
    assert.ok(
      changed.some((c) => c.endsWith('metadata.db 0644 -> 0600')),
      changed.join('\n'),
    );
    assert.deepEqual(await secureDataRoot(root), [], 'nothing to change the second time');
  } finally {
    rmSync(join(root, '..'), { recursive: true, force: true });
  }
});

test('under --userns-remap the remapped root, containers/ and overlay/ let the remapped group through (root:<gid> 0710), as dockerd', async () => {
  const root = join(mkdtempSync(join(tmpdir(), 'berth-dataroot-')), '100000.100000');
  try {
    mkdirSync(root);
    for (const d of ['content', 'overlay', 'containers']) mkdirSync(join(root, d));
    await secureDataRoot(root, 100000);
    const st = (p: string) => statSync(join(root, p));
    for (const p of ['.', 'overlay', 'containers']) {
      assert.equal(st(p).mode & 0o777, 0o710, p);
      assert.equal(st(p).gid, 100000, p);
    }
    assert.equal(st('content').mode & 0o777, 0o700);
    assert.equal(st('content').gid, 0);
  } finally {
    rmSync(join(root, '..'), { recursive: true, force: true });
  }
});
