import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statPath } from './copy.ts';

test('paths resolve inside the root: symlinks out of it land back in it; the last one is kept unless /.', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-copy-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n', { mode: 0o644 });
    symlinkSync('/etc', join(root, 'etclink'));
    symlinkSync('../../../../etc/passwd', join(root, 'climb'));
    const f = await statPath(root, '/etclink/passwd', 'c');
    assert.equal(f.abs, join(root, 'etc', 'passwd'));
    assert.equal(f.stat.mode, 0o644);
    assert.equal(f.stat.name, 'passwd');
    const link = await statPath(root, 'climb', 'c');
    assert.ok(link.st.isSymbolicLink());
    assert.equal(link.stat.linkTarget, '/etc/passwd');
    assert.equal(link.stat.mode, 0o777 + 2 ** 27);
    const dir = await statPath(root, '/etclink/.', 'c');
    assert.equal(dir.abs, join(root, 'etc'));
    assert.equal(dir.stat.name, '.');
    assert.equal(dir.stat.mode, (dir.st.mode & 0o777) + 2 ** 31);
    await assert.rejects(statPath(root, '/nope/x', 'c'), /Could not find the file \/nope\/x in container c/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
