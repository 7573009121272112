/**
 * The delete of a crun container without crun (reap.ts), through the driver: its state laid
 * out as crun lays it out, its cgroups as empty directories in a scratch tree (where a
 * directory that will not go stands for a cgroup that still holds a task), and the recording
 * FakeHost saying whether crun was run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHost } from '../host/testing.ts';
import { RuncRuntime } from './index.ts';
import { v1Hierarchies } from './reap.ts';
import { procStat } from './state.ts';

const HIERARCHIES = ['systemd', 'memory', 'pids'];

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, runtimePath = '/usr/bin/crun') {
  const dir = await fs.mkdtemp(join(tmpdir(), 'berth-reap-unit-'));
  const host = new FakeHost();
  const cgroupRoot = join(dir, 'cgroup');
  const rt = new RuncRuntime({
    host,
    root: join(dir, 'exec'),
    runtimePath,
    conmonPath: '/usr/bin/conmon',
    cgroups: { cgroupRoot, hierarchies: HIERARCHIES },
  });
  await rt.init();
  t.after(async () => {
    await rt.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const cgroupDirs = (id: string) => HIERARCHIES.map((h) => join(cgroupRoot, h, 'berth', id));
  /** crun's state of `id` for the process `pid`, and its cgroup directories. */
  const container = async (id: string, pid: number, startTime: number) => {
    await fs.mkdir(join(rt.runcRoot, id), { recursive: true });
    await fs.writeFile(
      join(rt.runcRoot, id, 'status'),
      JSON.stringify({
        pid,
        'process-start-time': startTime,
        'cgroup-path': `/berth/${id}`,
        scope: '',
        rootfs: '/r',
        'systemd-cgroup': false,
        bundle: dir,
        created: '2026-01-01T00:00:00.000000000Z',
        detached: true,
      }),
    );
    await fs.writeFile(join(rt.runcRoot, id, 'config.json'), '{}');
    for (const d of cgroupDirs(id)) await fs.mkdir(d, { recursive: true });
  };
  const crunRuns = () => host.calls.filter((c) => c.op === 'run');
  return { rt, host, cgroupDirs, container, crunRuns };
}

/** A process that has ended: its pid and start time, as a stopped container's state keeps them. */
async function endedProcess(): Promise<{ pid: number; startTime: number }> {
  const child = spawn('sleep', ['5'], { stdio: 'ignore' });
  const { startTime } = (await procStat(child.pid!))!;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return { pid: child.pid!, startTime };
}

test("deleting a stopped crun container runs no program: its cgroup in every hierarchy and crun's state directory go", async (t) => {
  const { rt, cgroupDirs, container, crunRuns } = await setup(t);
  const { pid, startTime } = await endedProcess();
  await container('c1', pid, startTime);
  await rt.delete('c1');
  assert.deepEqual(crunRuns(), []);
  assert.deepEqual(cgroupDirs('c1').filter(existsSync), []);
  assert.equal(existsSync(join(rt.runcRoot, 'c1')), false);
  assert.equal(await rt.exists('c1'), false);
});

test('deleting a crun container whose init still runs, or whose cgroup will not go, is left to crun delete', async (t) => {
  const { rt, host, cgroupDirs, container, crunRuns } = await setup(t);
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await container('live', child.pid!, (await procStat(child.pid!))!.startTime);
  await rt.delete('live', true);
  assert.deepEqual(crunRuns().at(-1)?.args.slice(-3), ['delete', '--force', 'live']);
  assert.ok(existsSync(join(rt.runcRoot, 'live')), 'the fake crun removed nothing, and neither did the driver');

  // A stopped one whose memory cgroup still holds something (EBUSY on a real cgroup).
  const { pid, startTime } = await endedProcess();
  await container('busy', pid, startTime);
  await fs.writeFile(join(cgroupDirs('busy')[1]!, 'task'), '');
  host.calls.length = 0;
  await rt.delete('busy');
  assert.deepEqual(crunRuns().at(-1)?.args.slice(-2), ['delete', 'busy']);
});

test('runc keeps its own delete, even for a stopped container', async (t) => {
  const { rt, container, crunRuns } = await setup(t, '/usr/bin/runc');
  const { pid, startTime } = await endedProcess();
  await container('r1', pid, startTime);
  await rt.delete('r1');
  assert.deepEqual(crunRuns().at(-1)?.args.slice(-2), ['delete', 'r1']);
});

test("the v1 hierarchies are /proc/self/cgroup's, name=systemd as systemd, without v2's unified one", () => {
  const text = '12:pids:/\n4:cpu,cpuacct:/x\n1:name=systemd:/init.scope\n0::/init.scope\n';
  assert.deepEqual(v1Hierarchies(text), ['pids', 'cpu,cpuacct', 'systemd']);
});
