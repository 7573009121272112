/**
 * Failures on the way that must not leave anyone waiting for ever. A checkout whose C helpers
 * were not built (or were removed): berthd must say so and which command builds them, not
 * start and leave `docker run -i` waiting for its input (the test runs a copy of the checkout
 * without `build/berth-attach`, so this checkout's build/, which other tests use, is left
 * alone). An attach whose client died: the daemon's shutdown must not wait for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  REPO,
  docker,
  dockerOk,
  startDaemon,
  cleanup,
  bootstrapBusybox,
  eventually,
  sleep,
  DOCKER,
  api,
} from './harness.ts';

test('without build/berth-attach berthd refuses to start, names the missing helper and `npm run setup`', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-helpers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, 'checkout');
  for (const part of ['bin', 'src', 'package.json']) cpSync(join(REPO, part), join(copy, part), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
  cpSync(join(REPO, 'build'), join(copy, 'build'), { recursive: true });
  rmSync(join(copy, 'build', 'berth-attach'));

  const sock = join(dir, 'berth.sock');
  const berthd = spawn(
    join(copy, 'bin', 'berthd'),
    [
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'run'),
      '-H',
      `unix://${sock}`,
      '--pidfile',
      join(dir, 'berthd.pid'),
      '--bridge',
      'none',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out: Buffer[] = [];
  berthd.stdout.on('data', (c: Buffer) => out.push(c));
  berthd.stderr.on('data', (c: Buffer) => out.push(c));
  const killer = setTimeout(() => berthd.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => berthd.on('exit', (c) => r(c)));
  clearTimeout(killer);
  const log = Buffer.concat(out).toString();
  assert.equal(code, 1, log);
  assert.match(log, /failed to start daemon: .*build\/berth-attach is missing: build it with `npm run setup`/);
  assert.equal(existsSync(join(dir, 'berthd.pid')), false, 'the pid file goes with it');
  // And a client is told at once that nothing listens, rather than waiting.
  const r = await docker({ host: `unix://${sock}` } as Parameters<typeof docker>[0], ['run', '-i', 'busybox'], {
    input: 'hello\n',
    timeoutMs: 30_000,
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Cannot connect to the Docker daemon/);
});

test('SIGTERM stops berthd promptly even with an attach whose client was killed', async (t) => {
  const d = await startDaemon();
  t.after(() => cleanup(d));
  await bootstrapBusybox(d);
  await dockerOk(d, ['run', '-d', '--name', 'att', '--stop-timeout', '1', 'busybox', 'sleep', '1000']);
  // A client attached with no input to send, killed: its connection is left half-closed.
  const client = spawn(DOCKER, ['attach', 'att'], { env: { ...process.env, DOCKER_HOST: d.host }, stdio: 'ignore' });
  await sleep(1500);
  client.kill('SIGKILL');
  await sleep(500);
  const stopped = new Promise<void>((r) => d.proc.once('exit', () => r()));
  d.proc.kill('SIGTERM');
  const inTime = await Promise.race([stopped.then(() => true), sleep(20_000).then(() => false)]);
  assert.ok(inTime, `berthd still running 20 s after SIGTERM:\n${d.log()}`);
  assert.ok(await eventually(() => /berthd stopped/.test(d.log())), d.log());
});

test('berthd whose log output went away (the reader of its stderr died) goes on serving, and SIGTERM stops it', async (t) => {
  const d = await startDaemon(['--log-level', 'debug']);
  t.after(() => cleanup(d));
  // The harness reads the daemon's output through pipes; closing them is what the death of a
  // test process (or of the terminal berthd was started from) does. A log line is then an
  // EPIPE: it was an uncaught exception, whose own log line was another, for ever — a daemon
  // spinning a CPU that no longer answered nor heeded SIGTERM.
  d.proc.stdout!.destroy();
  d.proc.stderr!.destroy();
  // A bound on each wait whose timer does not hold the test process once the wait is over.
  const within = <T>(ms: number, p: Promise<T>) =>
    Promise.race([p, new Promise<string>((r) => setTimeout(() => r(`nothing in ${ms} ms`), ms).unref())]);
  const ping = () =>
    within(
      10_000,
      api(d, 'GET', '/_ping').then((r) => r.status),
    );
  assert.equal(await ping(), 200);
  assert.equal(
    await within(
      60_000,
      bootstrapBusybox(d).then(() => 'made'),
    ),
    'made',
    'busybox made',
  );
  const r = await docker(d, ['run', '--rm', 'busybox', 'echo', 'still serving'], { timeoutMs: 60_000 });
  assert.equal(r.stdout, 'still serving\n', r.stderr);
  assert.equal(await ping(), 200);
  const stopped = new Promise<string>((r) => d.proc.once('exit', () => r('stopped')));
  d.proc.kill('SIGTERM');
  assert.equal(await within(20_000, stopped), 'stopped', 'berthd stops on SIGTERM');
});
