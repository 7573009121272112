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
import { extractTar, packPath } from './index.ts';
import { makeTar, readTarEntries } from './testing.ts';

/** The entries as the client sees them: short type names, directories without their slash. */
async function entries(src: AsyncIterable<Buffer>) {
  const short: Record<string, string> = { directory: 'dir', file: 'file', symlink: 'symlink', link: 'link' };
  return (await readTarEntries(src)).map((h) => ({
    ...h,
    type: short[h.type ?? ''] ?? 'other',
    name: h.type === 'directory' ? h.name.replace(/\/+$/, '') : h.name,
    data: h.data.toString(),
  }));
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  // deliver in odd-sized pieces to exercise the parser's buffering
  for (let i = 0; i < b.length; i += 333) yield b.subarray(i, i + 333);
}

/** A local rebaser as `berth cp` uses (cli/cp.ts): `root[/...]` becomes `renamed[/...]`. */
const rebase = (name: string) => (name === 'root' || name.startsWith('root/') ? 'renamed' + name.slice(4) : name);

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
    await extractTar(once(Buffer.concat(chunks)), join(dir, 'out'), { rename: rebase });
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
    const evil = await makeTar([{ name: '../escape', content: 'x' }]);
    await assert.rejects(extractTar(once(evil), dir), /escapes/);
    const viaLink = await makeTar([
      { name: 'l', type: 'symlink', mode: 0o777, linkname: '/tmp' },
      { name: 'l/owned', content: 'x' },
    ]);
    await assert.rejects(extractTar(once(viaLink), dir), /symbolic link/);
    assert.equal(existsSync('/tmp/owned'), false);
    assert.equal(lstatSync(join(dir, 'l')).isSymbolicLink(), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
