/**
 * The gVisor driver without root: runsc's state files as runsc lays them out (with a real
 * `sleep` standing in for the sandbox), and the command lines it runs, against the recording
 * FakeHost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHost } from '../host/testing.ts';
import { RunscRuntime } from './index.ts';
import { parsePsTable } from './pstable.ts';

async function setup(t: { after: (fn: () => Promise<void> | void) => void }) {
  const dir = await fs.mkdtemp(join(tmpdir(), 'berth-runsc-unit-'));
  const host = new FakeHost();
  const rt = new RunscRuntime({
    host,
    root: join(dir, 'exec', 'runtimes', 'runsc'),
    runtimePath: '/usr/bin/runsc',
    runtimeArgs: ['--platform=ptrace'],
    conmonPath: '/usr/bin/conmon',
  });
  await rt.init();
  t.after(async () => {
    await rt.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return { rt, host };
}

/** runsc's state file for a sandbox whose process is a live `sleep`. */
async function sandbox(t: { after: (fn: () => void) => void }, rt: RunscRuntime, id: string, status: string) {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await fs.writeFile(
    join(rt.runcRoot, `${id}_sandbox:${id}.state`),
    JSON.stringify({
      id,
      status,
      bundleDir: '/b',
      createdAt: '2026-01-02T03:04:05Z',
      sandbox: { id, pid: child.pid },
      spec: { linux: { cgroupsPath: `/berth/${id}` } },
    }),
  );
  return child;
}

test("runsc's state files say which containers exist and what state they are in", async (t) => {
  const { rt } = await setup(t);
  await sandbox(t, rt, 'c1', 'created');
  const child = await sandbox(t, rt, 'c2', 'running');
  assert.deepEqual(await rt.list(), ['c1', 'c2']);
  assert.equal(await rt.exists('c1'), true);
  assert.equal(await rt.exists('nope'), false);
  assert.equal((await rt.state('c1'))?.status, 'created');
  const s = await rt.state('c2');
  assert.equal(s?.status, 'running');
  assert.equal(s?.pid, child.pid);
  assert.equal(s?.bundle, '/b');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal((await rt.state('c2'))?.status, 'stopped');
  assert.equal(await rt.isAlive('c2'), false);
});

test('signals go through runsc kill with its global flags, never to the sandbox process itself', async (t) => {
  const { rt, host } = await setup(t);
  await sandbox(t, rt, 'c1', 'running');
  await rt.kill('c1', 'SIGTERM');
  assert.deepEqual(host.calls.at(-1)?.args, [
    '/usr/bin/runsc',
    '--platform=ptrace',
    '--root',
    rt.runcRoot,
    'kill',
    'c1',
    '15',
  ]);
  await assert.rejects(rt.kill('gone', 'SIGKILL'), /no such container/);
});

test("start runs runsc in a mount namespace of its own, where /proc/sys/net is hidden from runsc's old netns test", async (t) => {
  const { rt, host } = await setup(t);
  await sandbox(t, rt, 'c1', 'created');
  // The stand-in sandbox shares this process's network namespace: runsc would take the host's interfaces.
  await assert.rejects(rt.start('c1'), /cannot share the host's network namespace/);
  assert.equal(host.calls.length, 0);
  await fs.rm(join(rt.runcRoot, 'c1_sandbox:c1.state'));
  await rt.start('c1');
  const call = host.calls.at(-1)!.args as string[];
  assert.equal(call[0], 'unshare');
  assert.match(call.join(' '), /mount -t tmpfs .* \/proc\/sys\/net && exec/);
  assert.deepEqual(call.slice(-6), ['/usr/bin/runsc', '--platform=ptrace', '--root', rt.runcRoot, 'start', 'c1']);
});

test("gVisor's refusal to save a state comes back as its reason, not pages of Go state", async (t) => {
  const { rt, host } = await setup(t);
  const stack = 'encoding error at object tcp.endpoint{...}'.repeat(200);
  host.responses.set('/usr/bin/runsc', () => ({
    code: 128,
    stdout: '',
    stderr: `{"level":"error","msg":"checkpoint failed: ${stack}: save rejected due to unsupported networking state: endpoint cannot be saved in connected state: local 10.0.0.2:80, remote 10.0.0.1:33030:: goroutine 109 [running]:: ${stack}"}`,
  }));
  await assert.rejects(
    rt.checkpoint('c1', '/tmp/nowhere', false),
    (e: Error) =>
      e.message ===
      'checkpoint container "c1": gVisor cannot save it: unsupported networking state: endpoint cannot be saved in connected state: local 10.0.0.2:80, remote 10.0.0.1:33030',
  );
});

test("after a daemon restart the exit of a sandbox it did not create is still reported (runsc's state file says it is its)", async (t) => {
  const { rt } = await setup(t);
  await sandbox(t, rt, 'c7', 'running');
  const exit = new Promise<{ id: string; exitCode: number }>((resolve) => rt.onExit(resolve));
  await fs.writeFile(join(rt.exitDir, 'c7.tmp'), '143');
  await fs.rename(join(rt.exitDir, 'c7.tmp'), join(rt.exitDir, 'c7'));
  const e = await exit;
  assert.equal(e.id, 'c7');
  assert.equal(e.exitCode, 143);
});

test("docker top's table of a gVisor container is runsc ps's, the container's own processes in ps -ef's columns", async (t) => {
  const { rt, host } = await setup(t);
  host.responses.set('/usr/bin/runsc', () => ({
    code: 0,
    stdout: [
      'UID       PID       PPID      C         TTY       STIME     TIME      CMD',
      '0         1         0         1         ?         15:05     20ms      sh',
      '0         2         1         0         pts/0     15:05     10ms      sleep 10',
      '',
    ].join('\n'),
    stderr: '',
  }));
  assert.deepEqual(await rt.processes('c1'), {
    Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    Processes: [
      ['0', '1', '0', '1', '15:05', '?', '20ms', 'sh'],
      ['0', '2', '1', '0', '15:05', 'pts/0', '10ms', 'sleep 10'],
    ],
  });
  assert.deepEqual(host.calls.at(-1)?.args.slice(-2), ['ps', 'c1']);
  assert.throws(() => parsePsTable('no columns here\n', 'runsc ps'), /runsc ps: no PID column/);
});
