import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../archive/testing.ts';
import { is } from '../../errdefs/index.ts';
import type { SpecialFiles } from '../../host/index.ts';
import { scratchDir } from './testing.ts';
import { unpackContext } from './context.ts';

// Contexts of plain files and links need no device nodes or extended attributes.
const host: SpecialFiles = {
  mknod: () => Promise.reject(new Error('no mknod in these tests')),
  setxattr: () => Promise.reject(new Error('no setxattr in these tests')),
};

function contextDir(): string {
  const dir = join(scratchDir(join(tmpdir(), 'berth-bctx-')), 'context');
  mkdirSync(dir);
  return dir;
}

test('a bare Dockerfile as the body is the Dockerfile, whatever name -f gave', async () => {
  const dir = contextDir();
  const got = await unpackContext(Readable.from([Buffer.from('FROM busybox\n')]), dir, 'other/Dockerfile.x', host);
  assert.deepEqual(got, { dockerfileName: 'Dockerfile', text: 'FROM busybox\n' });
  assert.equal(readFileSync(join(dir, 'Dockerfile'), 'utf8'), 'FROM busybox\n');
});

test('a tar, plain or gzipped, is unpacked and the Dockerfile -f names is read from it', async () => {
  const tar = await makeTar([
    { name: 'build/Dockerfile.dev', content: 'FROM scratch\n' },
    { name: 'src/app.txt', content: 'app' },
  ]);
  for (const body of [tar, gzipSync(tar)]) {
    const dir = contextDir();
    const got = await unpackContext(Readable.from([body]), dir, '/build/./Dockerfile.dev', host);
    assert.deepEqual(got, { dockerfileName: 'build/Dockerfile.dev', text: 'FROM scratch\n' });
    assert.equal(readFileSync(join(dir, 'src/app.txt'), 'utf8'), 'app');
  }
});

test('without -f, a lower-case dockerfile is found when there is no Dockerfile', async () => {
  const tar = await makeTar([{ name: 'dockerfile', content: 'FROM busybox\n' }]);
  const got = await unpackContext(Readable.from([tar]), contextDir(), undefined, host);
  assert.equal(got.text, 'FROM busybox\n');
});

test("a Dockerfile that is missing, or a link out of the context, cannot be located (dockerd's message)", async () => {
  const tar = await makeTar([{ name: 'Dockerfile', type: 'symlink', linkname: '/etc/hostname' }]);
  for (const [body, name] of [
    [tar, undefined],
    [await makeTar([{ name: 'a.txt', content: 'a' }]), 'Dockerfile.missing'],
  ] as const) {
    const dir = contextDir();
    await assert.rejects(
      unpackContext(Readable.from([body]), dir, name, host),
      (e) => is(e, 'InvalidArgument') && /^Cannot locate specified Dockerfile: /.test((e as Error).message),
    );
    assert.ok(existsSync(dir));
  }
});

test('an empty body is an empty context, which has no Dockerfile', async () => {
  await assert.rejects(
    unpackContext(Readable.from([]), contextDir(), undefined, host),
    /Cannot locate specified Dockerfile: Dockerfile/,
  );
});
