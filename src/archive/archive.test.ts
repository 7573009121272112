import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, lstat, readlink, mkdir, writeFile, stat, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { applyLayer, tarDirectory, makeTar, type TarEntry as E } from './index.ts';
import { FakeHost } from '../host/index.ts';



async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'berth-archive-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  await mkdir(join(d, 'root'));
  return d;
}

const host = new FakeHost();

test('applies files, modes, owners, symlinks and hardlinks; the diff ID is the uncompressed digest', async (t) => {
  const d = await tmp(t);
  const tar = await makeTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1001, mtime: new Date('2020-01-02T03:04:05Z') },
    { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
    { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
    { name: './etc/abs', type: 'symlink', linkname: '/etc/passwd' },
  ]);
  const plain = await applyLayer(Readable.from([tar]), join(d, 'root'), { host });
  assert.equal(plain.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
  assert.equal(plain.size, tar.length);
  const st = await stat(join(d, 'root/bin/tool'));
  assert.equal(st.mode & 0o7777, 0o4755);
  assert.equal(st.uid, 1000);
  assert.equal(st.gid, 1001);
  assert.equal(st.mtime.toISOString(), '2020-01-02T03:04:05.000Z');
  assert.equal(await readlink(join(d, 'root/bin/alias')), 'tool');
  assert.equal((await stat(join(d, 'root/bin/hard'))).ino, st.ino);
  assert.equal(await readlink(join(d, 'root/etc/abs')), '/etc/passwd', 'absolute symlinks are kept, never followed');
  for (const [name, z] of [['gzip', gzipSync(tar)], ['zstd', zstdCompressSync(tar)]] as const) {
    await mkdir(join(d, name));
    const r = await applyLayer(Readable.from([z]), join(d, name), { host });
    assert.equal(r.diffId, plain.diffId, `${name} layers have the diff ID of their uncompressed tar`);
    assert.equal(await readFile(join(d, name, 'bin/tool'), 'utf8'), '#!/bin/sh\n');
  }
});

test('hostile entries are refused and nothing lands outside the root', async (t) => {
  const d = await tmp(t);
  const outside = join(d, 'outside');
  await mkdir(outside);
  const cases: Array<[string, E[]]> = [
    ['dot-dot', [{ name: '../outside/pwned', content: 'x' }]],
    ['hardlink out', [{ name: 'h', type: 'link', linkname: '../outside/secret' }]],
  ];
  await writeFile(join(outside, 'secret'), 'secret');
  for (const [why, entries] of cases) {
    await assert.rejects(applyLayer(Readable.from([await makeTar(entries)]), join(d, 'root'), { host }), /escapes the root/, why);
  }
  // A symlink to an outside directory, then a file through it: resolved inside the root.
  await applyLayer(Readable.from([await makeTar([
    { name: 'evil', type: 'symlink', linkname: outside },
    { name: 'evil/pwned', content: 'x' },
    { name: 'up', type: 'symlink', linkname: '../../../../..' },
    { name: 'up/pwned2', content: 'y' },
  ])]), join(d, 'root'), { host });
  assert.deepEqual(await readdir(outside), ['secret'], 'nothing was written through the symlinks');
  assert.equal(await readFile(join(d, 'root', outside, 'pwned'), 'utf8'), 'x', 'the absolute link target was taken inside the root');
  assert.equal(await readFile(join(d, 'root', 'pwned2'), 'utf8'), 'y', '.. stops at the root');
  assert.equal(existsSync('/pwned2'), false);
});

test('a decompression bomb stops at the limit', async (t) => {
  const d = await tmp(t);
  const big = gzipSync(await makeTar([{ name: 'zeros', content: '\0'.repeat(1 << 20) }]));
  assert.ok(big.length < 10_000);
  await assert.rejects(applyLayer(Readable.from([big]), join(d, 'root'), { host, maxBytes: 64 * 1024 }), /exceeds the limit/);
});

test('whiteouts: overlay form for lower layers, deletions on a flat tree', async (t) => {
  const d = await tmp(t);
  const fake = new FakeHost();
  await applyLayer(Readable.from([await makeTar([{ name: 'a/', type: 'directory' }, { name: 'a/.wh.gone', content: '' }, { name: 'b/', type: 'directory' }, { name: 'b/.wh..wh..opq', content: '' }])]), join(d, 'root'), { host: fake, overlayWhiteouts: true });
  assert.deepEqual(fake.calls.map((c) => c.op), ['mknod', 'setxattr']);
  assert.deepEqual(fake.calls[0]!.args, [join(d, 'root/a/gone'), 'c', 0, 0, 0]);
  assert.deepEqual(fake.calls[1]!.args, [join(d, 'root/b'), 'trusted.overlay.opaque', 'y']);

  const flat = join(d, 'flat');
  await mkdir(join(flat, 'keep'), { recursive: true });
  await writeFile(join(flat, 'gone'), 'x');
  await writeFile(join(flat, 'keep', 'old'), 'x');
  await applyLayer(Readable.from([await makeTar([{ name: '.wh.gone', content: '' }, { name: 'keep/.wh..wh..opq', content: '' }, { name: 'keep/new', content: 'n' }])]), flat, { host });
  assert.equal(existsSync(join(flat, 'gone')), false);
  assert.deepEqual(await readdir(join(flat, 'keep')), ['new']);
});

test('tarDirectory round-trips through applyLayer and is deterministic', async (t) => {
  const d = await tmp(t);
  await applyLayer(Readable.from([await makeTar([
    { name: 'x/', type: 'directory', mode: 0o750 },
    { name: 'x/f', content: 'hello', mode: 0o640, uid: 7, gid: 8 },
    { name: 'x/l', type: 'symlink', linkname: 'f' },
    { name: 'x/h', type: 'link', linkname: 'x/f' },
  ])]), join(d, 'root'), { host });
  const collect = async (s: Readable) => Buffer.concat(await s.toArray());
  const a = await collect(tarDirectory(join(d, 'root')));
  const b = await collect(tarDirectory(join(d, 'root')));
  assert.deepEqual(a, b);
  await mkdir(join(d, 'copy'));
  await applyLayer(Readable.from([a]), join(d, 'copy'), { host });
  const st = await lstat(join(d, 'copy/x/f'));
  assert.equal(st.mode & 0o777, 0o640);
  assert.equal(st.uid, 7);
  assert.equal((await lstat(join(d, 'copy/x'))).mode & 0o777, 0o750);
  assert.equal(await readlink(join(d, 'copy/x/l')), 'f');
  assert.equal((await lstat(join(d, 'copy/x/h'))).ino, st.ino);
});
