import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { is } from '../errdefs/index.ts';
import { cleanEntryName, isInside, resolveInRoot } from './index.ts';
import { parseGetfattr } from './xattrs.ts';

test('resolveInRoot follows symlinks as a process chrooted into the root would', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'berth-resolve-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'usr/etc'), { recursive: true });
  await writeFile(join(root, 'usr/etc/passwd'), 'x');
  await symlink('/usr/etc', join(root, 'etc'));
  await symlink('../../../../..', join(root, 'up'));
  await symlink('/', join(root, 'slash'));
  await symlink('nowhere/../etc', join(root, 'via-missing'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  assert.equal(await resolveInRoot(root, 'etc/passwd'), join(root, 'usr/etc/passwd'));
  assert.equal(await resolveInRoot(root, 'up/etc/passwd'), join(root, 'usr/etc/passwd'));
  assert.equal(await resolveInRoot(root, 'slash/slash/etc'), join(root, 'usr/etc'));
  assert.equal(
    await resolveInRoot(root, '/../../etc/shadow'),
    join(root, 'usr/etc/shadow'),
    'missing last components are kept',
  );
  assert.equal(
    await resolveInRoot(root, 'via-missing/passwd'),
    join(root, 'usr/etc/passwd'),
    'resolution goes on after a missing component',
  );
  assert.equal(await resolveInRoot(root, 'etc/passwd/x'), undefined, 'a file on the way');
  await assert.rejects(
    resolveInRoot(root, 'loop1/x'),
    (e) => is(e, 'InvalidArgument') && /too many levels/.test((e as Error).message),
  );
});

test('entry names are cleaned lexically, and those that climb out are refused', () => {
  assert.equal(cleanEntryName('./usr//bin/'), 'usr/bin');
  assert.equal(cleanEntryName('/etc/passwd'), 'etc/passwd');
  assert.equal(cleanEntryName('a/../b'), 'b');
  assert.equal(cleanEntryName('./'), '');
  assert.equal(cleanEntryName('..foo'), '..foo');
  for (const bad of ['..', '../x', 'a/../../x', '/../x', 'a\0b'])
    assert.throws(
      () => cleanEntryName(bad),
      (e) => is(e, 'InvalidArgument'),
      bad,
    );
  assert.ok(isInside('/r', '/r/..foo'));
  assert.ok(isInside('/r', '/r'));
  assert.ok(!isInside('/r', '/r2'));
  assert.ok(!isInside('/r', '/'));
});

test('getfattr output is parsed with its octal escapes', () => {
  const out = [
    '# file: /up/a',
    'trusted.overlay.opaque=0x79',
    '',
    '# file: /up/we\\134ird\\012name',
    'security.capability=0x0100000200200000',
    'user.empty',
    '',
    '# file: /up',
    'trusted.overlay.opaque=0x79',
    '',
    '# file: /upper/not-ours',
    'trusted.overlay.opaque=0x79',
    '',
  ].join('\n');
  const x = parseGetfattr(out, '/up');
  assert.deepEqual([...x.keys()], ['a', 'we\\ird\nname', '']);
  assert.equal(x.get('a')!.get('trusted.overlay.opaque')!.toString(), 'y');
  assert.deepEqual(x.get('we\\ird\nname')!.get('security.capability'), Buffer.from('0100000200200000', 'hex'));
  assert.equal(x.get('we\\ird\nname')!.get('user.empty')!.length, 0);
});
