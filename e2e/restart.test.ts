/**
 * Containers across daemon restarts: live restore keeps them running through SIGTERM and
 * SIGKILL of berthd, exits while it is down are recorded, and without live restore a shutdown
 * stops them cleanly. A daemon killed mid-import, mid-load or mid-pull leaves stores the next
 * start uses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startDaemon,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  sleep,
  eventually,
  DOCKER,
  REPO,
  startDaemonWithBusybox,
  startRegistry,
  type Daemon,
} from './harness.ts';

let d: Daemon;
before(async () => (d = await startDaemonWithBusybox(['--live-restore'])));
after(() => cleanup(d));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('with --live-restore a container keeps running through SIGKILL and SIGTERM of berthd', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'survivor',
    'busybox',
    'sh',
    '-c',
    'trap "exit 0" TERM; while :; do sleep 0.1; done',
  ]);
  const pid = Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', 'survivor'])).trim());
  assert.ok(pid > 0 && alive(pid));

  await stopDaemon(d, 'kill');
  await sleep(300);
  assert.ok(alive(pid), 'the container outlived SIGKILL of the daemon');
  d = await startDaemon(d.extraArgs, d.root);
  assert.match(await dockerOk(d, ['ps', '--format', '{{.Names}} {{.Status}}']), /^survivor Up /m);
  assert.equal(Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', 'survivor'])).trim()), pid);

  await stopDaemon(d, 'term');
  assert.ok(alive(pid), 'the container outlived a clean daemon shutdown');
  d = await startDaemon(d.extraArgs, d.root);
  const logsOk = await docker(d, ['logs', 'survivor']);
  assert.equal(logsOk.code, 0);
  await dockerOk(d, ['stop', 'survivor']);
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'survivor'])).trim(),
    'exited 0',
  );
  assert.ok(!alive(pid));
  await dockerOk(d, ['rm', 'survivor']);
});

test(
  'max-file rotation goes on while berthd is down: every line is kept, and a live restore leaves it to the monitor',
  // conmon only caps the log: the files it replaces while berthd is down are not kept.
  { skip: process.env.BERTH_E2E_MONITOR === 'conmon' && 'conmon does not rotate by itself' },
  async () => {
    const script =
      'i=0; while [ $i -lt 1500 ]; do echo "line $i"; i=$((i+1)); [ $((i % 100)) = 0 ] && sleep 0.2; done; sleep 100';
    await dockerOk(d, [
      'run',
      '-d',
      '--name',
      'rotator',
      '--log-opt',
      'max-size=2k',
      '--log-opt',
      'max-file=100',
      'busybox',
      'sh',
      '-c',
      script,
    ]);
    const logPath = (await dockerOk(d, ['inspect', '-f', '{{.LogPath}}', 'rotator'])).trim();
    await stopDaemon(d, 'kill');
    await sleep(4000);
    d = await startDaemon(d.extraArgs, d.root);
    const want = Array.from({ length: 1500 }, (_, i) => `line ${i}`).join('\n') + '\n';
    await eventually(async () => (await dockerOk(d, ['logs', '--tail', '1', 'rotator'])) === 'line 1499\n', 15_000);
    assert.equal(await dockerOk(d, ['logs', 'rotator']), want, 'the lines written while berthd was down');
    assert.ok(existsSync(`${logPath}.20`), 'rotated by the monitor while berthd was down');
    assert.ok(!existsSync(`${logPath}.live`), "berthd's own rotator (conmon's) was not started beside the monitor");
    await dockerOk(d, ['rm', '-f', 'rotator']);
  },
);

test('an exit while berthd is down is recorded with its code', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'quitter', 'busybox', 'sh', '-c', 'sleep 1; exit 7']);
  await stopDaemon(d, 'kill');
  await sleep(2000);
  d = await startDaemon(d.extraArgs, d.root);
  const state = await eventually(async () => {
    const s = (await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'quitter'])).trim();
    return s.startsWith('exited') ? s : '';
  });
  assert.equal(state, 'exited 7');
  await dockerOk(d, ['rm', 'quitter']);
});

test('a SIGKILL of berthd in the middle of an import leaves stores the next start uses', async () => {
  // Feed an import slowly so the daemon is killed while it is still ingesting.
  const p = spawn(DOCKER, ['import', '-', 'halfway:1'], {
    env: { ...process.env, DOCKER_HOST: d.host },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  p.on('error', () => {});
  p.stdin.on('error', () => {});
  p.stdin.write(Buffer.alloc(512 * 40, 0x61));
  await sleep(500);
  await stopDaemon(d, 'kill');
  p.kill('SIGKILL');
  d = await startDaemon(d.extraArgs, d.root);
  assert.equal((await docker(d, ['inspect', 'halfway:1'])).code, 1, 'no half-made image');
  const ingest = join(d.root, 'data', 'content', 'ingest');
  assert.ok(!existsSync(ingest) || readdirSync(ingest).length === 0, 'no stray ingest files');
  assert.equal(await dockerOk(d, ['run', '--rm', 'busybox', 'echo', 'still fine']), 'still fine\n');
});

test('a SIGKILL of berthd in the middle of a load leaves no half image and no stray blobs', async () => {
  const file = join(d.root, 'for-load.tar');
  await dockerOk(d, ['save', '-o', file, 'busybox']);
  const blobs = join(d.root, 'data', 'content', 'blobs', 'sha256');
  const before = readdirSync(blobs).length;
  await dockerOk(d, ['tag', 'busybox', 'keep:1']);
  await dockerOk(d, ['rmi', 'busybox']);
  const whole = readFileSync(file);
  const p = spawn(DOCKER, ['load'], {
    env: { ...process.env, DOCKER_HOST: d.host },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  p.on('error', () => {});
  p.stdin.on('error', () => {});
  // Everything but the end: the daemon is still reading when it dies.
  p.stdin.write(whole.subarray(0, Math.floor(whole.length * 0.8)));
  await sleep(500);
  await stopDaemon(d, 'kill');
  p.kill('SIGKILL');
  d = await startDaemon(d.extraArgs, d.root);
  assert.equal((await docker(d, ['inspect', 'busybox'])).code, 1, 'no half-loaded image');
  assert.equal(readdirSync(blobs).length, before, 'blobs of the interrupted load were collected');
  await dockerOk(d, ['tag', 'keep:1', 'busybox']);
  assert.equal(await dockerOk(d, ['run', '--rm', 'busybox', 'echo', 'ok']), 'ok\n');
});

/** A loopback TCP proxy to `port` that passes what comes back 64 KiB per 50 ms (about 1.3 MB/s). */
function slowProxy(port: number): Promise<Server> {
  const server = createServer((client) => {
    const up = createConnection(port, '127.0.0.1');
    client.pipe(up);
    up.on('data', (c: Buffer) => {
      up.pause();
      let off = 0;
      const next = () => {
        if (off >= c.length) return up.resume();
        client.write(c.subarray(off, (off += 64 * 1024)));
        setTimeout(next, 50);
      };
      next();
    });
    up.on('end', () => client.end());
    for (const s of [client, up]) s.on('error', () => (client.destroy(), up.destroy()));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('a SIGKILL of berthd in the middle of a pull leaves no image, no stray files, and the pull then works', async () => {
  const work = mkdtempSync(join(tmpdir(), 'berth-e2e-killpull-'));
  const reg = await startRegistry(join(work, 'registry'));
  let proxy: Server | undefined;
  try {
    // One layer of 8 MiB that does not compress, pushed, then removed here.
    const files = join(work, 'files');
    spawnSync('mkdir', ['-p', files]);
    writeFileSync(join(files, 'payload'), randomBytes(8 << 20));
    const tar = join(work, 'layer.tar');
    assert.equal(spawnSync('tar', ['-C', files, '-cf', tar, 'payload']).status, 0);
    await dockerOk(d, ['import', tar, `${reg.host}/kill/pull:1`]);
    const layers = await dockerOk(d, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', `${reg.host}/kill/pull:1`]);
    await dockerOk(d, ['push', '-q', `${reg.host}/kill/pull:1`]);
    await dockerOk(d, ['rmi', `${reg.host}/kill/pull:1`]);
    const data = join(d.root, 'data');
    const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
    const blobs = () => readdirSync(join(data, 'content', 'blobs', 'sha256')).sort();
    // The daemon gzips its layers in the background a second after its last work (busybox's,
    // for a later push): the blobs counted are those once that has settled, or a daemon that
    // starts quickly shows busybox's gzip form as if the pull had left it.
    let before = blobs();
    for (let stable = Date.now(); Date.now() - stable < 2500; await sleep(250)) {
      const now = blobs();
      if (now.join() !== before.join()) [before, stable] = [now, Date.now()];
    }

    proxy = await slowProxy(reg.port);
    const slow = `127.0.0.1:${(proxy.address() as { port: number }).port}/kill/pull:1`;
    const p = spawn(DOCKER, ['pull', '-q', slow], { env: { ...process.env, DOCKER_HOST: d.host }, stdio: 'ignore' });
    p.on('error', () => {});
    // Killed once the layer is on its way: some of it downloaded, kept and unpacked.
    assert.ok(await eventually(() => list(join(data, 'tmp')).some((f) => f.startsWith('keep-')), 20_000, 50));
    await sleep(1000);
    await stopDaemon(d, 'kill');
    p.kill('SIGKILL');
    d = await startDaemon(d.extraArgs, d.root);

    assert.equal((await docker(d, ['image', 'inspect', slow])).code, 1, 'no half-pulled image');
    assert.deepEqual(list(join(data, 'tmp')), [], 'no scratch file');
    assert.deepEqual(blobs(), before, 'no stray blob');
    assert.deepEqual(
      readdirSync(join(data, 'overlay', 'layers')).filter((n) => n.startsWith('tmp-')),
      [],
      'no half-unpacked layer',
    );
    // The same pull then completes, and the image saves (its layer read from the kept blob).
    await dockerOk(d, ['pull', '-q', `${reg.host}/kill/pull:1`]);
    assert.equal(
      await dockerOk(d, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', `${reg.host}/kill/pull:1`]),
      layers,
    );
    await dockerOk(d, ['save', '-o', join(work, 'saved.tar'), `${reg.host}/kill/pull:1`]);
    await dockerOk(d, ['rmi', `${reg.host}/kill/pull:1`]);
  } finally {
    proxy?.close();
    reg.proc.kill('SIGKILL');
    await reg.exited;
    rmSync(work, { recursive: true, force: true });
  }
});

test('without --live-restore a daemon shutdown stops containers cleanly', async () => {
  await stopDaemon(d, 'term');
  d = await startDaemon([], d.root);
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'stopped-by-shutdown',
    'busybox',
    'sh',
    '-c',
    'trap "exit 0" TERM; while :; do sleep 0.1; done',
  ]);
  const pid = Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', 'stopped-by-shutdown'])).trim());
  await stopDaemon(d, 'term');
  assert.ok(!alive(pid), 'the container was stopped with the daemon');
  d = await startDaemon(['--live-restore'], d.root);
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'stopped-by-shutdown'])).trim(),
    'exited 0',
  );
  await dockerOk(d, ['rm', 'stopped-by-shutdown']);
});

test('a created container leaves no mount behind when the daemon stops, and starts after it', async () => {
  const id = (await dockerOk(d, ['create', '--name', 'created-across-restart', 'busybox', 'echo', 'ran'])).trim();
  const rootfs = join(d.root, 'data', 'containers', id, 'rootfs');
  const mounted = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === rootfs);
  assert.equal(await eventually(() => mounted(), 5000), true, 'mounted ahead of its start');
  await stopDaemon(d, 'term');
  assert.equal(mounted(), false, 'unmounted with the daemon');
  d = await startDaemon(['--live-restore'], d.root);
  assert.equal((await dockerOk(d, ['start', '-a', 'created-across-restart'])).trim(), 'ran');
  await dockerOk(d, ['rm', 'created-across-restart']);
});

/** Mount points under `dir`. */
const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(dir));

/** A berthd on `dir` (args after the roots win), its exit code and its log once it ends. */
function launch(dir: string, args: string[]) {
  const p = spawn(
    join(REPO, 'bin/berthd'),
    [
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'run'),
      '--pidfile',
      join(dir, 'berthd.pid'),
      '--bridge',
      'none',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  p.stderr!.on('data', (c: Buffer) => (log += c));
  const exited = new Promise<{ code: number | null; log: string }>((r) => p.once('exit', (code) => r({ code, log })));
  return { p, exited };
}

test('a berthd stopped during its start-up, or whose start fails, leaves nothing mounted and no pidfile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-start-'));
  const pidfile = join(dir, 'berthd.pid');
  try {
    // SIGTERM as soon as start has begun (the pidfile is its first step).
    const early = launch(dir, ['-H', `unix://${join(dir, 'berth.sock')}`]);
    assert.ok(await eventually(() => existsSync(pidfile), 20_000, 2), 'berthd began its start');
    early.p.kill('SIGTERM');
    const stopped = await early.exited;
    assert.equal(stopped.code, 0, stopped.log);
    assert.deepEqual(mountsUnder(dir), []);
    assert.equal(existsSync(pidfile), false);

    // A start that fails at its last step, the listener (its socket's directory is a file).
    writeFileSync(join(dir, 'not-a-dir'), '');
    const failed = await launch(dir, ['-H', `unix://${join(dir, 'not-a-dir', 'berth.sock')}`]).exited;
    assert.equal(failed.code, 1);
    assert.match(failed.log, /failed to start daemon/);
    assert.deepEqual(mountsUnder(dir), [], 'what start had mounted is unmounted');
    assert.equal(existsSync(pidfile), false);
  } finally {
    for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a second berthd on a pidfile in use refuses to start and leaves the first one's pidfile", async () => {
  const pidfile = join(d.root, 'berthd.pid');
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-start-'));
  try {
    const second = await launch(dir, ['--pidfile', pidfile, '-H', `unix://${join(dir, 'berth.sock')}`]).exited;
    assert.equal(second.code, 1);
    assert.match(second.log, /pid file found, ensure berthd is not running/);
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(d.proc.pid));
    assert.deepEqual(mountsUnder(dir), []);
  } finally {
    for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pidfile left by a killed berthd whose pid now belongs to another program does not block the start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-start-'));
  const other = spawn('sleep', ['30']);
  try {
    // As after a kill -9 and a reboot or a long uptime: the old pid now names something else.
    writeFileSync(join(dir, 'berthd.pid'), String(other.pid));
    const sock = join(dir, 'berth.sock');
    const started = launch(dir, ['-H', `unix://${sock}`]);
    assert.ok(await eventually(() => existsSync(sock), 20_000), 'berthd came up');
    assert.equal(
      readFileSync(join(dir, 'berthd.pid'), 'utf8').trim(),
      String(started.p.pid),
      'and took the pidfile over',
    );
    started.p.kill('SIGTERM');
    assert.equal((await started.exited).code, 0);
  } finally {
    other.kill();
    for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  }
});
