import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
  readlinkSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractTar, packPath, readTar, singleFileTar, tarHeader, type TarEntry } from './tar.ts';
import { IgnoreMatcher, readIgnoreFile } from './dockerignore.ts';
import { contextTar, isArchive } from './build.ts';
import { rebaser, splitCpArg, splitDirEntry } from './cp.ts';

async function entries(src: AsyncIterable<Buffer>): Promise<Array<TarEntry & { data: string }>> {
  const out: Array<TarEntry & { data: string }> = [];
  await readTar(src, {
    entry: (e) => out.push({ ...e, data: '' }),
    data: (c) => {
      out[out.length - 1]!.data += c.toString();
    },
    end: () => {},
  });
  return out;
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  // deliver in odd-sized pieces to exercise the parser's buffering
  for (let i = 0; i < b.length; i += 333) yield b.subarray(i, i + 333);
}

test('dockerignore patterns as moby reads and matches them', () => {
  assert.deepEqual(readIgnoreFile('# c\n secret.txt \n/abs/path\n!./keep/\n\n**/*.log\n'), [
    'secret.txt',
    'abs/path',
    '!keep',
    '**/*.log',
  ]);
  const m = new IgnoreMatcher(['*.txt', '!keep.txt', 'build/', '**/*.log', 'docs/**', 'a?c']);
  assert.equal(m.excluded('secret.txt'), true);
  assert.equal(m.excluded('keep.txt'), false);
  assert.equal(m.excluded('sub/x.txt'), false, '* does not cross /');
  assert.equal(m.excluded('build'), true);
  assert.equal(m.excluded('build/out/bin'), true, 'a parent match excludes');
  assert.equal(m.excluded('deep/er/x.log'), true);
  assert.equal(m.excluded('x.log'), true);
  assert.equal(m.excluded('docs/a/b'), true);
  assert.equal(m.excluded('abc'), true);
  assert.equal(m.excluded('Dockerfile'), false);
  assert.equal(m.hasExceptions, true);
});

test('tar round trip: files, dirs, symlinks, long names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tar-'));
  try {
    const long = 'd'.repeat(120);
    mkdirSync(join(dir, 'src', 'sub', long), { recursive: true });
    writeFileSync(join(dir, 'src', 'a.txt'), 'hello');
    writeFileSync(join(dir, 'src', 'sub', long, 'f'), 'x'.repeat(1000));
    symlinkSync('a.txt', join(dir, 'src', 'link'));
    const list = await entries(packPath(join(dir, 'src'), { rootName: 'root' }));
    assert.deepEqual(
      list.map((e) => `${e.type}:${e.name}`),
      [
        'dir:root',
        'file:root/a.txt',
        'symlink:root/link',
        'dir:root/sub',
        `dir:root/sub/${long}`,
        `file:root/sub/${long}/f`,
      ],
    );
    assert.equal(list[1]!.data, 'hello');
    assert.equal(list[2]!.linkname, 'a.txt');
    assert.equal(list[5]!.data.length, 1000);
    const chunks: Buffer[] = [];
    for await (const c of packPath(join(dir, 'src'), { rootName: 'root' })) chunks.push(c);
    await extractTar(once(Buffer.concat(chunks)), join(dir, 'out-parent'), {}).catch(() => undefined);
    mkdirSync(join(dir, 'out'));
    await extractTar(once(Buffer.concat(chunks)), join(dir, 'out'), { rename: rebaser('root', 'renamed') });
    assert.equal(readFileSync(join(dir, 'out', 'renamed', 'a.txt'), 'utf8'), 'hello');
    assert.equal(readlinkSync(join(dir, 'out', 'renamed', 'link')), 'a.txt');
    assert.equal(readFileSync(join(dir, 'out', 'renamed', 'sub', long, 'f'), 'utf8').length, 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('extraction refuses .. and writes through archive symlinks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tar-'));
  try {
    const evil = Buffer.concat([singleFileTar('../escape', Buffer.from('x')), Buffer.alloc(1024)]);
    await assert.rejects(extractTar(once(evil), dir), /escapes/);
    const viaLink = Buffer.concat([
      tarHeader({ name: 'l', type: 'symlink', mode: 0o777, size: 0, mtime: 0, uid: 0, gid: 0, linkname: '/tmp' }),
      singleFileTar('l/owned', Buffer.from('x')),
      Buffer.alloc(1024),
    ]);
    await assert.rejects(extractTar(once(viaLink), dir), /symbolic link/);
    assert.equal(existsSync('/tmp/owned'), false);
    assert.equal(lstatSync(join(dir, 'l')).isSymbolicLink(), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a build context honours .dockerignore but keeps the Dockerfile and .dockerignore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\n');
    writeFileSync(
      join(dir, '.dockerignore'),
      'secret.txt\nDockerfile\n.dockerignore\nnode_modules\n!node_modules/keep\n',
    );
    writeFileSync(join(dir, 'secret.txt'), 's');
    writeFileSync(join(dir, 'keep.txt'), 'k');
    mkdirSync(join(dir, 'node_modules', 'keep'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'drop.js'), '');
    writeFileSync(join(dir, 'node_modules', 'keep', 'k.js'), '');
    const names = (await entries(contextTar(dir, 'Dockerfile'))).map((e) => e.name).sort();
    assert.deepEqual(names, ['.dockerignore', 'Dockerfile', 'keep.txt', 'node_modules/keep', 'node_modules/keep/k.js']);
    const withExtra = (
      await entries(contextTar(dir, undefined, { name: '.dockerfile.x', data: Buffer.from('FROM x') }))
    ).map((e) => e.name);
    assert.ok(withExtra.includes('.dockerfile.x'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('archive sniffing', () => {
  assert.equal(isArchive(singleFileTar('Dockerfile', Buffer.from('FROM x'))), true);
  assert.equal(isArchive(Buffer.from([0x1f, 0x8b, 8, 0])), true);
  assert.equal(isArchive(Buffer.from('FROM busybox\nRUN true\n')), false);
});

test('cp argument and path rules', () => {
  assert.deepEqual(splitCpArg('web:/etc/hosts'), { container: 'web', path: '/etc/hosts' });
  assert.deepEqual(splitCpArg('./a:b'), { path: './a:b' });
  assert.deepEqual(splitCpArg('/abs/x:y'), { path: '/abs/x:y' });
  assert.deepEqual(splitCpArg('-'), { path: '-' });
  assert.deepEqual(splitDirEntry('/etc/.'), ['/etc', '.']);
  assert.deepEqual(splitDirEntry('/etc/'), ['/', 'etc']);
  assert.deepEqual(splitDirEntry('out'), ['.', 'out']);
  const r = rebaser('etc', 'copy');
  assert.equal(r('etc'), 'copy');
  assert.equal(r('etc/hosts'), 'copy/hosts');
  assert.equal(r('etcetera'), 'etcetera');
  assert.equal(rebaser('.', 'c')('./hosts'), 'c/hosts');
});
