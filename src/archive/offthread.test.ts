import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { is } from '../errdefs/index.ts';
import { FakeHost } from '../host/testing.ts';
import { applyLayer, applyLayerOffThread, type ApplyOptions } from './index.ts';
import { makeTar, type TarEntry } from './testing.ts';

async function scratch(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'berth-offthread-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'secret');
  const root = async (name: string) => {
    const r = join(dir, 'a', name);
    await mkdir(r, { recursive: true });
    return r;
  };
  return { dir, outside, root };
}

/** Every path under `root` with its type, mode, owner, times and content or link target. */
async function describeTree(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, p));
    const what = st.isDirectory()
      ? 'dir'
      : st.isSymbolicLink()
        ? `-> ${await readlink(join(root, p))}`
        : `file ${createHash('sha256')
            .update(await readFile(join(root, p)))
            .digest('hex')}`;
    // Directories the tar does not name are made now, with the time of now.
    const when = st.isDirectory() && p !== 'bin' ? '' : ` ${st.mtimeMs}`;
    out.push(`${p} ${what} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.nlink}${when}`);
    if (st.isDirectory()) out.push(...(await describeTree(root, p)));
  }
  return out;
}

/** Chunks of `b` of `n` bytes: a stream as a connection delivers it. */
const chunked = (b: Buffer, n = 64 * 1024) =>
  Readable.from(Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n)));

const layer: TarEntry[] = [
  { name: 'bin/', type: 'directory', mode: 0o750, uid: 3, gid: 4, mtime: new Date('2020-01-02T03:04:05Z') },
  { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1001 },
  { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
  { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
  { name: 'data/big', content: randomBytes(3 << 20) },
  ...Array.from({ length: 200 }, (_, i) => ({ name: `data/small/${i}`, content: randomBytes(i * 97) })),
  { name: 'etc/.wh.gone', content: '' },
  { name: 'opt/.wh..wh..opq', content: '' },
  { name: 'opt/x', content: 'x', pax: { 'SCHILY.xattr.user.note': 'hi' } },
];

test('a layer unpacked on the worker thread gives the same files, diff ID, size and host calls as applyLayer', async (t) => {
  const s = await scratch(t);
  const tar = await makeTar(layer);
  for (const [kind, bytes] of [
    ['plain', tar],
    ['gzip', gzipSync(tar)],
    ['zstd', zstdCompressSync(tar)],
  ] as const) {
    const opts = (host: FakeHost): ApplyOptions => ({ host, overlayWhiteouts: true });
    const [here, there] = [await s.root(`${kind}-here`), await s.root(`${kind}-there`)];
    const hostHere = new FakeHost();
    const hostThere = new FakeHost();
    const a = await applyLayer(chunked(bytes), here, opts(hostHere));
    const b = await applyLayerOffThread(chunked(bytes), there, opts(hostThere));
    assert.deepEqual(b, a, kind);
    assert.equal(b.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
    assert.deepEqual(await describeTree(there), await describeTree(here), kind);
    const rel = (h: FakeHost, root: string) => JSON.stringify(h.calls).replaceAll(root, '<root>');
    assert.equal(rel(hostThere, there), rel(hostHere, here), `${kind}: whiteouts and xattrs made through the host`);
    assert.ok(hostThere.calls.some((c) => c.op === 'mknod'));
  }
});

test('hostile tars are refused on the worker thread as by applyLayer, and nothing lands outside the root', async (t) => {
  const s = await scratch(t);
  const root = await s.root('root');
  const refused: Array<[TarEntry[], RegExp]> = [
    [[{ name: '../../outside/pwned', content: 'x' }], /^apply layer: entry "..\/..\/outside\/pwned" escapes the root$/],
    [[{ name: 'h', type: 'link', linkname: '../../outside/secret' }], /escapes the root/],
    [
      [
        { name: 'out', type: 'symlink', linkname: s.outside },
        { name: 'h', type: 'link', linkname: 'out/secret' },
      ],
      /target not found/,
    ],
    [[{ name: 'd/.wh..', content: '' }], /not a valid whiteout/],
  ];
  for (const [entries, message] of refused) {
    await assert.rejects(
      applyLayerOffThread(Readable.from([await makeTar(entries)]), root, { host: new FakeHost() }),
      (e) => is(e, 'InvalidArgument') && message.test((e as Error).message),
    );
    assert.deepEqual(await readdir(s.outside), ['secret']);
  }
  const gz = gzipSync(await makeTar([{ name: 'f', content: 'x' }]));
  gz[20]! ^= 0xff;
  await assert.rejects(
    applyLayerOffThread(Readable.from([gz]), root, { host: new FakeHost() }),
    (e) => is(e, 'InvalidArgument') && /^apply layer: /.test((e as Error).message),
  );
  const bomb = gzipSync(await makeTar([{ name: 'zeros', content: Buffer.alloc(8 << 20) }]));
  await assert.rejects(
    applyLayerOffThread(Readable.from([bomb]), root, { host: new FakeHost(), maxBytes: 1 << 20 }),
    (e) => is(e, 'InvalidArgument') && /exceeds the limit of 1048576 bytes/.test((e as Error).message),
  );
});

test('a source that fails midway fails the unpacking with its error, and nothing writes after it settles', async (t) => {
  const s = await scratch(t);
  const root = await s.root('root');
  const tar = gzipSync(await makeTar([{ name: 'big', content: randomBytes(16 << 20) }]));
  const source = new PassThrough();
  const applied = applyLayerOffThread(source, root, { host: new FakeHost() });
  source.write(tar.subarray(0, tar.length >> 1));
  setTimeout(() => source.destroy(new Error('connection reset')), 50);
  await assert.rejects(applied, /connection reset/);
  // The caller removes the scratch directory now: nothing of the worker's may recreate it.
  await rm(root, { recursive: true, force: true });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(existsSync(root), false);
  // The thread is reused for the next layer.
  const again = await s.root('again');
  const r = await applyLayerOffThread(Readable.from([await makeTar([{ name: 'f', content: 'y' }])]), again, {
    host: new FakeHost(),
  });
  assert.ok(r.size > 0);
  assert.equal(await readFile(join(again, 'f'), 'utf8'), 'y');
});

test('a source that failed before it was handed over fails the unpacking at once, and the thread is reused', async (t) => {
  const s = await scratch(t);
  for (const [name, fail] of [
    ['errored', (x: PassThrough) => x.destroy(new Error('connection dropped ahead'))],
    ['closed', (x: PassThrough) => x.destroy()],
  ] as const) {
    const source = new PassThrough();
    source.on('error', () => {});
    fail(source);
    await new Promise((r) => setImmediate(r));
    const root = await s.root(name);
    await assert.rejects(
      applyLayerOffThread(source, root, { host: new FakeHost() }),
      name === 'errored' ? /connection dropped ahead/ : /premature close/i,
    );
  }
  const again = await s.root('again');
  const r = await applyLayerOffThread(Readable.from([await makeTar([{ name: 'f', content: 'y' }])]), again, {
    host: new FakeHost(),
  });
  assert.equal(await readFile(join(again, 'f'), 'utf8'), 'y');
  assert.ok(r.size > 0);
});

test('a source that errors after its end changes nothing, and the thread goes on to the next layer', async (t) => {
  const s = await scratch(t);
  const tar = await makeTar([{ name: 'f', content: 'x' }]);
  for (const name of ['one', 'two', 'three']) {
    const root = await s.root(name);
    const source = new PassThrough();
    const applied = applyLayerOffThread(source, root, { host: new FakeHost() });
    source.end(tar);
    // As a digest check failing on a stream already read to its end destroys it.
    source.once('end', () => setImmediate(() => source.destroy(new Error('late'))));
    const r = await applied;
    assert.equal(r.size, tar.length, name);
    assert.equal(await readFile(join(root, 'f'), 'utf8'), 'x');
  }
});
