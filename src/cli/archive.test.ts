import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { singleFileTar } from '../archive/index.ts';
import { readTarEntries } from '../archive/testing.ts';
import { IgnoreMatcher, readIgnoreFile } from '../archive/index.ts';
import { contextTar, isArchive } from './build.ts';
import { rebaser, splitCpArg, splitDirEntry } from './cp.ts';

async function entries(src: AsyncIterable<Buffer>): Promise<Array<{ name: string }>> {
  // Directories without their trailing slash, as the client names them.
  return (await readTarEntries(src)).map((h) => ({ name: h.name.replace(/\/+$/, '') }));
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

test('archive sniffing', async () => {
  assert.equal(isArchive(await singleFileTar('Dockerfile', Buffer.from('FROM x'))), true);
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
