import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerSourceDigest } from './sourcehash.ts';

/** A context laid out as given ([path, content or null for a directory, mode]), all root's. */
function context(entries: Array<[string, string | null, number]>, links: Array<[string, string]> = []): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-sourcehash-'));
  for (const [path, content, mode] of entries) {
    const abs = join(root, path);
    if (content === null) mkdirSync(abs, { recursive: true });
    else writeFileSync(abs, content);
    chmodSync(abs, mode);
    if (process.getuid?.() === 0) chownSync(abs, 0, 0);
  }
  for (const [path, target] of links) symlinkSync(target, join(root, path));
  return root;
}

const src = (root: string, rel: string, isDir = false) => ({ rel, abs: join(root, rel), isDir });

// The expected words are what dockerd 20.10's legacy builder wrote into `docker history` for
// the same contexts (the compatimg sweep), uid and gid 0 as the docker CLI sends a context.
test(
  'COPY sources digest as dockerd 20.10 names them: file, dir (symlinks as their targets), multi',
  { skip: process.getuid?.() !== 0 && 'needs root for uid 0 files' },
  async () => {
    const root = context(
      [
        ['f.txt', 'file\n', 0o644],
        ['l', null, 0o755],
        ['l/a.txt', 'a\n', 0o644],
        ['s', null, 0o755],
        ['s/sub', null, 0o755],
        ['s/sub/b', 'b\n', 0o644],
        ['x', null, 0o755],
        ['x/x.sh', 'x\n', 0o755],
        ['c.txt', 'c\n', 0o644],
        ['d', null, 0o755],
        ['d/a.txt', 'a\n', 0o644],
        ['e', null, 0o700],
        ['e/e.txt', 'e\n', 0o644],
      ],
      [['l/link', 'a.txt']],
    );
    try {
      const cases: Array<[Parameters<typeof dockerSourceDigest>[1], string]> = [
        [[src(root, 'f.txt')], 'file:fccd022b5850b74becb1ac249b1fb9e240ecc413b554d71985caeba8f2aca2f3'],
        [[src(root, 'l', true)], 'dir:ddd90c675f2b95c47e460d35a061a2ec51953a47ed66bc20c9882285822a09e1'],
        [[src(root, 's', true)], 'dir:cdffc6798c2e4caf02c25581f55963a8f88ed9aabf8abd4bf47306e014980713'],
        [[src(root, 'x', true)], 'dir:cb264f7fb99274ab14fcf1a7047fab82e9003746a621752454ea1bbe8d0b8352'],
        [[src(root, 'e', true)], 'dir:cb5c285b6e9674dacbf7e9fb6b0e6c64b41205d440d5c289cfbe33e944c24b46'],
        [
          [src(root, 'c.txt'), src(root, 'd/a.txt')],
          'multi:ec85d6153a3ff44bc49e087fd219a9c64811af408f0dc89d5476c4d398624763',
        ],
      ];
      for (const [sources, want] of cases) assert.equal(await dockerSourceDigest(root, sources), want, sources[0]!.rel);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);

test('the context root itself is not part of its own digest: only what is under it', async () => {
  const a = context([['k.txt', 'k\n', 0o644]]);
  const b = context([['k.txt', 'k\n', 0o644]]);
  try {
    chmodSync(b, 0o700);
    assert.equal(await dockerSourceDigest(a, [src(a, '', true)]), await dockerSourceDigest(b, [src(b, '', true)]));
    writeFileSync(join(b, 'k.txt'), 'changed\n');
    assert.notEqual(await dockerSourceDigest(a, [src(a, '', true)]), await dockerSourceDigest(b, [src(b, '', true)]));
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});
