/**
 * On cgroup v1, a container that asks for no cpuset shares its cgroup parent's cpuset and
 * name=systemd directories instead of one of its own in each (runtime/cgroup-share.ts: ~17 kB
 * of kernel memory a container). What a user checks: the container still sees its CPUs in
 * /sys/fs/cgroup/cpuset, `--cpuset-cpus` at run and a later `update --cpuset-cpus` confine its
 * processes (its init and an exec's), nothing of it is left in any hierarchy once removed, and its
 * /sys/fs/cgroup is one read-only tmpfs all containers share (crun.ts's shareCgroupTree).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, docker, dockerOk, eventually, startDaemonWithBusybox, type Daemon } from './harness.ts';

const v1 = existsSync('/sys/fs/cgroup/cpuset/cpuset.cpus');
const skip = v1 ? false : 'needs cgroup v1 with the cpuset hierarchy';
const allCpus = v1 ? readFileSync('/sys/fs/cgroup/cpuset/cpuset.cpus', 'utf8').trim() : '';

let d: Daemon;
before(async () => {
  if (v1) d = await startDaemonWithBusybox();
});
after(async () => {
  if (d) await docker(d, ['rm', '-f', 'share-plain', 'share-pinned']);
  await cleanup(d);
});

/** The container's directories on the host, in every hierarchy that has one. */
const dirsOf = (id: string) =>
  readdirSync('/sys/fs/cgroup')
    .map((h) => join('/sys/fs/cgroup', h, 'berth', id))
    .filter((p) => existsSync(p))
    .map((p) => p.split('/')[4]);

test(
  'a container without a cpuset shares its parent in cpuset and name=systemd, and sees all its CPUs there',
  { skip },
  async () => {
    const id = (await dockerOk(d, ['run', '-d', '--name', 'share-plain', 'busybox', 'sleep', '1000'])).trim();
    const inside = await dockerOk(d, [
      'exec',
      'share-plain',
      'sh',
      '-c',
      'cat /sys/fs/cgroup/cpuset/cpuset.cpus; grep Cpus_allowed_list /proc/1/status; grep -c . /sys/fs/cgroup/cpuset/tasks',
    ]);
    const [cpus, allowed, tasks] = inside.trim().split('\n');
    assert.equal(cpus, allCpus);
    assert.match(allowed!, new RegExp(`\\s${allCpus}$`));
    // Its own pid namespace's processes: the init and the exec's shell (and its grep).
    assert.ok(Number(tasks) >= 2 && Number(tasks) <= 3, `tasks lists the container's processes: ${tasks}`);
    const dirs = dirsOf(id);
    assert.ok(dirs.includes('memory') && dirs.includes('freezer') && dirs.includes('devices'), dirs.join(' '));
    assert.ok(
      !dirs.includes('cpuset') && !dirs.includes('systemd'),
      `no cpuset or name=systemd of its own: ${dirs.join(' ')}`,
    );

    // A later update confines it as Docker's does: the init and a new exec.
    await dockerOk(d, ['update', '--cpuset-cpus', '0', 'share-plain']);
    const after = await dockerOk(d, [
      'exec',
      'share-plain',
      'grep',
      'Cpus_allowed_list',
      '/proc/1/status',
      '/proc/self/status',
    ]);
    assert.deepEqual(
      after
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).pop()),
      ['0', '0'],
    );
    assert.ok(dirsOf(id).includes('cpuset'), 'its own cpuset once it has one');
    assert.equal((await dockerOk(d, ['inspect', '-f', '{{.HostConfig.CpusetCpus}}', 'share-plain'])).trim(), '0');

    await dockerOk(d, ['rm', '-f', 'share-plain']);
    await eventually(() => dirsOf(id).length === 0, 10_000, 100);
    assert.deepEqual(dirsOf(id), []);
  },
);

test('--cpuset-cpus at run gives the container a cpuset of its own', { skip }, async () => {
  const id = (
    await dockerOk(d, ['run', '-d', '--name', 'share-pinned', '--cpuset-cpus', '0', 'busybox', 'sleep', '1000'])
  ).trim();
  const inside = await dockerOk(d, [
    'exec',
    'share-pinned',
    'sh',
    '-c',
    'cat /sys/fs/cgroup/cpuset/cpuset.cpus; grep Cpus_allowed_list /proc/1/status',
  ]);
  const [cpus, allowed] = inside.trim().split('\n');
  assert.equal(cpus, '0');
  assert.match(allowed!, /\s0$/);
  assert.ok(dirsOf(id).includes('cpuset'));
  await dockerOk(d, ['rm', '-f', 'share-pinned']);
});

test(
  "a container's /sys/fs/cgroup is one read-only filesystem all containers share, each hierarchy its own directory in it",
  { skip },
  async () => {
    const look = (name: string, ...flags: string[]) =>
      dockerOk(d, [
        'run',
        '--rm',
        '--name',
        name,
        ...flags,
        'busybox',
        'sh',
        '-c',
        'stat -c %d /sys/fs/cgroup; ls /sys/fs/cgroup | tr "\\n" " "; echo; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; touch /sys/fs/cgroup/x 2>&1 | grep -c "Read-only"',
      ]);
    const [dev1, list1, limit1, ro1] = (await look('share-tree-1', '--memory', '64m')).trim().split('\n');
    const [dev2, list2, limit2] = (await look('share-tree-2')).trim().split('\n');
    assert.equal(dev1, dev2, 'one filesystem, not one each');
    assert.equal(list1, list2);
    for (const h of ['memory', 'cpu', 'cpuacct', 'pids', 'devices', 'freezer', 'blkio', 'cpuset'])
      if (existsSync(`/sys/fs/cgroup/${h}`)) assert.ok(list1!.split(' ').includes(h), `${h} in ${list1}`);
    assert.equal(limit1, String(64 * 1024 * 1024), "the container's own memory cgroup");
    assert.notEqual(limit2, limit1);
    assert.equal(ro1, '1', 'read-only');
  },
);
