/**
 * Single-file images: `berth image pack` writes a squashfs file with the config inside; `berth
 * run FILE` / `--rootfs-file` and `docker run --mount type=bind,source=FILE,target=/ scratch`
 * run it in place (loop-mounted, read-only, a writable layer on top, nothing unpacked); `berth
 * load` takes it back into the store; bad files are refused with clear errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, cleanup, berth, docker, dockerOk, bootstrapBusybox, run, type Daemon } from './harness.ts';

let d: Daemon;
let scratch: string;
let file: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-e2e-sqfs-'));
  d = await startDaemon();
  await bootstrapBusybox(d);
  // An image with a config worth checking: a command, a variable and a working directory.
  const ctx = join(scratch, 'ctx');
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    'FROM busybox\nRUN mkdir /app && echo packed > /app/msg && rm /bin/vi\nENV GREETING=hi\nWORKDIR /app\nCMD ["cat", "msg"]\n',
  );
  await dockerOk(d, ['build', '-q', '-t', 'sq/app:1', ctx]);
  file = join(scratch, 'app.sqfs');
});

after(async () => {
  if (d) await cleanup(d);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('berth image pack writes a squashfs file of the merged root with the image config inside', async () => {
  const r = await berth(d, ['image', 'pack', 'sq/app:1', '-o', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(file).subarray(0, 4).toString('latin1'), 'hsqs');
  const list = await run('unsquashfs', ['-l', file]);
  assert.match(list.stdout, /squashfs-root\/app\/msg\n/);
  assert.match(list.stdout, /squashfs-root\/\.berth\/config\.json\n/);
  assert.doesNotMatch(list.stdout, /squashfs-root\/bin\/vi\n/, 'a file the top layer deleted is not there');
  assert.doesNotMatch(list.stdout, /\.wh\./);
  const config = JSON.parse((await run('unsquashfs', ['-cat', file, '.berth/config.json'])).stdout);
  const id = (await dockerOk(d, ['image', 'inspect', '-f', '{{.Id}}', 'sq/app:1'])).trim();
  const { createHash } = await import('node:crypto');
  const raw = (await run('unsquashfs', ['-cat', file, '.berth/config.json'])).stdout;
  assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, id, 'the config bytes, exactly');
  assert.deepEqual(config.config.Cmd, ['cat', 'msg']);
});

test('berth run FILE and --rootfs-file run from the file with a writable layer; the file is untouched', async () => {
  const before = statSync(file);
  const a = await berth(d, ['run', '--rm', file]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, 'packed\n', "the image's CMD and WORKDIR");
  const b = await berth(d, [
    'run',
    '--rm',
    '--rootfs-file',
    file,
    'sh',
    '-c',
    'echo $GREETING; echo new > /app/msg; cat /app/msg',
  ]);
  assert.equal(b.stdout, 'hi\nnew\n');
  const again = await berth(d, ['run', '--rm', file]);
  assert.equal(again.stdout, 'packed\n', 'a container wrote to its own layer only');
  const after = statSync(file);
  assert.equal(after.mtimeMs, before.mtimeMs);
  // Nothing was unpacked: the layer is the file, mounted through a loop device.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  assert.ok(
    mounts.split('\n').some((l) => l.includes(join(d.root, 'data')) && / squashfs /.test(l)),
    'a squashfs mount under the data root',
  );
});

test('the docker CLI runs the file through a bind mount on / with the image scratch', async () => {
  assert.equal(
    await dockerOk(d, ['run', '--rm', '--mount', `type=bind,source=${file},target=/`, 'scratch', 'cat', '/app/msg']),
    'packed\n',
  );
  assert.equal(await dockerOk(d, ['run', '--rm', '-v', `${file}:/`, 'scratch']), 'packed\n');
  const other = await docker(d, ['run', '--rm', '--mount', `type=bind,source=${file},target=/`, 'busybox', 'true']);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /it replaces the image, so the image must be "scratch", not "busybox"/);
});

test('berth load takes the file back as a one-layer image with its tag and config', async () => {
  await dockerOk(d, ['rmi', 'sq/app:1']);
  const r = await berth(d, ['load', '-i', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Loaded image: sq\/app:1/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'sq/app:1']), 'packed\n');
  const layers = JSON.parse(await dockerOk(d, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'sq/app:1']));
  assert.equal(layers.length, 1);
  await dockerOk(d, ['run', '--rm', 'sq/app:1', 'test', '!', '-e', '/.berth']);
});

test('a truncated file, a file that is not squashfs, or one without a config are refused clearly', async () => {
  const truncated = join(scratch, 'cut.sqfs');
  writeFileSync(truncated, readFileSync(file).subarray(0, 64 * 1024));
  const cut = await berth(d, ['run', '--rm', truncated]);
  assert.equal(cut.code, 125);
  assert.match(
    cut.stderr,
    new RegExp(`image file "${truncated}": truncated: the squashfs says \\d+ bytes, the file has 65536`),
  );
  const junk = join(scratch, 'junk.sqfs');
  writeFileSync(junk, 'not a file system at all, but long enough to have a superblock\n'.repeat(4));
  const j = await berth(d, ['run', '--rm', junk]);
  assert.match(j.stderr, /not a squashfs file \(make one with berth image pack\)/);
  const bare = join(scratch, 'bare');
  mkdirSync(join(bare, 'etc'), { recursive: true });
  const noConfig = join(scratch, 'noconfig.sqfs');
  assert.equal((await run('mksquashfs', [bare, noConfig, '-quiet', '-no-progress', '-noappend'])).code, 0);
  const n = await berth(d, ['run', '--rm', noConfig]);
  assert.match(n.stderr, /no image config in it \(\/\.berth\/config\.json is missing\)/);
  const l = await berth(d, ['load', '-i', noConfig]);
  assert.equal(l.code, 1);
  assert.match(l.stderr, /image file "the loaded squashfs file": no image config in it/);
});
