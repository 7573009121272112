/**
 * Images through the real `docker` CLI: import, save/load, export, tag, images, rmi, prune,
 * history and inspect — and hostile archives refused without harm.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, existsSync, readFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../src/archive/testing.ts';
import { cleanup, docker, dockerOk, run, startDaemonWithBusybox, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => (d = await startDaemonWithBusybox()));
after(() => cleanup(d));

test('docker images lists bootstrapped busybox with its size; -q and dangling filter', async () => {
  const out = await dockerOk(d, ['images']);
  assert.match(out, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/m);
  assert.match(out, /^busybox\s+latest\s+[a-f0-9]{12}\s+.+\s+\d+(\.\d+)?[kM]B$/m);
  const q = await dockerOk(d, ['images', '-q']);
  assert.match(q, /^[a-f0-9]{12}$/m);
  const dangling = await dockerOk(d, ['images', '-q', '--filter', 'dangling=true']);
  assert.equal(dangling.trim(), '');
});

test('import a rootfs from stdin with changes, and run it', async () => {
  const bb = readFileSync('/bin/busybox');
  const withBusybox = await makeTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: bb, mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'bin/cat', type: 'symlink', linkname: 'busybox' },
    { name: 'hello.txt', content: 'imported!\n' },
  ]);
  const id = (
    await dockerOk(d, ['import', '-c', 'CMD ["cat", "/hello.txt"]', '-c', 'ENV GREETING=hi', '-', 'imported:1'], {
      input: withBusybox,
    })
  ).trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'imported:1']), 'imported!\n');
  assert.equal(await dockerOk(d, ['run', '--rm', 'imported:1', 'sh', '-c', 'echo $GREETING']), 'hi\n');
  const gz = join(d.root, 'rootfs.tar.gz');
  writeFileSync(gz, gzipSync(withBusybox));
  const id2 = (await dockerOk(d, ['import', gz, 'imported:gz'])).trim();
  assert.match(id2, /^sha256:/);
});

test('save and load round-trip an image with its tags and ID', async () => {
  const id = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  const before = Date.now();
  await dockerOk(d, ['tag', 'busybox', 'copy/busybox:v1']);
  // Metadata.LastTagTime: when a tag was last set on the image, as Docker records it.
  const tagged = Date.parse(
    (await dockerOk(d, ['image', 'inspect', '-f', '{{json .Metadata.LastTagTime}}', 'busybox']))
      .trim()
      .replace(/"/g, ''),
  );
  assert.ok(tagged >= before - 1000 && tagged <= Date.now() + 1000, `LastTagTime ${tagged} is the tag's time`);
  const file = join(d.root, 'save.tar');
  await dockerOk(d, ['save', '-o', file, 'copy/busybox:v1']);
  const list = await run('tar', ['tf', file]);
  assert.match(list.stdout, /^manifest\.json$/m);
  assert.match(list.stdout, /^blobs\/sha256\/[a-f0-9]{64}$/m);
  // The archive must unpack as a tree (dockerd 20.10 extracts it before loading).
  const unpacked = join(d.root, 'save-unpacked');
  mkdirSync(unpacked);
  assert.equal((await run('tar', ['-C', unpacked, '-xf', file])).code, 0);
  assert.ok(existsSync(join(unpacked, 'blobs', 'sha256', id.slice(7))), 'the config blob is at blobs/sha256/<hex>');
  const manifest = JSON.parse((await run('tar', ['xOf', file, 'manifest.json'])).stdout);
  assert.deepEqual(manifest[0].RepoTags, ['copy/busybox:v1']);
  const rmi = await dockerOk(d, ['rmi', 'copy/busybox:v1']);
  assert.equal(rmi.trim(), 'Untagged: copy/busybox:v1', 'busybox:latest still holds the image');
  const loaded = await dockerOk(d, ['load', '-i', file]);
  assert.match(loaded, /Loaded image: copy\/busybox:v1/);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'copy/busybox:v1'])).trim(), id);
});

test('export a container file system as a tar', async () => {
  await dockerOk(d, ['run', '--name', 'exported', 'busybox', 'sh', '-c', 'echo data > /marker']);
  const file = join(d.root, 'export.tar');
  await dockerOk(d, ['export', '-o', file, 'exported']);
  const list = await run('tar', ['tf', file]);
  assert.match(list.stdout, /^\.?\/?marker$/m);
  assert.match(list.stdout, /^\.?\/?bin\/busybox$/m);
  await dockerOk(d, ['rm', 'exported']);
});

test('tag, history, inspect in Docker shape', async () => {
  await dockerOk(d, ['tag', 'busybox', 'mytag:1']);
  const info = JSON.parse(await dockerOk(d, ['image', 'inspect', 'mytag:1']))[0];
  assert.match(info.Id, /^sha256:[a-f0-9]{64}$/);
  assert.ok(info.RepoTags.includes('mytag:1') && info.RepoTags.includes('busybox:latest'));
  assert.equal(info.RootFS.Type, 'layers');
  assert.equal(info.Os, 'linux');
  assert.deepEqual(info.Config.Cmd, ['sh']);
  const hist = await dockerOk(d, ['history', 'mytag:1']);
  assert.match(hist, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/m);
  assert.match(hist, new RegExp(`^${info.Id.slice(7, 19)}\\s`, 'm'));
  await dockerOk(d, ['rmi', 'mytag:1']);
});

test('rmi refuses an image in use unless forced, and prune removes dangling ones', async () => {
  await dockerOk(d, ['tag', 'busybox', 'inuse:1']);
  const id = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  const c = (await dockerOk(d, ['create', 'inuse:1', 'true'])).trim();
  const byId = await docker(d, ['rmi', id]);
  assert.notEqual(byId.code, 0);
  assert.match(byId.stderr, /unable to delete [a-f0-9]{12} \(must be forced\)/);
  await dockerOk(d, ['rm', c]);
  await dockerOk(d, ['rmi', 'inuse:1']);
  // An image that loses its last tag becomes dangling: <none> in `docker images`.
  const tar = await makeTar([{ name: 'only.txt', content: 'x' }]);
  await dockerOk(d, ['import', '-', 'dangle:1'], { input: tar });
  await dockerOk(d, ['import', '-', 'dangle:1'], { input: await makeTar([{ name: 'only.txt', content: 'y' }]) });
  const dangling = await dockerOk(d, ['images', '--filter', 'dangling=true', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.equal(dangling.trim(), '<none>:<none>');
  const pruned = await dockerOk(d, ['image', 'prune', '-f']);
  assert.match(pruned, /deleted: sha256:[a-f0-9]{64}/);
  assert.equal((await dockerOk(d, ['images', '-q', '--filter', 'dangling=true'])).trim(), '');
});

test('hostile archives are refused and write nothing outside the root', async () => {
  const cases: Array<[string, Parameters<typeof makeTar>[0]]> = [
    ['dot-dot', [{ name: '../../../../tmp/berth-escape-dotdot', content: 'pwned' }]],
    ['hardlink-out', [{ name: 'passwd', type: 'link', linkname: '../../../../../../etc/passwd' }]],
  ];
  for (const [name, entries] of cases) {
    const r = await docker(d, ['import', '-', `hostile:${name}`], { input: await makeTar(entries) });
    assert.notEqual(r.code, 0, `${name} must be refused`);
    assert.match(r.stderr, /escape|outside|invalid|refus/i, `${name}: ${r.stderr}`);
    assert.equal((await docker(d, ['inspect', `hostile:${name}`])).code, 1, `${name} left no image`);
  }
  // A symlink to a host path, then a file "through" it: the link is followed as if the image's
  // root were /, so the file lands inside the image, never on the host.
  await dockerOk(d, ['import', '-', 'contained:1'], {
    input: await makeTar([
      { name: 'evil', type: 'symlink', linkname: '/tmp' },
      { name: 'evil/berth-escape-symlink', content: 'pwned' },
    ]),
  });
  assert.equal(existsSync('/tmp/berth-escape-symlink'), false);
  await dockerOk(d, ['rmi', 'contained:1']);
  assert.equal(existsSync('/tmp/berth-escape-dotdot'), false);
  assert.equal(existsSync('/tmp/berth-escape-symlink'), false);
  const badLoad = await docker(d, ['load'], {
    input: await makeTar([{ name: 'manifest.json', content: '{not json' }]),
  });
  assert.notEqual(badLoad.code, 0);
  assert.equal(
    (await dockerOk(d, ['version', '--format', '{{.Server.Version}}'])).length > 0,
    true,
    'the daemon is still up',
  );
});

test('zstd layers of several frames (pzstd, concatenated files, a leading skippable frame) import and load whole; a cut-off one is refused', async () => {
  const big = randomBytes(20 << 20); // pzstd makes a frame of every ~8 MiB of input
  const tar = await makeTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'big', content: big },
    { name: 'tail.txt', content: 'the last file\n' },
  ]);
  const plain = join(d.root, 'multi.tar');
  writeFileSync(plain, tar);
  const pz = join(d.root, 'multi.tar.pz');
  const pzstd = await run('pzstd', ['-q', '-f', '-p', '2', plain, '-o', pz]);
  assert.equal(pzstd.code, 0, pzstd.stderr);
  assert.match((await run('zstd', ['-l', pz])).stdout, /^\s*[3-9]\s+[1-9]/m, 'several frames and skippable frames');
  const half = tar.length >> 1;
  const part = async (b: Buffer, name: string) => {
    writeFileSync(join(d.root, name), b);
    assert.equal((await run('zstd', ['-q', '-f', '-T0', join(d.root, name)])).code, 0);
    return readFileSync(join(d.root, `${name}.zst`));
  };
  const concatenated = Buffer.concat([await part(tar.subarray(0, half), 'a'), await part(tar.subarray(half), 'b')]);
  const skip = Buffer.alloc(12);
  skip.writeUInt32LE(0x184d2a5e, 0);
  skip.writeUInt32LE(4, 4);
  const leadingSkip = Buffer.concat([skip, await part(tar, 'whole')]);
  const want = `${createHash('sha256').update(big).digest('hex')}  /big\nthe last file\n`;
  const check = ['sh', '-c', 'sha256sum /big; cat /tail.txt'];
  for (const [tag, file, input] of [
    ['pzstd', pz, undefined],
    ['concatenated', '-', concatenated],
    ['skippable', '-', leadingSkip],
  ] as const) {
    await dockerOk(d, ['import', file, `multiframe:${tag}`], { input });
    assert.equal(await dockerOk(d, ['run', '--rm', `multiframe:${tag}`, ...check]), want, tag);
  }
  // Cut off after its first frames: refused, and no image is made of what came before.
  const cut = readFileSync(pz).subarray(0, Math.floor(statSync(pz).size * 0.6));
  const refused = await docker(d, ['import', '-', 'multiframe:cut'], { input: cut });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /invalid zstd data/);
  assert.equal((await docker(d, ['inspect', 'multiframe:cut'])).code, 1);

  // docker load of an OCI layout whose one layer is that pzstd file: its diff ID checks out.
  const layer = readFileSync(pz);
  const blob = (b: Buffer) => ({ digest: `sha256:${createHash('sha256').update(b).digest('hex')}`, size: b.length });
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: check },
      rootfs: { type: 'layers', diff_ids: [blob(tar).digest] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(config) },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', ...blob(layer) }],
    }),
  );
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...blob(manifest),
        annotations: { 'io.containerd.image.name': 'docker.io/library/multiframe:loaded' },
      },
    ],
  };
  const layout = await makeTar([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: JSON.stringify(index) },
    ...[config, manifest, layer].map((b) => ({ name: `blobs/sha256/${blob(b).digest.slice(7)}`, content: b })),
  ]);
  assert.match(await dockerOk(d, ['load'], { input: layout }), /Loaded image: multiframe:loaded/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'multiframe:loaded']), want);
});
