import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchDir } from './testing.ts';
import { cleanRel, contentDigest, globToRegExp, matchSources, parseChmod } from './copy.ts';

const mkdtempSync = scratchDir;

test('globs follow Go filepath.Match, one path component at a time', () => {
  assert.ok(globToRegExp('*.txt').test('a.txt'));
  assert.ok(!globToRegExp('*.txt').test('a/b.txt'));
  assert.ok(globToRegExp('fil?').test('file'));
  assert.ok(globToRegExp('[a-c]x').test('bx'));
  assert.ok(!globToRegExp('[a-c]x').test('dx'));
  assert.ok(globToRegExp('a\\*').test('a*'));
  assert.ok(!globToRegExp('a\\*').test('ab'));
});

test('source paths are cleaned inside the root', () => {
  assert.equal(cleanRel('/a/../b/'), 'b');
  assert.equal(cleanRel('../../etc/passwd'), 'etc/passwd');
  assert.equal(cleanRel('.'), '');
});

test('matchSources: plain names, globs across directories, misses, and symlinks kept inside the root', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-bcopy-'));
  mkdirSync(join(root, 'src/sub'), { recursive: true });
  writeFileSync(join(root, 'src/a.txt'), 'a');
  writeFileSync(join(root, 'src/b.txt'), 'b');
  writeFileSync(join(root, 'src/sub/c.txt'), 'c');
  symlinkSync('/etc/passwd', join(root, 'escape'));
  assert.deepEqual(
    (await matchSources(root, 'src/*.txt', 'COPY')).map((s) => s.rel),
    ['src/a.txt', 'src/b.txt'],
  );
  assert.deepEqual(
    (await matchSources(root, '*/sub/*.txt', 'COPY')).map((s) => s.rel),
    ['src/sub/c.txt'],
  );
  assert.deepEqual(await matchSources(root, 'nothing*', 'COPY'), []);
  const dir = await matchSources(root, './src', 'COPY');
  assert.equal(dir[0]!.isDir, true);
  await assert.rejects(
    matchSources(root, 'missing.txt', 'COPY'),
    /COPY failed: file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist/,
  );
  // an absolute symlink resolves inside the root, never to the host's file
  await assert.rejects(matchSources(root, 'escape', 'COPY'), /file not found/);
});

test('the content digest changes with the bytes of a file, not with unrelated files', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-bcopy-'));
  writeFileSync(join(root, 'f'), 'one');
  writeFileSync(join(root, 'other'), 'x');
  const d1 = await contentDigest(await matchSources(root, 'f', 'COPY'));
  writeFileSync(join(root, 'other'), 'y');
  assert.equal(await contentDigest(await matchSources(root, 'f', 'COPY')), d1);
  writeFileSync(join(root, 'f'), 'two');
  assert.notEqual(await contentDigest(await matchSources(root, 'f', 'COPY')), d1);
});

test('--chmod takes octal only', () => {
  assert.equal(parseChmod('755'), 0o755);
  assert.equal(parseChmod(undefined), undefined);
  assert.throws(() => parseChmod('u+x'), /invalid chmod parameter: u\+x/);
});

test('ADD <url>: downloaded with mode 0600 and Last-Modified, refused past the cap', async () => {
  const { createServer } = await import('node:http');
  const { statSync, readFileSync } = await import('node:fs');
  const { download } = await import('./copy.ts');
  const server = createServer((req, res) => {
    if (req.url === '/missing') {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
    res.end(req.url === '/big.bin' ? Buffer.alloc(4096) : 'remote body\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'berth-dl-'));
    const s = await download(`http://127.0.0.1:${port}/files/hello.txt`, dir);
    assert.equal(s.rel, 'hello.txt');
    assert.equal(readFileSync(s.abs, 'utf8'), 'remote body\n');
    assert.equal(statSync(s.abs).mode & 0o777, 0o600);
    assert.equal(statSync(s.abs).mtime.toISOString(), '2015-10-21T07:28:00.000Z');
    await assert.rejects(download(`http://127.0.0.1:${port}/big.bin`, dir, 1000), /more than the 1000 bytes allowed/);
    await assert.rejects(download(`http://127.0.0.1:${port}/missing`, dir), /status code 404/);
  } finally {
    server.close();
  }
});
