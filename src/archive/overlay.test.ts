/**
 * The archive against a real overlayfs: layers unpacked with overlay whiteouts are mounted as
 * lower layers, a container's upperdir is diffed back into a layer and into `docker diff`.
 * Needs root (mount, trusted.* xattrs); skipped otherwise.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { RealHost } from '../host/index.ts';
import { applyLayer, changes, ChangeKind, diffOverlayUpper } from './index.ts';
import { makeTar, type TarEntry } from './testing.ts';

const host = new RealHost();
/** The daemon's host: the opaque flags and capabilities read by berth-launcher (XATTRS), not getfattr. */
const LAUNCHER = join(import.meta.dirname, '..', '..', 'build', 'berth-launcher');
const launched = existsSync(LAUNCHER) ? new RealHost({ launcherPath: LAUNCHER }) : undefined;
after(() => launched?.close());
const skip = process.getuid?.() !== 0 ? 'needs root' : false;

/** What a process in the container sees: path -> type and content, sorted. */
async function view(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, p));
    if (st.isDirectory()) {
      out.push(`${p}/`);
      out.push(...(await view(root, p)));
    } else if (st.isSymbolicLink()) out.push(`${p} -> ${await readlink(join(root, p))}`);
    else out.push(`${p} = ${await readFile(join(root, p), 'utf8')}`);
  }
  return out;
}

async function layer(dir: string, entries: TarEntry[] | Buffer, overlay = true): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tar = Buffer.isBuffer(entries) ? entries : await makeTar(entries);
  await applyLayer(Readable.from([tar]), dir, { host, overlayWhiteouts: overlay });
  return dir;
}

async function mounted<T>(target: string, opts: string[], fn: () => Promise<T>): Promise<T> {
  await mkdir(target, { recursive: true });
  await host.mount('overlay', 'overlay', target, opts);
  try {
    return await fn();
  } finally {
    await host.unmount(target);
  }
}

async function names(tar: Buffer): Promise<Array<[string, string, string]>> {
  const ex = extract();
  const out: Array<[string, string, string]> = [];
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      out.push([
        e.header.name,
        e.header.type,
        e.header.type === 'link' ? e.header.linkname : Buffer.concat(chunks).toString(),
      ]);
    }
  })();
  ex.end(tar);
  await done;
  return out;
}

const base: TarEntry[] = [
  { name: 'a/', type: 'directory' },
  { name: 'a/keep', content: 'keep' },
  { name: 'a/gone', content: 'gone' },
  { name: 'd/', type: 'directory' },
  { name: 'd/old', content: 'old' },
  { name: 'd/sub/x', content: 'x' },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/conf', content: 'v1' },
  { name: 'bin/', type: 'directory' },
  { name: 'bin/sh', content: 'sh' },
];
const second: TarEntry[] = [
  { name: 'a/', type: 'directory' },
  { name: 'a/.wh.gone', content: '' },
  { name: 'd/', type: 'directory' },
  { name: 'd/.wh..wh..opq', content: '' },
  { name: 'd/new', content: 'new' },
  { name: 'etc/conf2', content: 'c2' },
];

test('whiteouts unpacked in overlay form hide lower files when mounted', { skip }, async (t) => {
  const d = await mkdtemp(join(tmpdir(), 'berth-overlay-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  const l1 = await layer(join(d, 'l1'), base);
  const l2 = await layer(join(d, 'l2'), second);
  const seen = await mounted(join(d, 'm'), [`lowerdir=${l2}:${l1}`], () => view(join(d, 'm')));
  assert.deepEqual(seen, [
    'a/',
    'a/keep = keep',
    'bin/',
    'bin/sh = sh',
    'd/',
    'd/new = new',
    'etc/',
    'etc/conf = v1',
    'etc/conf2 = c2',
  ]);
});

test(
  "a container's upperdir diffs into a layer that reproduces its view, and into docker diff",
  { skip },
  async (t) => {
    const d = await mkdtemp(join(tmpdir(), 'berth-overlay-'));
    t.after(() => rm(d, { recursive: true, force: true }));
    const l1 = await layer(join(d, 'l1'), base);
    const l2 = await layer(join(d, 'l2'), second);
    const upper = join(d, 'upper');
    const work = join(d, 'work');
    await mkdir(upper);
    await mkdir(work);
    const m = join(d, 'm');
    const containerView = await mounted(
      m,
      [`lowerdir=${l2}:${l1}`, `upperdir=${upper}`, `workdir=${work}`],
      async () => {
        await rm(join(m, 'a/keep'));
        await writeFile(join(m, 'etc/conf'), 'v2');
        await writeFile(join(m, 'etc/added'), 'added');
        await link(join(m, 'etc/added'), join(m, 'etc/added-hard'));
        await rm(join(m, 'etc/conf2'));
        await rm(join(m, 'd'), { recursive: true });
        await mkdir(join(m, 'd'));
        await writeFile(join(m, 'd/fresh'), 'fresh');
        await mkdir(join(m, 'newdir'));
        await writeFile(join(m, 'newdir/f'), 'f');
        return view(m);
      },
    );

    // The same whether getfattr or the launcher reads the opaque flags.
    for (const [how, h] of [
      ['getfattr', host],
      ['launcher', launched],
    ] as const) {
      if (!h) continue;
      assert.deepEqual(
        await changes(upper, [l2, l1], h),
        [
          { path: '/a', kind: ChangeKind.Modified },
          { path: '/a/keep', kind: ChangeKind.Deleted },
          // Made anew: compared with the image's (where l2 made it opaque: only `new` shows), as dockerd does.
          { path: '/d', kind: ChangeKind.Modified },
          { path: '/d/new', kind: ChangeKind.Deleted },
          { path: '/d/fresh', kind: ChangeKind.Added },
          { path: '/etc', kind: ChangeKind.Modified },
          { path: '/etc/added', kind: ChangeKind.Added },
          { path: '/etc/added-hard', kind: ChangeKind.Added },
          { path: '/etc/conf', kind: ChangeKind.Modified },
          { path: '/etc/conf2', kind: ChangeKind.Deleted },
          { path: '/newdir', kind: ChangeKind.Added },
          { path: '/newdir/f', kind: ChangeKind.Added },
        ],
        how,
      );
      assert.deepEqual(
        await names(Buffer.concat(await diffOverlayUpper(upper, { host: h }).toArray())),
        [
          ['a/', 'directory', ''],
          ['a/.wh.keep', 'file', ''],
          ['d/', 'directory', ''],
          ['d/.wh..wh..opq', 'file', ''],
          ['d/fresh', 'file', 'fresh'],
          ['etc/', 'directory', ''],
          ['etc/added', 'file', 'added'],
          ['etc/added-hard', 'link', 'etc/added'],
          ['etc/conf', 'file', 'v2'],
          ['etc/.wh.conf2', 'file', ''],
          ['newdir/', 'directory', ''],
          ['newdir/f', 'file', 'f'],
        ],
        how,
      );
    }
    const diff = Buffer.concat(await diffOverlayUpper(upper, { host }).toArray());

    // The diff as a third layer gives the container's view back, mounted...
    const l3 = await layer(join(d, 'l3'), diff);
    const remounted = await mounted(join(d, 'm2'), [`lowerdir=${l3}:${l2}:${l1}`], () => view(join(d, 'm2')));
    assert.deepEqual(remounted, containerView);
    // ...and flattened onto one tree.
    const flat = join(d, 'flat');
    for (const tar of [await makeTar(base), await makeTar(second), diff]) await layer(flat, tar, false);
    assert.deepEqual(await view(flat), containerView);
  },
);
