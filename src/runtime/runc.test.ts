/**
 * The driver without root: conmon's command line and sync protocol against a scripted stand-in,
 * runc's command lines against the recording FakeHost, and state/exit reading against files
 * laid out as runc and conmon lay them out (with a real `sleep` as the container's process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHost } from '../host/testing.ts';
import { RuncRuntime, type Exit } from './index.ts';
import { conmonArgs, conmonEnv, parseSyncMessage, runtimeError } from './conmon.ts';
import { parseProcStat, parseStateFile, procStat } from './state.ts';

/** Runs a shell script in place of conmon, with the options the driver passed. */
class ScriptHost extends FakeHost {
  script = 'echo \'{"data": 4242}\' >&3';
  spawned: Array<{ cmd: string; args: readonly string[]; opts: SpawnOptions }> = [];
  override spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    this.calls.push({ op: 'spawn', args: [cmd, ...args] });
    this.spawned.push({ cmd, args, opts });
    return nodeSpawn('sh', ['-c', this.script], opts);
  }
}

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, host = new ScriptHost()) {
  const dir = await fs.mkdtemp(join(tmpdir(), 'berth-runc-unit-'));
  const rt = new RuncRuntime({
    host,
    root: join(dir, 'exec'),
    runtimePath: '/usr/bin/runc',
    conmonPath: '/usr/bin/conmon',
  });
  await rt.init();
  const bundle = join(dir, 'bundle');
  await fs.mkdir(bundle);
  t.after(async () => {
    rt.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return { dir, rt, host, bundle };
}

/** A live process to stand in for a container's init, and runc's state file for it. */
async function fakeContainer(
  t: { after: (fn: () => void) => void },
  rt: RuncRuntime,
  id: string,
  bundle: string,
  ownPidNs = true,
) {
  const child = nodeSpawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const pid = child.pid!;
  const st = (await procStat(pid))!;
  await fs.mkdir(join(rt.runcRoot, id), { recursive: true });
  await fs.writeFile(
    join(rt.runcRoot, id, 'state.json'),
    JSON.stringify({
      id,
      init_process_pid: pid,
      init_process_start: st.startTime,
      created: '2026-01-01T00:00:00.000000000Z',
      cgroup_paths: {},
      config: {
        labels: [`bundle=${bundle}`],
        namespaces: [...(ownPidNs ? [{ type: 'NEWPID', path: '' }] : []), { type: 'NEWNS', path: '' }],
      },
    }),
  );
  return child;
}

test('conmon command line: ids, runtime and its root, log, exit dir, sockets, tty and stdin', () => {
  const base = {
    id: 'c1',
    bundle: '/b',
    runtimePath: '/usr/bin/runc',
    runtimeRoot: '/run/berth/runc',
    logPath: '/l/c1.log',
    exitDir: '/run/berth/exits',
    socketDir: '/run/berth/sockets',
    terminal: false,
    stdin: false,
  };
  assert.deepEqual(conmonArgs(base), [
    '--api-version',
    '1',
    '-c',
    'c1',
    '-u',
    'c1',
    '-n',
    'c1',
    '-r',
    '/usr/bin/runc',
    '-b',
    '/b',
    '-p',
    '/b/pidfile',
    '-P',
    '/b/conmon.pid',
    '-l',
    'k8s-file:/l/c1.log',
    '--log-level',
    'error',
    '--exit-dir',
    '/run/berth/exits',
    '--socket-dir-path',
    '/run/berth/sockets',
    '--runtime-arg',
    '--root=/run/berth/runc',
    '--runtime-arg',
    '--log-format=json',
    '--no-sync-log',
  ]);
  const tty = conmonArgs({ ...base, terminal: true, stdin: true, logSizeMax: 1024 });
  assert.deepEqual(tty.slice(-4), ['--log-size-max', '1024', '-t', '-i']);
});

test('conmon environment: the sync pipe, and nothing that would make runc act for the daemon', () => {
  const env = conmonEnv({
    PATH: '/bin',
    NOTIFY_SOCKET: '/run/systemd/notify',
    LISTEN_FDS: '1',
    LISTEN_PID: '1',
    _OCI_STARTPIPE: '5',
  });
  assert.deepEqual(env, { PATH: '/bin', _OCI_SYNCPIPE: '3' });
});

test('sync messages and runtime errors', () => {
  assert.equal(parseSyncMessage('{"data": 1'), undefined);
  assert.deepEqual(parseSyncMessage('{"data": 123}\n'), { data: 123 });
  assert.deepEqual(parseSyncMessage('{"data": -1, "message": "boom"}\n{"data": 2}\n'), { data: -1, message: 'boom' });
  assert.throws(() => parseSyncMessage('{"pid": 1}\n'), /unexpected message/);
  assert.equal(
    runtimeError(
      '{"level":"error","msg":"runc create failed: unable to start container process: exec: \\"x\\": executable file not found in $PATH","time":"2026-01-01T00:00:00Z"}\n',
    ),
    'runc create failed: unable to start container process: exec: "x": executable file not found in $PATH',
  );
  assert.equal(
    runtimeError('time="2026-01-01T00:00:00Z" level=error msg="container \\"x\\" does not exist"\n'),
    'container "x" does not exist',
  );
  assert.equal(runtimeError('plain words\n'), 'plain words');
});

test('/proc/<pid>/stat with a hostile process name', () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[19] = '987654';
  assert.deepEqual(parseProcStat(`42 (a) (b c) ${fields.join(' ')}\n`), { state: 'S', startTime: 987654 });
  assert.equal(parseProcStat('garbage'), undefined);
});

test('runc state file: pid, start time, bundle, pid namespace', () => {
  const s = parseStateFile(
    JSON.stringify({
      id: 'x',
      init_process_pid: 7,
      init_process_start: 99,
      cgroup_paths: { memory: '/sys/fs/cgroup/memory/x' },
      config: { labels: ['a=b', 'bundle=/b'], namespaces: [{ type: 'NEWPID', path: '/proc/1/ns/pid' }] },
    }),
  );
  assert.deepEqual(
    [s.pid, s.startTime, s.bundle, s.ownPidNamespace, s.cgroupPaths.memory],
    [7, 99, '/b', false, '/sys/fs/cgroup/memory/x'],
  );
  assert.throws(() => parseStateFile('{"id": "x"}'), /unrecognised/);
});

test('create: spawns conmon detached in the bundle with fd 3 as the sync pipe; resolves with the pid', async (t) => {
  const { rt, host, bundle } = await setup(t);
  await fs.writeFile(join(bundle, 'oom'), '');
  const { pid } = await rt.create({ id: 'c1', bundle, logPath: join(bundle, 'c1.log'), terminal: false, stdin: false });
  assert.equal(pid, 4242);
  const s = host.spawned[0]!;
  assert.equal(s.cmd, '/usr/bin/conmon');
  assert.equal(s.opts.cwd, bundle);
  assert.equal(s.opts.detached, true);
  assert.equal(s.opts.env?._OCI_SYNCPIPE, '3');
  assert.deepEqual((s.opts.stdio as unknown[]).length, 4);
  assert.ok(s.args.includes(`--root=${rt.runcRoot}`));
  assert.equal(
    await fs.access(join(bundle, 'oom')).then(
      () => true,
      () => false,
    ),
    false,
    'an OOM mark of a previous run is removed',
  );
  assert.deepEqual(
    host.calls.filter((c) => c.op === 'run'),
    [],
    'create spawns conmon and nothing else',
  );
});

test('create: max-file goes to berth-monitor as --log-max-files (it rotates the files); conmon, which has no such option, gets none', async (t) => {
  const { rt, host, bundle, dir } = await setup(t);
  const o = { bundle, logPath: join(bundle, 'c.log'), terminal: false, stdin: false, logSizeMax: 1024, logMaxFiles: 3 };
  assert.equal((await rt.create({ ...o, id: 'c1' })).logsRotated, false, 'under conmon the caller rotates');
  assert.ok(!host.spawned[0]!.args.includes('--log-max-files'));
  // A stand-in named as Berth's monitor: the driver knows it by its name.
  const monitor = join(dir, 'berth-monitor');
  await fs.writeFile(monitor, '', { mode: 0o755 });
  const own = new RuncRuntime({ host, root: join(dir, 'exec2'), runtimePath: '/usr/bin/runc', conmonPath: monitor });
  await own.init();
  t.after(() => own.close());
  assert.equal((await own.create({ ...o, id: 'c2' })).logsRotated, true);
  assert.deepEqual(host.spawned[1]!.args.slice(-4), ['--log-size-max', '1024', '--log-max-files', '3']);
  assert.equal(
    (await own.create({ ...o, id: 'c3', logMaxFiles: 1 })).logsRotated,
    false,
    'max-file=1: nothing to keep',
  );
  assert.ok(!host.spawned[2]!.args.includes('--log-max-files'));
});

test("create: the runtime's error comes back in the message", async (t) => {
  const host = new ScriptHost();
  host.script = `printf '%s\\n' '{"data": -1, "message": "{\\"level\\":\\"error\\",\\"msg\\":\\"runc create failed: unable to start container process: exec: \\\\\\"nope\\\\\\": executable file not found in $PATH\\"}\\n"}' >&3; exit 1`;
  const { rt, bundle } = await setup(t, host);
  await assert.rejects(
    rt.create({ id: 'c2', bundle, logPath: join(bundle, 'c2.log'), terminal: false, stdin: false }),
    (e: Error) => {
      assert.equal(
        e.message,
        'create container "c2": runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH',
      );
      return true;
    },
  );
});

test('create: conmon failing before it talks (bad option, missing socket dir)', async (t) => {
  const host = new ScriptHost();
  host.script = 'echo "conmon: option parsing failed: Unknown option --bogus" >&2; exit 1';
  const { rt, bundle } = await setup(t, host);
  await assert.rejects(
    rt.create({ id: 'c3', bundle, logPath: join(bundle, 'c3.log'), terminal: false, stdin: false }),
    /create container "c3": conmon exited with status 1: conmon: option parsing failed/,
  );
  host.script = 'exit 1';
  await assert.rejects(
    rt.create({ id: 'c3', bundle, logPath: join(bundle, 'c3.log'), terminal: false, stdin: false }),
    /without a word/,
  );
  await assert.rejects(
    rt.create({ id: '../x', bundle, logPath: join(bundle, 'x.log'), terminal: false, stdin: false }),
    /invalid id/,
  );
});

test("state, isAlive and kill read runc's state file and /proc instead of spawning runc", async (t) => {
  const { rt, host, bundle } = await setup(t);
  const child = await fakeContainer(t, rt, 'c4', bundle);
  await fs.writeFile(join(rt.runcRoot, 'c4', 'exec.fifo'), '');
  assert.equal((await rt.state('c4'))?.status, 'created');
  await fs.rm(join(rt.runcRoot, 'c4', 'exec.fifo'));
  assert.deepEqual(await rt.state('c4'), {
    id: 'c4',
    status: 'running',
    pid: child.pid,
    bundle,
    created: new Date('2026-01-01T00:00:00Z'),
  });
  assert.equal(await rt.isAlive('c4'), true);
  assert.deepEqual(await rt.list(), ['c4']);
  const died = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
  await rt.kill('c4', 'TERM');
  assert.equal(await died, 'SIGTERM');
  assert.equal((await rt.state('c4'))?.status, 'stopped');
  await assert.rejects(rt.kill('c4', 'KILL'), (e: Error & { category?: string }) => e.category === 'NotFound');
  assert.deepEqual(
    host.calls.filter((c) => c.op === 'run'),
    [],
  );
  assert.equal(await rt.state('nope'), undefined);
});

test('isAlive decides by the init process alone, for dozens of tasks at once: created, paused and running are alive, ended ones are not', async (t) => {
  const { rt, host, bundle } = await setup(t);
  const ids = Array.from({ length: 36 }, (_, i) => `many${i}`);
  const children = await Promise.all(ids.map((id) => fakeContainer(t, rt, id, bundle)));
  // One created (its exec FIFO there), one paused (a frozen freezer cgroup), a third ended.
  await fs.writeFile(join(rt.runcRoot, 'many0', 'exec.fifo'), '');
  const freezer = join(bundle, 'freezer');
  await fs.mkdir(freezer);
  await fs.writeFile(join(freezer, 'freezer.state'), 'FROZEN\n');
  await fs.writeFile(join(freezer, 'freezer.self_freezing'), '1\n');
  const paused = JSON.parse(await fs.readFile(join(rt.runcRoot, 'many1', 'state.json'), 'utf8'));
  await fs.writeFile(
    join(rt.runcRoot, 'many1', 'state.json'),
    JSON.stringify({ ...paused, cgroup_paths: { freezer } }),
  );
  const ended = new Promise((r) => children[2]!.once('exit', r));
  children[2]!.kill('SIGKILL');
  await ended;
  assert.equal((await rt.state('many0'))?.status, 'created');
  assert.equal((await rt.state('many1'))?.status, 'paused');
  const alive = await Promise.all(ids.map((id) => rt.isAlive(id)));
  assert.deepEqual(
    ids.filter((_, i) => !alive[i]),
    ['many2'],
  );
  assert.equal(await rt.isAlive('nope'), false);
  assert.deepEqual(
    host.calls.filter((c) => c.op === 'run'),
    [],
  );
});

test('kill --all goes through runc unless SIGKILL to the init of its own pid namespace does it', async (t) => {
  const { rt, host, bundle } = await setup(t);
  await fakeContainer(t, rt, 'shared', bundle, false);
  await rt.kill('shared', 'SIGKILL', true);
  assert.deepEqual(host.calls.at(-1), {
    op: 'run',
    args: ['/usr/bin/runc', '--root', rt.runcRoot, 'kill', '--all', 'shared', '9'],
  });
  await rt.kill('shared', 'RTMIN+3');
  assert.deepEqual(host.calls.at(-1), {
    op: 'run',
    args: ['/usr/bin/runc', '--root', rt.runcRoot, 'kill', 'shared', 'RTMIN+3'],
  });
  const own = await fakeContainer(t, rt, 'own', bundle, true);
  const before = host.calls.length;
  const died = new Promise<NodeJS.Signals | null>((r) => own.once('exit', (_c, sig) => r(sig)));
  await rt.kill('own', 'SIGKILL', true);
  assert.equal(await died, 'SIGKILL');
  assert.equal(host.calls.length, before);
});

test('runc commands and their errors: start, pause, resume, ps, delete', async (t) => {
  const { rt, host, bundle } = await setup(t);
  const runc = (...args: string[]) => ({ op: 'run', args: ['/usr/bin/runc', '--root', rt.runcRoot, ...args] });
  await rt.start('c5'); // no exec fifo: `runc start` decides
  assert.deepEqual(host.calls.at(-1), runc('start', 'c5'));
  await rt.pause('c5');
  assert.deepEqual(host.calls.at(-1), runc('pause', 'c5'));
  await rt.resume('c5');
  assert.deepEqual(host.calls.at(-1), runc('resume', 'c5'));
  host.responses.set('/usr/bin/runc', (args) =>
    args.includes('ps')
      ? { code: 0, stdout: '[12,34]\n', stderr: '' }
      : { code: 1, stdout: '', stderr: 'time="x" level=error msg="container not running"\n' },
  );
  assert.deepEqual(await rt.ps('c5'), [12, 34]);
  await assert.rejects(
    rt.pause('c5'),
    (e: Error & { category?: string }) =>
      e.category === 'Conflict' && e.message === 'pause container "c5": container not running',
  );
  host.responses.set('/usr/bin/runc', () => ({
    code: 1,
    stdout: '',
    stderr: 'time="x" level=error msg="container does not exist"\n',
  }));
  await assert.rejects(rt.start('c5'), (e: Error & { category?: string }) => e.category === 'NotFound');

  // delete: runc forgetting the container is no error; conmon's files go.
  await rt.create({ id: 'c5', bundle, logPath: join(bundle, 'c5.log'), terminal: false, stdin: false });
  for (const f of ['pidfile', 'conmon.pid', 'ctl', 'winsz', 'oom']) await fs.writeFile(join(bundle, f), '1');
  await fs.writeFile(join(rt.exitDir, 'c5'), '0');
  await fs.symlink(bundle, join(rt.socketDir, 'c5'));
  await rt.delete('c5', true);
  assert.deepEqual(host.calls.at(-1), runc('delete', '--force', 'c5'));
  assert.deepEqual((await fs.readdir(bundle)).sort(), []);
  assert.deepEqual(await fs.readdir(rt.exitDir), []);
  assert.deepEqual(await fs.readdir(rt.socketDir), []);
  host.responses.set('/usr/bin/runc', () => ({
    code: 1,
    stdout: '',
    stderr: 'time="x" level=error msg="cannot delete container c5 that is not stopped: running"\n',
  }));
  await assert.rejects(rt.delete('c5'), /delete container "c5": container is running: stop it first or use force/);
});

test('exit files: reported once per container, temp names ignored, earlier ones read not reported', async (t) => {
  const { rt, dir } = await setup(t);
  // An exit recorded before this instance started watching.
  await fs.writeFile(join(rt.exitDir, 'old'), '5');
  await fs.mkdir(join(rt.runcRoot, 'old'));
  const second = new RuncRuntime({
    host: new FakeHost(),
    root: join(dir, 'exec'),
    runtimePath: '/usr/bin/runc',
    conmonPath: '/usr/bin/conmon',
  });
  const events: Exit[] = [];
  second.exits.on('exit', (e) => events.push(e));
  await second.init();
  t.after(() => second.close());
  assert.equal((await second.readExit('old'))?.exitCode, 5);

  await fs.mkdir(join(rt.runcRoot, 'c6'));
  // conmon (glib) writes a temp file and renames it over the exit file.
  await fs.writeFile(join(rt.exitDir, 'c6.AB12CD'), '143');
  await fs.rename(join(rt.exitDir, 'c6.AB12CD'), join(rt.exitDir, 'c6'));
  await fs.writeFile(join(rt.exitDir, 'stranger'), '1');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    events.map((e) => [e.id, e.exitCode, e.oomKilled]),
    [['c6', 143, false]],
  );
  assert.equal((await second.readExit('c6'))?.exitCode, 143);
  assert.equal(await second.readExit('missing'), undefined);
  const recovered = await second.recover();
  assert.deepEqual(recovered, [], 'directories without a state file are no containers');
});

test('an exit read again is the same exit while its file is; a file replaced or rewritten is read anew', async (t) => {
  const { rt } = await setup(t);
  const write = async (id: string, text: string) => {
    await fs.writeFile(join(rt.exitDir, `${id}.tmp`), text);
    await fs.rename(join(rt.exitDir, `${id}.tmp`), join(rt.exitDir, id));
  };
  await write('c7', '3');
  assert.equal((await rt.readExit('c7'))?.exitCode, 3);
  assert.equal((await rt.readExit('c7'))?.exitCode, 3);
  // A new run's exit: a new file renamed into place.
  await write('c7', '9');
  assert.equal((await rt.readExit('c7'))?.exitCode, 9);
  // Rewritten in place with another status.
  await fs.writeFile(join(rt.exitDir, 'c7'), '137');
  assert.equal((await rt.readExit('c7'))?.exitCode, 137);
  await fs.rm(join(rt.exitDir, 'c7'));
  assert.equal(await rt.readExit('c7'), undefined);
});

test('runc checkpoints through the CRIU it was given, which --version says can; crun built without CRIU is refused with the reason', async (t) => {
  const dir = await fs.mkdtemp(join(tmpdir(), 'berth-runc-criu-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const host = new FakeHost();
  host.responses.set('/opt/criu', () => ({ code: 0, stdout: 'Version: 4.1.1\n', stderr: '' }));
  const make = (runtimePath: string) =>
    new RuncRuntime({
      host,
      root: join(dir, runtimePath.replace(/\//g, '_')),
      runtimePath,
      conmonPath: '/usr/bin/conmon',
      criuPath: '/opt/criu',
    });
  const runc = make('/usr/bin/runc');
  t.after(() => runc.close());
  assert.deepEqual(await runc.checkpointSupport(), { supported: true });
  await runc.checkpoint('c1', '/cp', true);
  assert.deepEqual(host.calls.at(-1)?.args, [
    '/usr/bin/runc',
    '--root',
    runc.runcRoot,
    '--criu',
    '/opt/criu',
    'checkpoint',
    '--image-path',
    '/cp',
    '--leave-running',
    'c1',
  ]);

  host.responses.set('/usr/bin/crun', () => ({
    code: 0,
    stdout: 'crun version 1.8.1\n+SYSTEMD +SELINUX +SECCOMP\n',
    stderr: '',
  }));
  const crun = make('/usr/bin/crun');
  t.after(() => crun.close());
  const support = await crun.checkpointSupport();
  assert.equal(support.supported, false);
  assert.match(support.reason!, /crun here is built without CRIU: run the container with --runtime runc/);
  await assert.rejects(
    crun.checkpoint('c1', '/cp', false),
    /checkpoint container "c1": crun here is built without CRIU/,
  );
});
