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
