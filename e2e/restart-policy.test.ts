/**
 * Restart policies through the real `docker` CLI: on-failure with its retry budget, always
 * with the restarting state and a user's stop, no, and which containers come back when the
 * daemon starts again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDaemon,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  sleep,
  eventually,
  startDaemonWithBusybox,
  type Daemon,
} from './harness.ts';

let d: Daemon;
before(async () => (d = await startDaemonWithBusybox()));
after(() => cleanup(d));

const state = async (name: string) =>
  (await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', name])).trim();

test('on-failure:2 restarts a failing container twice, then leaves it exited', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'flaky',
    '--restart',
    'on-failure:2',
    'busybox',
    'sh',
    '-c',
    'echo run; exit 3',
  ]);
  await eventually(async () => (await state('flaky')) === 'exited 2 3', 10_000);
  await sleep(1500);
  assert.equal(await state('flaky'), 'exited 2 3', 'no third restart');
  assert.equal(await dockerOk(d, ['logs', 'flaky']), 'run\nrun\nrun\n');
  assert.equal(
    (
      await dockerOk(d, [
        'inspect',
        '-f',
        '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}',
        'flaky',
      ])
    ).trim(),
    'on-failure 2',
  );
  await dockerOk(d, ['run', '-d', '--name', 'succeeds', '--restart', 'on-failure', 'busybox', 'true']);
  await eventually(async () => (await state('succeeds')) === 'exited 0 0');
  await sleep(500);
  assert.equal(await state('succeeds'), 'exited 0 0', 'exit 0 is no failure');
});

test('always restarts with back-off through the restarting state; docker stop ends it', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'phoenix', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1']);
  // Delays of 100, 200, 400, 800 ms: the restarting state is there to be seen.
  const seen = await eventually(
    async () => {
      const ps = await dockerOk(d, ['ps', '--filter', 'name=phoenix', '--format', '{{.Status}}']);
      return /^Restarting \(1\) /.test(ps) && Number((await state('phoenix')).split(' ')[1]) >= 3;
    },
    15_000,
    20,
  );
  assert.ok(seen);
  const running = (await dockerOk(d, ['inspect', '-f', '{{.State.Running}} {{.State.Restarting}}', 'phoenix'])).trim();
  assert.match(running, /^true (true|false)$/, 'Docker counts a restarting container as running');
  await dockerOk(d, ['stop', 'phoenix']);
  const after = await state('phoenix');
  assert.match(after, /^exited \d+ 1$/);
  await sleep(2000);
  assert.equal(await state('phoenix'), after, 'no restart after a user stop');
  const events = await dockerOk(d, [
    'events',
    '--since',
    '1m',
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'container=phoenix',
    '--filter',
    'event=start',
    '--format',
    '{{.Action}}',
  ]);
  assert.ok(events.trim().split('\n').length >= 4, events);
});

test('no restarts nothing; a restart policy with --rm or a bad name is refused', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'once', 'busybox', 'sh', '-c', 'exit 5']);
  await eventually(async () => (await state('once')) === 'exited 0 5');
  await sleep(500);
  assert.equal(await state('once'), 'exited 0 5');
  const rm = await docker(d, ['run', '--rm', '--restart', 'always', 'busybox', 'true']);
  assert.notEqual(rm.code, 0);
  const bad = await docker(d, ['run', '--restart', 'sometimes', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /sometimes/);
});

test('after a daemon restart: always and unless-stopped come back, unless a user stopped them (always even then)', async () => {
  const sleeper = ['busybox', 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done'];
  await dockerOk(d, ['run', '-d', '--name', 'a-always', '--restart', 'always', ...sleeper]);
  await dockerOk(d, ['run', '-d', '--name', 'b-unless', '--restart', 'unless-stopped', ...sleeper]);
  await dockerOk(d, ['run', '-d', '--name', 'c-unless-stopped', '--restart', 'unless-stopped', ...sleeper]);
  await dockerOk(d, ['run', '-d', '--name', 'd-always-stopped', '--restart', 'always', ...sleeper]);
  await dockerOk(d, ['run', '-d', '--name', 'e-no', ...sleeper]);
  await dockerOk(d, ['create', '--name', 'f-never-started', '--restart', 'always', ...sleeper]);
  await dockerOk(d, ['stop', 'c-unless-stopped', 'd-always-stopped']);

  await stopDaemon(d, 'term');
  d = await startDaemon(d.extraArgs, d.root);
  const status = async () =>
    (await dockerOk(d, ['ps', '-a', '--format', '{{.Names}} {{.State}}']))
      .trim()
      .split('\n')
      .filter((l) => /^[a-f]-/.test(l))
      .sort()
      .join('\n');
  const want = [
    'a-always running',
    'b-unless running',
    'c-unless-stopped exited',
    'd-always-stopped running',
    'e-no exited',
    'f-never-started created',
  ].join('\n');
  await eventually(async () => (await status()) === want, 10_000);
  assert.equal(await status(), want);
  await dockerOk(d, ['rm', '-f', 'a-always', 'b-unless', 'd-always-stopped']);
});
