import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { constants, gzipSync, zstdCompressSync } from 'node:zlib';
import { makeTar } from '../archive/testing.ts';
import { hostPlatform } from '../spec/index.ts';
import { openTestStores, type TestStores } from './testing.ts';
import { importImage } from './import.ts';

let s: TestStores;
before(async () => {
  s = await openTestStores();
});
after(async () => {
  await s?.close();
});

const rootfs = () =>
  makeTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
    { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hostname', content: 'imported\n' },
  ]);

test('import makes a one-layer image with the changes in its config, as dockerd writes it', async () => {
  const img = await importImage(s.store, Readable.from([await rootfs()]), {
    changes: [
      'CMD ["/bin/tool", "--flag"]',
      'ENV GREETING=hi LANG=C.UTF-8',
      'EXPOSE 80 443/tcp',
      'LABEL maintainer="me <me@example.com>" tier=web',
      'WORKDIR /srv',
      'USER 1000',
    ],
  });
  const c = img.config;
  assert.deepEqual(c.config?.Cmd, ['/bin/tool', '--flag']);
  assert.deepEqual(c.config?.Env, ['GREETING=hi', 'LANG=C.UTF-8']);
  assert.deepEqual(c.config?.ExposedPorts, { '80/tcp': {}, '443/tcp': {} });
  assert.deepEqual(c.config?.Labels, { maintainer: 'me <me@example.com>', tier: 'web' });
  assert.equal(c.config?.WorkingDir, '/srv');
  assert.equal(c.config?.User, '1000');
  assert.equal(c.architecture, hostPlatform().architecture);
  assert.equal(c.os, 'linux');
  assert.equal(c.comment, 'Imported from -');
  assert.deepEqual(c.history, [{ created: c.created, created_by: '', comment: 'Imported from -' }]);
  assert.equal(c.rootfs.diff_ids.length, 1);
  const [layer] = s.snapshots.stack(img.topChain);
  const dir = s.snapshots.diffDir(layer!);
  assert.equal(readFileSync(join(dir, 'etc/hostname'), 'utf8'), 'imported\n');
  assert.equal(readlinkSync(join(dir, 'bin/alias')), 'tool');
  // The config blob is the image ID.
  assert.equal(JSON.parse((await s.content.read(img.id)).toString()).config.Cmd[1], '--flag');
});

test('gzip and zstd bodies give the same layer as the plain tar; the message is the comment', async () => {
  const plain = await rootfs();
  const a = await importImage(s.store, Readable.from([plain]), { changes: [], message: 'first' });
  const b = await importImage(s.store, Readable.from([gzipSync(plain)]), { changes: [] });
  const z = await importImage(
    s.store,
    Readable.from([zstdCompressSync(plain, { params: { [constants.ZSTD_c_compressionLevel]: 3 } })]),
    { changes: [] },
  );
  assert.equal(a.config.rootfs.diff_ids[0], b.config.rootfs.diff_ids[0]);
  assert.equal(a.config.rootfs.diff_ids[0], z.config.rootfs.diff_ids[0]);
  assert.equal(a.config.comment, 'first');
  assert.equal(a.config.history?.[0]?.comment, 'first');
  let seen = 0;
  await importImage(s.store, Readable.from([plain]), { changes: [], onBytes: (n) => (seen = n) });
  assert.equal(seen, plain.length);
});

test('a bad change fails before the body is read; a hostile tar leaves no blob or layer', async () => {
  const fresh = await openTestStores();
  try {
    const body = Readable.from([await rootfs()]);
    await assert.rejects(
      importImage(fresh.store, body, { changes: ['RUN true'] }),
      /run is not a valid change command/,
    );
    assert.equal(body.readableDidRead, false, 'the body was not touched');
    const hostile = await makeTar([{ name: 'escape', type: 'link', linkname: '../../../../etc/passwd' }]);
    await assert.rejects(
      importImage(fresh.store, Readable.from([hostile]), { changes: [] }),
      (e: Error & { category?: string }) => e.category === 'InvalidArgument',
    );
    assert.deepEqual(await fresh.footprint(), { blobs: [], layers: [], tmp: [], ingest: [] });
    assert.deepEqual(fresh.store.list(), []);
  } finally {
    await fresh.close();
  }
});
