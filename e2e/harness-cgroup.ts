/**
 * A look beneath the hybrid cgroup host's hidden cgroup2 mount, for the tests of what Berth's
 * runtimes leave there. On such a host (v1 controllers, cgroup2 at /sys/fs/cgroup/unified) a
 * directory made on /sys/fs/cgroup's own tmpfs under that mount point — what crun makes when it
 * is shown the `0::` line with the mount gone (src/runtime/berth-crun.c) — is covered by the
 * mount: nobody sees it or removes it, and it holds its ~6 kB of shared memory until a reboot.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The host has the hybrid layout: v1 controllers, cgroup2 at /sys/fs/cgroup/unified. */
export const hybridCgroups =
  existsSync('/sys/fs/cgroup/unified/cgroup.controllers') && existsSync('/sys/fs/cgroup/memory');

/**
 * What the host's cgroup2 mount covers at `rel` beneath it: the entries of /sys/fs/cgroup's own
 * tmpfs there, seen through a bind of /sys/fs/cgroup alone in a mount namespace of the check's
 * own (read-only: nothing on the host changes).
 */
export function beneathUnified(rel: string): string[] {
  const r = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'd=$(mktemp -d) && mount --bind /sys/fs/cgroup "$d" && ls -A "$d/unified$1" 2>/dev/null; umount "$d"; rmdir "$d"',
      '_',
      rel,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/**
 * Removes what a failed test left beneath the hidden mount at `rel` (a container's own path, never
 * a parent others use), through the same private bind.
 */
export function removeBeneathUnified(rel: string): void {
  assert.match(rel, /^\/.+\/[^/]+$/, 'a container’s own path');
  spawnSync('unshare', [
    '-m',
    '--propagation',
    'private',
    'sh',
    '-c',
    'd=$(mktemp -d) && mount --bind /sys/fs/cgroup "$d" && rm -rf "$d/unified$1"; umount "$d"; rmdir "$d"',
    '_',
    rel,
  ]);
}
