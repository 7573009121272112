import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { RealHost } from '../host/index.ts';
import { applyLayer, tarDirectory } from './index.ts';
import { idMapOf } from '../spec/index.ts';
import { makeTar } from './testing.ts';

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const collect = async (s: Readable) => Buffer.concat(await s.toArray());

async function headers(tar: Buffer): Promise<Array<Header & { body: Buffer }>> {
  const ex = extract();
  const out: Array<Header & { body: Buffer }> = [];
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      out.push({ ...e.header, body: Buffer.concat(chunks) });
    }
  })();
  ex.end(tar);
  await done;
  return out;
}

const when = new Date('2021-06-07T08:09:10Z');

/** A tree with one of everything tarDirectory keeps. */
async function sampleTree(root: string): Promise<void> {
  const host = new RealHost();
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'tmp'));
  await mkdir(join(root, 'empty'));
  await mkdir(join(root, 'dev'));
  await writeFile(join(root, 'etc/conf'), 'conf');
  await chown(join(root, 'etc/conf'), 1234, 5678);
  await chmod(join(root, 'etc/conf'), 0o640);
  await writeFile(join(root, 'suid'), 'suid');
  await chmod(join(root, 'suid'), 0o4755);
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'empty'), 0o700);
  await link(join(root, 'etc/conf'), join(root, 'hard'));
  await symlink('etc/conf', join(root, 'rel-link'));
  await symlink('/etc/passwd', join(root, 'abs-link'));
  await host.mknod(join(root, 'dev/null'), 'c', 1, 3, 0o666);
  await host.mknod(join(root, 'fifo'), 'p', 0, 0, 0o600);
  await writeFile(join(root, 'big'), randomBytes(3 * 1024 * 1024 + 17));
  for (const p of ['etc/conf', 'suid', 'big', 'etc', 'tmp', 'empty', 'dev/null', 'dev', 'fifo'])
    await utimes(join(root, p), when, when);
}

test('tarDirectory: names, types and metadata as docker export writes them, in sorted order', async (t) => {
  const d = await scratch(t);
  const root = join(d, 'root');
  await sampleTree(root);
  const hs = await headers(await collect(tarDirectory(root)));
  const byName = new Map(hs.map((h) => [h.name, h]));
  assert.deepEqual(
    hs.map((h) => h.name),
    ['abs-link', 'big', 'dev/', 'dev/null', 'empty/', 'etc/', 'etc/conf', 'fifo', 'hard', 'rel-link', 'suid', 'tmp/'],
  );
  const conf = byName.get('etc/conf')!;
  assert.equal(conf.type, 'file');
  assert.equal(conf.mode, 0o640);
  assert.equal([conf.uid, conf.gid].join(':'), '1234:5678');
  assert.equal(conf.mtime.toISOString(), when.toISOString());
  assert.equal(conf.body.toString(), 'conf');
  assert.deepEqual(
    [byName.get('hard')!.type, byName.get('hard')!.linkname],
    ['link', 'etc/conf'],
    'the second name of an inode is a hardlink',
  );
  assert.deepEqual([byName.get('abs-link')!.type, byName.get('abs-link')!.linkname], ['symlink', '/etc/passwd']);
  assert.equal(byName.get('suid')!.mode, 0o4755);
  assert.equal(byName.get('tmp/')!.mode, 0o1777);
  assert.deepEqual(
    [byName.get('dev/null')!.type, byName.get('dev/null')!.devmajor, byName.get('dev/null')!.devminor],
    ['character-device', 1, 3],
  );
  assert.equal(byName.get('fifo')!.type, 'fifo');
  assert.equal(byName.get('big')!.size, 3 * 1024 * 1024 + 17);
});

test('tarDirectory round-trips through applyLayer and gives the same bytes twice', async (t) => {
  const d = await scratch(t);
  const root = join(d, 'root');
  await sampleTree(root);
  const a = await collect(tarDirectory(root));
  const b = await collect(tarDirectory(root));
  assert.equal(createHash('sha256').update(a).digest('hex'), createHash('sha256').update(b).digest('hex'));
  const copy = join(d, 'copy');
  await mkdir(copy);
  await applyLayer(Readable.from([a]), copy, { host: new RealHost() });
  for (const p of ['etc/conf', 'suid', 'tmp', 'empty', 'dev/null', 'fifo', 'big', 'etc']) {
    const [x, y] = [await lstat(join(root, p)), await lstat(join(copy, p))];
    assert.equal(y.mode, x.mode, `${p} mode`);
    assert.equal(`${y.uid}:${y.gid}`, `${x.uid}:${x.gid}`, `${p} owner`);
    assert.equal(Math.floor(y.mtimeMs / 1000), Math.floor(x.mtimeMs / 1000), `${p} mtime (tar keeps seconds)`);
    assert.equal(y.rdev, x.rdev, `${p} rdev`);
  }
  assert.deepEqual(await readFile(join(copy, 'big')), await readFile(join(root, 'big')));
  assert.equal((await stat(join(copy, 'hard'))).ino, (await stat(join(copy, 'etc/conf'))).ino);
  assert.equal(await readlink(join(copy, 'rel-link')), 'etc/conf');
  assert.equal(await readlink(join(copy, 'abs-link')), '/etc/passwd');
  // And the copy packs to the same bytes as the original.
  assert.deepEqual(await collect(tarDirectory(copy)), a);
});

test('tarDirectory: exclude leaves out a subtree, mtime pins every entry', async (t) => {
  const d = await scratch(t);
  await mkdir(join(d, 'proc/1'), { recursive: true });
  await writeFile(join(d, 'proc/1/status'), 'x');
  await writeFile(join(d, 'keep'), 'k');
  const pinned = new Date('2000-01-01T00:00:00Z');
  const hs = await headers(await collect(tarDirectory(d, { exclude: (rel) => rel === 'proc', mtime: pinned })));
  assert.deepEqual(
    hs.map((h) => h.name),
    ['keep'],
  );
  assert.equal(hs[0]!.mtime.toISOString(), pinned.toISOString());
});

test('tarDirectory with a host keeps file capabilities, reading xattrs in one getfattr run', async (t) => {
  const d = await scratch(t);
  const root = join(d, 'root');
  await mkdir(join(root, 'bin'), { recursive: true });
  await writeFile(join(root, 'bin/ping'), 'ping');
  await writeFile(join(root, 'bin/other'), 'other');
  const real = new RealHost();
  const cap = '0x0100000200200000000000000000000000000000';
  await real.run('setfattr', ['-n', 'security.capability', '-v', cap, join(root, 'bin/ping')]);
  let runs = 0;
  const counting = {
    run: async (cmd: string, args: readonly string[], o?: object) => (runs++, real.run(cmd, args, o)),
  };
  const tar = await collect(tarDirectory(root, { host: counting }));
  assert.equal(runs, 1, 'one getfattr for the whole tree');
  const ping = (await headers(tar)).find((h) => h.name === 'bin/ping')!;
  assert.ok(ping.pax && 'SCHILY.xattr.security.capability' in (ping.pax as object), 'written where Docker reads it');
  const copy = join(d, 'copy');
  await mkdir(copy);
  await applyLayer(Readable.from([tar]), copy, { host: real });
  const got = await real.run('getfattr', ['-d', '-e', 'hex', '-m', '-', join(copy, 'bin/ping')]);
  assert.match(got.stdout, new RegExp(`security.capability=${cap}`));
});

test('tarDirectory fails the stream for a missing root, and stops when the reader goes away', async (t) => {
  const d = await scratch(t);
  await assert.rejects(collect(tarDirectory(join(d, 'nope'))), /ENOENT|no such file/);
  for (let i = 0; i < 50; i++) await writeFile(join(d, `f${i}`), randomBytes(256 * 1024));
  const s = tarDirectory(d);
  let n = 0;
  for await (const c of s) {
    n += (c as Buffer).length;
    if (n > 1 << 20) break;
  }
  assert.ok(s.destroyed);
});

test('under a remap a layer is unpacked with host ids and packed back with the container’s: the same bytes', async (t) => {
  const d = await scratch(t);
  const root = join(d, 'root');
  await sampleTree(root);
  const map = idMapOf([{ start: 100000, count: 65536 }], [{ start: 200000, count: 65536 }]);
  const a = await collect(tarDirectory(root));
  const shifted = join(d, 'shifted');
  await mkdir(shifted);
  await applyLayer(Readable.from([a]), shifted, { host: new RealHost(), idMap: map });
  const [x, y] = [await lstat(join(root, 'etc/conf')), await lstat(join(shifted, 'etc/conf'))];
  assert.equal(`${y.uid}:${y.gid}`, `${x.uid + 100000}:${x.gid + 200000}`);
  assert.deepEqual(await collect(tarDirectory(shifted, { idMap: map })), a);
});

test('under a remap an owner the map does not cover is refused', async (t) => {
  const d = await scratch(t);
  const map = idMapOf([{ start: 100000, count: 10 }], [{ start: 100000, count: 10 }]);
  const tar = Readable.from([await makeTar([{ name: 'f', content: 'x', uid: 1000, gid: 0 }])]);
  await mkdir(join(d, 'out'));
  await assert.rejects(
    applyLayer(tar, join(d, 'out'), { host: new RealHost(), idMap: map }),
    /container ID 1000:0 cannot be mapped to a host ID/,
  );
});
