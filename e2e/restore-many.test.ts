/**
 * A live restore of a few dozen containers in every state (issue 15: berthd restarts with a
 * thousand running, from its bundle): after a restart each container is as it was — running,
 * exited with its code, paused — with its network address, and its published port answers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import {
  startDaemon,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  eventually,
  freePort,
  startDaemonWithBusybox,
  type Daemon,
} from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

let d: Daemon;
before(async () => (d = await startDaemonWithBusybox(['--live-restore'])));
after(async () => {
  if (d) {
    const ids = (await docker(d, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(d, ['rm', '-f', ...ids]);
    await docker(d, ['network', 'rm', 'restorenet']);
  }
  await cleanup(d);
});

/** The status, exit code and user-network address of every container, by name. */
async function states(): Promise<Record<string, string>> {
  const out = await dockerOk(d, [
    'inspect',
    '-f',
    '{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
    ...(await dockerOk(d, ['ps', '-aq'])).split('\n').filter(Boolean),
  ]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => [l.split(' ')[0]!, l]),
  );
}

/** The HTTP status a request to the port gets (busybox httpd: 404 for a folder without an index). */
function httpStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Runs the `docker run` argument lists four at a time. */
async function runAll(runs: string[][]): Promise<void> {
  for (let i = 0; i < runs.length; i += 4) await Promise.all(runs.slice(i, i + 4).map((a) => dockerOk(d, a)));
}

test('a live restore brings back running, exited and paused containers with their addresses and ports', async () => {
  await dockerOk(d, ['network', 'create', '--subnet', `${await reserveSubnet()}.0/24`, 'restorenet']);
  const ports = [await freePort(), await freePort(), await freePort()];
  const runs: string[][] = [];
  for (let i = 0; i < 10; i++)
    runs.push(['run', '-d', '--name', `none-${i}`, '--network', 'none', 'busybox', 'sleep', '1000']);
  for (let i = 0; i < 10; i++)
    runs.push(['run', '-d', '--name', `net-${i}`, '--network', 'restorenet', 'busybox', 'sleep', '1000']);
  ports.forEach((p, i) =>
    runs.push([
      'run',
      '-d',
      '--name',
      `web-${i}`,
      '--network',
      'restorenet',
      '-p',
      `127.0.0.1:${p}:80`,
      'busybox',
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/',
    ]),
  );
  for (let i = 0; i < 5; i++)
    runs.push(['run', '-d', '--name', `exited-${i}`, '--network', 'none', 'busybox', 'sh', '-c', `exit ${i + 1}`]);
  for (let i = 0; i < 4; i++)
    runs.push(['run', '-d', '--name', `paused-${i}`, '--network', 'restorenet', 'busybox', 'sleep', '1000']);
  await runAll(runs);
  for (let i = 0; i < 4; i++) await dockerOk(d, ['pause', `paused-${i}`]);
  await eventually(async () => {
    const s = await states();
    for (let i = 0; i < 5; i++) assert.match(s[`/exited-${i}`]!, new RegExp(`exited ${i + 1} `));
  });
  for (const p of ports) await eventually(async () => assert.ok((await httpStatus(p)) > 0));
  const before = await states();
  assert.equal(Object.keys(before).length, 32);

  await stopDaemon(d);
  d = await startDaemon(d.extraArgs, d.root);

  assert.deepEqual(await states(), before);
  assert.equal((await dockerOk(d, ['ps', '-q'])).trim().split('\n').length, 27, 'running and paused are listed');
  for (const p of ports) await eventually(async () => assert.ok((await httpStatus(p)) > 0));
  await dockerOk(d, ['unpause', 'paused-0']);
  await dockerOk(d, ['stop', '-t', '0', 'net-0']);
  const after = await states();
  assert.match(after['/paused-0']!, / running /);
  assert.match(after['/net-0']!, / exited 137 /);
});
