/**
 * crun's checkpoints through berth-crun, with a crun built with CRIU (Debian 12's 1.8.1 is not
 * and has no `restore`: setup fetches trixie's 1.21, scripts/trixie-tools.sh, which the daemon
 * here runs as its crun by BERTH_CRUN, with setup's CRIU 4.1 first in its PATH). A restore is a
 * create for berth-crun: crun makes the restored container's cgroups from /proc/self/cgroup, and
 * on the hybrid host the `0::` line, shown to it, made a directory and a cgroup.procs file on
 * /sys/fs/cgroup's tmpfs beneath the hidden cgroup2 mount for every restore — kept for ever.
 * Needs root, the hybrid layout and setup's trixie tools.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { startDaemonWithBusybox, cleanup, docker, dockerOk, eventually, REPO, type Daemon } from './harness.ts';
import { beneathUnified, hybridCgroups, removeBeneathUnified } from './harness-cgroup.ts';

const TRIXIE = join(REPO, 'build', 'trixie');
const usable = process.getuid?.() === 0 && existsSync(join(TRIXIE, 'crun')) && existsSync(join(TRIXIE, 'criu'));
const skip = !usable
  ? "needs root and setup's crun 1.21 and CRIU 4.1 (scripts/trixie-tools.sh)"
  : !hybridCgroups
    ? 'needs the hybrid cgroup layout (v1 with cgroup2 at /sys/fs/cgroup/unified)'
    : false;
const COUNTER = 'i=0; while true; do echo $i; i=$((i+1)); sleep 1; done';

let d: Daemon;
before(async () => {
  if (!skip)
    d = await startDaemonWithBusybox(['--experimental', '--default-runtime', 'crun'], {
      ...process.env,
      BERTH_CRUN: join(TRIXIE, 'crun'),
      // libcriu runs `criu` from PATH.
      PATH: `${TRIXIE}:${process.env.PATH}`,
    });
});
after(() => cleanup(d));

const numbers = async (id: string) => (await dockerOk(d, ['logs', id])).trim().split('\n').filter(Boolean).map(Number);

/**
 * Removes the real cgroup2 tree CRIU restored at `rel` (its soft cgroup mode copies the tree of
 * the cgroup the processes were in — the host's root, as berth-crun's containers have no cgroup2
 * directory of their own — under the container's path; crun's delete knows nothing of it).
 */
function removeRestoredCgroup2(rel: string): void {
  const dir = join('/sys/fs/cgroup/unified', rel);
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) removeRestoredCgroup2(posix.join(rel, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // A cgroup still dying: the next look finds it gone.
  }
}

test(
  'crun checkpoints and restores through berth-crun, and its restores leave nothing beneath the hybrid host’s hidden cgroup2 mount',
  { skip },
  async () => {
    const id = (await dockerOk(d, ['run', '-d', 'busybox', 'sh', '-c', COUNTER])).trim();
    let parent = '';
    try {
      const memory = (await dockerOk(d, ['exec', id, 'sed', '-n', 's/^[0-9]*:memory://p', '/proc/self/cgroup'])).trim();
      parent = posix.dirname(memory);
      assert.equal(posix.basename(memory), id, memory);
      const before = beneathUnified(parent);
      for (let cycle = 1; cycle <= 2; cycle++) {
        await eventually(async () => (await numbers(id)).length >= cycle * 2, 30_000, 200);
        await dockerOk(d, ['checkpoint', 'create', id, `cp${cycle}`]);
        assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Running}}', id])).trim(), 'false');
        const saved = await numbers(id);
        await dockerOk(d, ['start', '--checkpoint', `cp${cycle}`, id]);
        await eventually(async () => (await numbers(id)).length >= saved.length + 2, 30_000, 200);
        const after = await numbers(id);
        assert.deepEqual(
          after,
          after.map((_, i) => i),
          `counted on from its checkpoint: ${after.join(' ')}`,
        );
        assert.deepEqual(beneathUnified(parent), before, `restore ${cycle}: nothing new beneath the hidden mount`);
      }
      await dockerOk(d, ['rm', '-f', id]);
      assert.deepEqual(beneathUnified(parent), before, 'nothing left beneath the hidden mount');
    } finally {
      await docker(d, ['rm', '-f', id]);
      if (parent) {
        removeRestoredCgroup2(posix.join(parent, id));
        removeBeneathUnified(posix.join(parent, id));
      }
    }
  },
);
