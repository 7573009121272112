import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { is } from '../errdefs/index.ts';
import { RealHost } from '../host/index.ts';
import { FakeHost } from '../host/testing.ts';
import { applyLayer, detectCompression } from './index.ts';
import { makeTar, type TarEntry } from './testing.ts';

interface Scratch {
  /** The temporary directory; `outside` sits in it, next to the root. */
  dir: string;
  root: string;
  outside: string;
}

/** root = <tmp>/a/root, so that `../..` from the root lands in <tmp>, where `outside` is. */
async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-apply-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'a', 'root');
  const outside = join(dir, 'outside');
  await mkdir(root, { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'secret');
  return { dir, root, outside };
}

const fake = () => new FakeHost();
const tarOf = async (entries: TarEntry[]) => Readable.from([await makeTar(entries)]);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function listOutside(s: Scratch): Promise<string[]> {
  return (await readdir(s.outside)).sort();
}

test('applies files, modes, owners, times, symlinks and hardlinks; the diff ID is the uncompressed digest', async (t) => {
  const s = await scratch(t);
  const when = new Date('2020-01-02T03:04:05Z');
  const tar = await makeTar([
    { name: 'bin/', type: 'directory', mode: 0o750, uid: 3, gid: 4, mtime: when },
    { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1001, mtime: when },
    { name: 'bin/sgid', content: 'x', mode: 0o2711 },
    { name: 'bin/alias', type: 'symlink', linkname: 'tool', uid: 5, gid: 6, mtime: when },
    { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: './etc/abs', type: 'symlink', linkname: '/etc/passwd' },
  ]);
  const r = await applyLayer(Readable.from([tar]), s.root, { host: fake() });
  assert.equal(r.diffId, sha(tar));
  assert.equal(r.size, tar.length);

  const tool = await stat(join(s.root, 'bin/tool'));
  assert.equal(tool.mode & 0o7777, 0o4755, 'setuid survives the chown');
  assert.equal([tool.uid, tool.gid].join(':'), '1000:1001');
  assert.equal(tool.mtime.toISOString(), when.toISOString());
  assert.equal(await readFile(join(s.root, 'bin/tool'), 'utf8'), '#!/bin/sh\n');
  assert.equal((await stat(join(s.root, 'bin/sgid'))).mode & 0o7777, 0o2711);
  assert.equal((await stat(join(s.root, 'tmp'))).mode & 0o7777, 0o1777, 'sticky bit');

  const bin = await stat(join(s.root, 'bin'));
  assert.equal(bin.mode & 0o7777, 0o750);
  assert.equal([bin.uid, bin.gid].join(':'), '3:4');
  assert.equal(bin.mtime.toISOString(), when.toISOString(), 'directory times are set after their contents');

  const alias = await lstat(join(s.root, 'bin/alias'));
  assert.ok(alias.isSymbolicLink());
  assert.equal(await readlink(join(s.root, 'bin/alias')), 'tool');
  assert.equal([alias.uid, alias.gid].join(':'), '5:6', 'symlinks are lchowned, not their targets');
  assert.equal(alias.mtime.toISOString(), when.toISOString());
  assert.equal((await stat(join(s.root, 'bin/hard'))).ino, tool.ino);
  assert.equal(await readlink(join(s.root, 'etc/abs')), '/etc/passwd', 'absolute symlinks are kept as they are');
});

test('gzip and zstd layers are recognised by magic and give the diff ID of their tar', async (t) => {
  const s = await scratch(t);
  const tar = await makeTar([
    { name: 'f', content: 'x'.repeat(100_000) },
    { name: 'g', content: 'y' },
  ]);
  assert.equal(detectCompression(tar), 'none');
  for (const [kind, z] of [
    ['gzip', gzipSync(tar)],
    ['zstd', zstdCompressSync(tar)],
  ] as const) {
    assert.equal(detectCompression(z), kind);
    const root = join(s.dir, kind);
    await mkdir(root);
    // Split into odd-sized chunks: detection must not depend on the first chunk's size.
    const chunks = [z.subarray(0, 1), z.subarray(1, 3), z.subarray(3)];
    const r = await applyLayer(Readable.from(chunks), root, { host: fake() });
    assert.equal(r.diffId, sha(tar), kind);
    assert.equal(r.size, tar.length);
    assert.equal((await readFile(join(root, 'f'))).length, 100_000);
    assert.equal(await readFile(join(root, 'g'), 'utf8'), 'y');
  }
});

test('xz layers, corrupt gzip and truncated tars are refused with InvalidArgument or NotImplemented', async (t) => {
  const s = await scratch(t);
  const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]);
  await assert.rejects(
    applyLayer(Readable.from([xz]), s.root, { host: fake() }),
    (e) => is(e, 'NotImplemented') && /xz/.test((e as Error).message),
  );
  const gz = gzipSync(await makeTar([{ name: 'f', content: 'x' }]));
  gz[gz.length - 20]! ^= 0xff;
  gz[20]! ^= 0xff;
  await assert.rejects(
    applyLayer(Readable.from([gz]), s.root, { host: fake() }),
    (e) => is(e, 'InvalidArgument') && /^apply layer: /.test((e as Error).message),
  );
  const tar = await makeTar([{ name: 'big', content: 'z'.repeat(4096) }]);
  await assert.rejects(applyLayer(Readable.from([tar.subarray(0, 1500)]), s.root, { host: fake() }), (e) =>
    is(e, 'InvalidArgument'),
  );
  const garbage = Buffer.alloc(1024, 0x41);
  await assert.rejects(
    applyLayer(Readable.from([garbage]), s.root, { host: fake() }),
    (e) => is(e, 'InvalidArgument') && /invalid tar/.test((e as Error).message),
  );
});

test('a decompression bomb stops at the limit with InvalidArgument', async (t) => {
  const s = await scratch(t);
  const tar = await makeTar([{ name: 'zeros', content: Buffer.alloc(8 << 20) }]);
  for (const z of [gzipSync(tar), zstdCompressSync(tar)]) {
    assert.ok(z.length < 64 * 1024, 'the compressed layer is small');
    await assert.rejects(
      applyLayer(Readable.from([z]), s.root, { host: fake(), maxBytes: 1 << 20 }),
      (e) => is(e, 'InvalidArgument') && /exceeds the limit of 1048576 bytes/.test((e as Error).message),
    );
    const st = await stat(join(s.root, 'zeros')).catch(() => undefined);
    assert.ok(!st || st.size <= 1 << 20, 'no more than the limit was written');
  }
  // Exactly at the limit is fine.
  const r = await applyLayer(Readable.from([tar]), join(s.dir, 'a'), { host: fake(), maxBytes: tar.length });
  assert.equal(r.size, tar.length);
});

test('hostile names and hardlinks are refused and nothing lands outside the root', async (t) => {
  const s = await scratch(t);
  const refused: Array<[string, TarEntry[], RegExp]> = [
    [
      'dot-dot',
      [{ name: '../../outside/pwned', content: 'x' }],
      /^apply layer: entry "..\/..\/outside\/pwned" escapes the root$/,
    ],
    ['dot-dot after a name', [{ name: 'x/../../../outside/pwned', content: 'x' }], /escapes the root/],
    [
      'hardlink up',
      [{ name: 'h', type: 'link', linkname: '../../outside/secret' }],
      /hardlink "h" to "..\/..\/outside\/secret" escapes the root/,
    ],
    [
      'hardlink to an absolute host path',
      [{ name: 'h', type: 'link', linkname: join(s.outside, 'secret') }],
      /target not found/,
    ],
    ['hardlink to /etc/passwd', [{ name: 'h', type: 'link', linkname: '/etc/passwd' }], /target not found/],
    [
      'hardlink through a symlink out',
      [
        { name: 'out', type: 'symlink', linkname: s.outside },
        { name: 'h', type: 'link', linkname: 'out/secret' },
      ],
      /target not found/,
    ],
    [
      'hardlink to a directory',
      [
        { name: 'd/', type: 'directory' },
        { name: 'h', type: 'link', linkname: 'd' },
      ],
      /target is a directory/,
    ],
    [
      'a file used as a directory',
      [
        { name: 'f', content: 'x' },
        { name: 'f/x', content: 'y' },
      ],
      /not a directory/,
    ],
    ['a file replacing the root', [{ name: './', content: 'x' }], /would replace the root/],
    ['invalid whiteout', [{ name: 'd/.wh..', content: '' }], /not a valid whiteout/],
  ];
  for (const [why, entries, message] of refused) {
    await assert.rejects(applyLayer(await tarOf(entries), s.root, { host: fake() }), (e) => {
      assert.ok(is(e, 'InvalidArgument'), `${why}: ${e}`);
      assert.match((e as Error).message, message, why);
      return true;
    });
    assert.deepEqual(await listOutside(s), ['secret'], why);
    assert.equal(existsSync(join(s.dir, 'pwned')), false, why);
    assert.equal((await stat(join(s.outside, 'secret'))).nlink, 1, `${why}: the host file got no new link`);
  }
  assert.equal(existsSync(join(s.root, 'h')), false);
});

test('absolute entry names are taken inside the root', async (t) => {
  const s = await scratch(t);
  const probe = `/berth-archive-probe-${randomBytes(6).toString('hex')}`;
  await applyLayer(
    await tarOf([
      { name: `${probe}/f`, content: 'in' },
      { name: '/top', content: 't' },
    ]),
    s.root,
    { host: fake() },
  );
  assert.equal(existsSync(probe), false);
  assert.equal(await readFile(join(s.root, probe, 'f'), 'utf8'), 'in');
  assert.equal(await readFile(join(s.root, 'top'), 'utf8'), 't');
  // An absolute hardlink target names the layer's own file, not the host's.
  await applyLayer(
    await tarOf([
      { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
      { name: 'bin/pw', type: 'link', linkname: '/etc/passwd' },
    ]),
    s.root,
    { host: fake() },
  );
  assert.equal((await stat(join(s.root, 'bin/pw'))).ino, (await stat(join(s.root, 'etc/passwd'))).ino);
  assert.notEqual((await stat(join(s.root, 'bin/pw'))).ino, (await stat('/etc/passwd')).ino);
});

test('symlinks are followed inside the root only, never out of it', async (t) => {
  const s = await scratch(t);
  const probe = `berth-archive-probe-${randomBytes(6).toString('hex')}`;
  t.after(() => rm(join('/etc', probe), { force: true }));
  await applyLayer(
    await tarOf([
      // a -> /etc, then a/<probe>: lands in <root>/etc, not the host's /etc.
      { name: 'a', type: 'symlink', linkname: '/etc' },
      { name: `a/${probe}`, content: 'not on the host' },
      // An absolute link to the scratch dir outside, then a file through it.
      { name: 'out', type: 'symlink', linkname: s.outside },
      { name: 'out/pwned', content: 'x' },
      // Climbing out with .. stops at the root.
      { name: 'up', type: 'symlink', linkname: '../../..' },
      { name: 'up/pwned2', content: 'y' },
      // A link through a missing directory: missing/.. must not hand the kernel "out/...".
      { name: 'jump', type: 'symlink', linkname: 'missing/../out' },
      { name: 'jump/pwned3', content: 'z' },
      // Chains of links.
      { name: 'c1', type: 'symlink', linkname: 'c2' },
      { name: 'c2', type: 'symlink', linkname: '/up/../out' },
      { name: 'c1/pwned4', content: 'w' },
    ]),
    s.root,
    { host: fake() },
  );
  assert.equal(existsSync(join('/etc', probe)), false, 'nothing was written to the host /etc');
  assert.equal(await readFile(join(s.root, 'etc', probe), 'utf8'), 'not on the host');
  assert.deepEqual(await listOutside(s), ['secret']);
  assert.equal(existsSync(join(s.dir, 'pwned2')), false);
  assert.equal(
    await readFile(join(s.root, s.outside, 'pwned'), 'utf8'),
    'x',
    'the absolute target was taken inside the root',
  );
  assert.equal(await readFile(join(s.root, 'pwned2'), 'utf8'), 'y', '.. stops at the root');
  assert.equal(await readFile(join(s.root, s.outside, 'pwned3'), 'utf8'), 'z');
  assert.equal(await readFile(join(s.root, s.outside, 'pwned4'), 'utf8'), 'w');
  assert.equal(await readlink(join(s.root, 'a')), '/etc', 'the symlink itself is kept');
});

test('a symlink loop is refused', async (t) => {
  const s = await scratch(t);
  await assert.rejects(
    applyLayer(
      await tarOf([
        { name: 'l1', type: 'symlink', linkname: 'l2' },
        { name: 'l2', type: 'symlink', linkname: 'l1' },
        { name: 'l1/x', content: 'x' },
      ]),
      s.root,
      { host: fake() },
    ),
    (e) => is(e, 'InvalidArgument') && /too many levels of symbolic links/.test((e as Error).message),
  );
});

test('an entry replaces what is there without following it; a directory over a directory is kept', async (t) => {
  const s = await scratch(t);
  await symlink(s.outside, join(s.root, 'link'));
  await symlink(join(s.outside, 'secret'), join(s.root, 'file-link'));
  await mkdir(join(s.root, 'dir'));
  await writeFile(join(s.root, 'dir', 'old'), 'old');
  await writeFile(join(s.root, 'file'), 'file');
  await mkdir(join(s.root, 'was-dir', 'deep'), { recursive: true });
  await applyLayer(
    await tarOf([
      { name: 'link/', type: 'directory', mode: 0o700 },
      { name: 'link/x', content: 'x' },
      { name: 'file-link', content: 'replaced' },
      { name: 'dir/', type: 'directory', mode: 0o711 },
      { name: 'file/', type: 'directory' },
      { name: 'was-dir', type: 'symlink', linkname: 'dir' },
    ]),
    s.root,
    { host: fake() },
  );
  assert.deepEqual(await listOutside(s), ['secret']);
  assert.equal(await readFile(join(s.outside, 'secret'), 'utf8'), 'secret', 'the symlink target was not written');
  const link = await lstat(join(s.root, 'link'));
  assert.ok(link.isDirectory() && !link.isSymbolicLink());
  assert.equal(link.mode & 0o777, 0o700);
  assert.equal(await readFile(join(s.root, 'link/x'), 'utf8'), 'x');
  assert.equal(await readFile(join(s.root, 'file-link'), 'utf8'), 'replaced');
  assert.ok((await lstat(join(s.root, 'file-link'))).isFile());
  assert.equal(await readFile(join(s.root, 'dir/old'), 'utf8'), 'old', 'an existing directory keeps its contents');
  assert.equal((await stat(join(s.root, 'dir'))).mode & 0o777, 0o711, '... and takes the new metadata');
  assert.ok((await lstat(join(s.root, 'file'))).isDirectory());
  assert.equal(await readlink(join(s.root, 'was-dir')), 'dir');
});

test('whiteouts in overlay form: a 0/0 device and the opaque xattr', async (t) => {
  const s = await scratch(t);
  const host = fake();
  await applyLayer(
    await tarOf([
      { name: 'a/', type: 'directory' },
      { name: 'a/.wh.gone', content: '' },
      { name: 'b/.wh..wh..opq', content: '' },
      { name: 'c/kept', content: 'mine' },
      { name: 'c/.wh.kept', content: '' },
    ]),
    s.root,
    { host, overlayWhiteouts: true },
  );
  assert.deepEqual(
    host.calls,
    [
      { op: 'mknod', args: [join(s.root, 'a/gone'), 'c', 0, 0, 0] },
      { op: 'setxattr', args: [join(s.root, 'b'), 'trusted.overlay.opaque', 'y'] },
    ],
    'a whiteout of a file of the same layer does nothing',
  );
  assert.ok((await stat(join(s.root, 'b'))).isDirectory(), 'the opaque directory exists');
  assert.equal(existsSync(join(s.root, 'a/.wh.gone')), false, 'no .wh. file is left in the layer');
  assert.equal(await readFile(join(s.root, 'c/kept'), 'utf8'), 'mine');
});

test('whiteouts on a flat tree delete what the layers below had, and only that', async (t) => {
  const s = await scratch(t);
  const flat = s.root;
  await mkdir(join(flat, 'keep', 'sub'), { recursive: true });
  await mkdir(join(flat, 'gone-dir', 'deep'), { recursive: true });
  await writeFile(join(flat, 'gone'), 'x');
  await writeFile(join(flat, 'gone-dir', 'deep', 'f'), 'x');
  await writeFile(join(flat, 'keep', 'old'), 'x');
  await writeFile(join(flat, 'keep', 'sub', 'old'), 'x');
  await symlink(s.outside, join(flat, 'out'));
  const host = fake();
  await applyLayer(
    await tarOf([
      { name: '.wh.gone', content: '' },
      { name: '.wh.gone-dir', content: '' },
      { name: '.wh.never-was', content: '' },
      // This layer's own entries, before the opaque marker, stay.
      { name: 'keep/early', content: 'e' },
      { name: 'keep/sub/early', content: 'e' },
      { name: 'keep/.wh..wh..opq', content: '' },
      { name: 'keep/late', content: 'l' },
      // A whiteout through a symlink to the host resolves inside the root: nothing to delete.
      { name: 'out/.wh.secret', content: '' },
    ]),
    flat,
    { host },
  );
  assert.equal(existsSync(join(flat, 'gone')), false);
  assert.equal(existsSync(join(flat, 'gone-dir')), false);
  assert.deepEqual((await readdir(join(flat, 'keep'))).sort(), ['early', 'late', 'sub']);
  assert.deepEqual(await readdir(join(flat, 'keep', 'sub')), ['early'], 'lower files inside kept directories go too');
  assert.deepEqual(await listOutside(s), ['secret']);
  assert.deepEqual(host.calls, [], 'a flat tree gets no overlay whiteouts');
});

test('xattrs from PAX records are set through the host, byte for byte', async (t) => {
  const s = await scratch(t);
  const host = fake();
  await applyLayer(
    await tarOf([
      {
        name: 'f',
        content: 'x',
        pax: { 'SCHILY.xattr.user.note': 'héllo', 'SCHILY.xattr.trusted.overlay.opaque': 'y' },
      },
      {
        name: 'g',
        content: 'x',
        pax: { 'LIBARCHIVE.xattr.security.capability': Buffer.from([1, 0, 0, 2, 0xff, 0x80]).toString('base64') },
      },
    ]),
    s.root,
    { host },
  );
  // Small files are written in the background, several at once: the calls' order is not the archive's.
  const byPath = [...host.calls].sort((a, b) => String(a.args[0]).localeCompare(String(b.args[0])));
  assert.deepEqual(
    byPath,
    [
      { op: 'setxattr', args: [join(s.root, 'f'), 'user.note', `0x${Buffer.from('héllo').toString('hex')}`] },
      { op: 'setxattr', args: [join(s.root, 'g'), 'security.capability', '0x01000002ff80'] },
    ],
    'overlay xattrs from an archive are ignored',
  );
});

test('binary SCHILY xattrs written by GNU tar survive exactly (real setfattr)', async (t) => {
  const s = await scratch(t);
  const src = join(s.dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'ping'), 'binary');
  const host = new RealHost();
  const value = '0x0100000200200000ff80000000000000fe000000';
  await host.run('setfattr', ['-n', 'security.capability', '-v', value, join(src, 'ping')]);
  await host.run('setfattr', ['-n', 'user.plain', '-v', 'text', join(src, 'ping')]);
  const tar = join(s.dir, 'x.tar');
  await host.run('tar', ['--xattrs', '--xattrs-include=*', '-C', src, '-cf', tar, 'ping']);
  await applyLayer(Readable.from([await readFile(tar)]), s.root, { host });
  const got = await host.run('getfattr', ['-d', '-e', 'hex', '-m', '-', join(s.root, 'ping')]);
  assert.match(got.stdout, new RegExp(`security.capability=${value}`));
  assert.match(got.stdout, new RegExp(`user.plain=0x${Buffer.from('text').toString('hex')}`));
});

test('devices and fifos are made through the host; long and non-ASCII names and large ids survive', async (t) => {
  const s = await scratch(t);
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  await applyLayer(
    await tarOf([
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
      { name: 'run/fifo', type: 'fifo', mode: 0o620 },
      { name: long, content: 'long' },
      { name: 'ünïcödé/日本', content: 'u' },
      { name: 'big-ids', content: 'b', pax: { uid: '3000000', gid: '3000001' } },
    ]),
    s.root,
    { host: new RealHost() },
  );
  const nul = await lstat(join(s.root, 'dev/null'));
  assert.ok(nul.isCharacterDevice());
  assert.equal(nul.rdev, (1 << 8) | 3);
  assert.equal(nul.mode & 0o7777, 0o666);
  const loop = await lstat(join(s.root, 'dev/loop9'));
  assert.ok(loop.isBlockDevice());
  assert.equal(loop.gid, 6);
  assert.ok((await lstat(join(s.root, 'run/fifo'))).isFIFO());
  assert.equal((await lstat(join(s.root, 'run/fifo'))).mode & 0o7777, 0o620);
  assert.equal(await readFile(join(s.root, long), 'utf8'), 'long');
  assert.equal(await readFile(join(s.root, 'ünïcödé/日本'), 'utf8'), 'u');
  const big = await stat(join(s.root, 'big-ids'));
  assert.equal([big.uid, big.gid].join(':'), '3000000:3000001');
});

test('later entries for the same path win, in order, while earlier files are still being written', async (t) => {
  const s = await scratch(t);
  const entries: TarEntry[] = [
    { name: 'f', content: 'one', mode: 0o600 },
    { name: 'f', content: 'two', mode: 0o640 },
    { name: 'h', type: 'link', linkname: 'f' },
    { name: 'd', content: 'a file first' },
    { name: 'd/', type: 'directory' },
    { name: 'd/y', content: 'y' },
    { name: 'e/', type: 'directory' },
    { name: 'e/z', content: 'z' },
    { name: 'e', content: 'a file at last' },
    { name: 'p', content: 'parent?' },
  ];
  for (let i = 0; i < 200; i++) entries.push({ name: `many/${i}`, content: `${i}` });
  entries.push({ name: 'many/7', type: 'symlink', linkname: '8' }, { name: 'h2', type: 'link', linkname: 'many/199' });
  await applyLayer(await tarOf(entries), s.root, { host: fake() });
  assert.equal(await readFile(join(s.root, 'f'), 'utf8'), 'two');
  assert.equal((await stat(join(s.root, 'f'))).mode & 0o777, 0o640);
  assert.equal((await stat(join(s.root, 'h'))).ino, (await stat(join(s.root, 'f'))).ino);
  assert.deepEqual(await readdir(join(s.root, 'd')), ['y']);
  assert.equal(await readFile(join(s.root, 'e'), 'utf8'), 'a file at last');
  assert.equal((await readdir(join(s.root, 'many'))).length, 200);
  assert.equal(await readlink(join(s.root, 'many/7')), '8');
  assert.equal(await readFile(join(s.root, 'many/123'), 'utf8'), '123');
  assert.equal((await stat(join(s.root, 'h2'))).ino, (await stat(join(s.root, 'many/199'))).ino);
  // A file used as a directory by a later entry is refused, even while it is being written.
  await assert.rejects(
    applyLayer(
      await tarOf([
        { name: 'x', content: 'x' },
        { name: 'x/y', content: 'y' },
      ]),
      join(s.dir, 'a'),
      { host: fake() },
    ),
    (e) => is(e, 'InvalidArgument') && /not a directory/.test((e as Error).message),
  );
});
