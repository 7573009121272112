/**
 * A container created from the warm pool (`berthd --warm-pool N`) and not started when the
 * daemon goes — stopped, killed with SIGKILL, with live restore or without — is a created
 * container once the daemon is back: `docker start` runs it, in a root that holds nothing of
 * the pool (its zygote, command or FIFO), and the sandbox's task left no process behind.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startDaemon,
  bootstrapBusybox,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  eventually,
  type Daemon,
} from './harness.ts';

const daemons: Daemon[] = [];
after(async () => {
  for (const d of daemons) await cleanup(d);
});

const containersDir = (d: Daemon) => join(d.root, 'data', 'containers');

/** The sandboxes the pool holds once it is full: directories of no container (`ps -a`). */
async function ready(d: Daemon): Promise<string[]> {
  const full = await eventually(async () => (await dockerOk(d, ['info'])).includes('Warm pool: 2 of 2 ready'), 30_000);
  assert.ok(full, `the pool did not fill: ${await dockerOk(d, ['info'])}`);
  const ids = new Set((await dockerOk(d, ['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean));
  return readdirSync(containersDir(d)).filter((n) => /^[0-9a-f]{64}$/.test(n) && !ids.has(n));
}

/** The pids of processes whose command line names `path` (a task's monitor and runtime). */
function processesOf(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

for (const [how, flags] of [
  ['term', []],
  ['kill', []],
  ['kill', ['--live-restore']],
] as const) {
  test(`a pooled container created and not started survives a daemon ${how === 'kill' ? 'killed with SIGKILL' : 'stopped'}${flags.length ? ' (live restore)' : ''} and starts after it with nothing of the pool in its root`, async () => {
    const args = ['--warm-pool', '2', ...flags];
    const d = await startDaemon(args);
    daemons.push(d);
    await bootstrapBusybox(d);
    const pool = await ready(d);
    const id = (
      await dockerOk(d, ['create', '--network', 'none', 'busybox', 'sh', '-c', 'ls -a / | grep berth; echo ran'])
    ).trim();
    assert.ok(pool.includes(id), 'it came from the pool');
    // The hand-over is done once the zygote has read its command (and removed it).
    const root = join(containersDir(d), id, 'rootfs');
    assert.ok(
      await eventually(async () => !existsSync(join(root, '.berth-zygote-cmd'))),
      'the zygote read its command',
    );

    await stopDaemon(d, how);
    const back = await startDaemon(args, d.root);
    Object.assign(d, { proc: back.proc, log: back.log });
    assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', id])).trim(), 'created');
    assert.deepEqual(processesOf(join(containersDir(d), id)), [], "the sandbox's task is gone");

    const r = await docker(d, ['start', '-a', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ran\n', 'the command ran, and found nothing of the pool in /');
    assert.doesNotMatch(await dockerOk(d, ['diff', id]), /berth/);
    assert.equal(
      (await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).trim(),
      'exited 0',
    );
    await dockerOk(d, ['rm', id]);
    await stopDaemon(d);
  });
}
