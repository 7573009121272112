/**
 * Real containers: conmon + runc on this machine, a busybox-static root file system and a
 * hand-written config.json. Needs root, runc and conmon; skipped otherwise. Every container
 * started here is deleted (runc delete -f) and its temporary directory removed.
 *
 * $BERTH_TEST_MONITOR names another monitor to run them under instead of conmon:
 * berth-monitor.real.test.ts runs them all again under Berth's own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { RealHost } from '../host/index.ts';
import { crunBinary, RuncRuntime, wasOomKilled, type Exit, type LogLine } from './index.ts';
import { makeBusyboxRootfs, makeTestBundle } from './testing.ts';

const host = new RealHost();
const usable =
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/runc') &&
  existsSync('/usr/bin/conmon') &&
  existsSync('/bin/busybox');
const skip = usable ? false : 'needs root, runc, conmon and busybox-static';
const monitorPath = process.env.BERTH_TEST_MONITOR || undefined;
const monitorProgram = monitorPath ?? '/usr/bin/conmon';

let tmp = '';
let root = '';
let rootfs = '';
const started: Array<{ id: string; bundle: string }> = [];

before(async () => {
  if (!usable) return;
  tmp = await fs.mkdtemp('/tmp/berth-rt-test-');
  root = join(tmp, 'exec');
  rootfs = await makeBusyboxRootfs(join(tmp, 'rootfs'));
});

after(async () => {
  if (!usable) return;
  for (const { id, bundle } of started) {
    await host.run('/usr/bin/runc', ['--root', join(root, 'runc'), 'delete', '--force', id], { allowFailure: true });
    // The monitor ends with its container; one still there is ours (its pid file and cmdline say so).
    const pid = Number((await fs.readFile(join(bundle, 'conmon.pid'), 'utf8').catch(() => '')).trim());
    if (pid > 0) {
      const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.startsWith(`${monitorProgram}\0`) && cmdline.includes(`\0${id}\0`)) process.kill(pid, 'SIGKILL');
    }
  }
  await fs.rm(tmp, { recursive: true, force: true });
  // The test cgroup parents, if no other run still uses them.
  for (const c of await fs.readdir('/sys/fs/cgroup').catch(() => [])) {
    // The directory crun containers share in cpuset and name=systemd first (runtime/cgroup-share.ts).
    await fs.rmdir(join('/sys/fs/cgroup', c, 'berth-test', 'berth-shared')).catch(() => {});
    await fs.rmdir(join('/sys/fs/cgroup', c, 'berth-test')).catch(() => {});
  }
});

function newId(): string {
  return `berth-rt-test-${randomBytes(4).toString('hex')}`;
}

async function bundleFor(
  args: string[],
  extra: { memoryLimit?: number; pidNamespace?: boolean; terminal?: boolean } = {},
): Promise<{ id: string; bundle: string; logPath: string }> {
  const id = newId();
  const bundle = join(tmp, id);
  await makeTestBundle({ id, dir: bundle, rootfs, args, ...extra });
  started.push({ id, bundle });
  return { id, bundle, logPath: join(bundle, 'ctr.log') };
}

function runtime(): RuncRuntime {
  return new RuncRuntime({ host, root, conmonPath: monitorPath });
}

function nextExit(rt: RuncRuntime, id: string, ms = 20_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit event for ${id} within ${ms} ms`)), ms);
    const on = (e: Exit) => {
      if (e.id !== id) return;
      clearTimeout(timer);
      rt.exits.off('exit', on);
      resolve(e);
    };
    rt.exits.on('exit', on);
  });
}

async function collect(it: AsyncIterable<LogLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(`${l.stream}:${l.line.toString()}`);
  return out;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('create + start: exit code recorded, stdout and stderr in the log', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  const exit = nextExit(rt, c.id);
  const t0 = performance.now();
  const { pid } = await rt.create({ ...c, terminal: false, stdin: false });
  const t1 = performance.now();
  assert.ok(pid > 0);
  assert.equal((await rt.state(c.id))?.status, 'created');
  await rt.start(c.id);
  const t2 = performance.now();
  t.diagnostic(`create ${(t1 - t0).toFixed(1)} ms + start ${(t2 - t1).toFixed(1)} ms = ${(t2 - t0).toFixed(1)} ms`);
  const e = await exit;
  assert.equal(e.exitCode, 3);
  assert.equal(e.oomKilled, false);
  assert.ok(Math.abs(e.exitedAt.getTime() - Date.now()) < 10_000);
  assert.equal((await rt.state(c.id))?.status, 'stopped');
  assert.equal(await rt.isAlive(c.id), false);
  assert.equal((await rt.readExit(c.id))?.exitCode, 3);
  assert.deepEqual(await collect(rt.readLogs(c.logPath, { follow: false })), ['stdout:out\n', 'stderr:err\n']);
  await rt.delete(c.id);
});

test('create + start latency (10 runs of `true`, next to `runc run -d`)', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const ours: number[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await bundleFor(['true']);
    const exit = nextExit(rt, c.id);
    const t0 = performance.now();
    await rt.create({ ...c, terminal: false, stdin: false });
    await rt.start(c.id);
    ours.push(performance.now() - t0);
    await exit;
    await rt.delete(c.id);
  }
  const bare: number[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await bundleFor(['true']);
    const t0 = performance.now();
    await host.run('/usr/bin/runc', ['--root', join(root, 'runc'), 'run', '-d', '--bundle', c.bundle, c.id], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    bare.push(performance.now() - t0);
    await host.run('/usr/bin/runc', ['--root', join(root, 'runc'), 'delete', '--force', c.id], { allowFailure: true });
  }
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${s[s.length >> 1]!.toFixed(1)} ms, min ${s[0]!.toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms`;
  };
  t.diagnostic(`create+start via conmon: ${stats(ours)}`);
  t.diagnostic(`runc run -d (no monitor):  ${stats(bare)}`);
});

test('kill with SIGTERM: exit 143 (an init without a pid namespace of its own dies of it)', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor(['sleep', '100'], { pidNamespace: false });
  const exit = nextExit(rt, c.id);
  await rt.create({ ...c, terminal: false, stdin: false });
  await rt.start(c.id);
  assert.equal((await rt.state(c.id))?.status, 'running');
  await rt.kill(c.id, 'SIGTERM');
  assert.equal((await exit).exitCode, 143);
  await assert.rejects(rt.kill(c.id, 'TERM'), /not running/);
  await rt.delete(c.id);
});

test('kill --all with SIGKILL and a number signal through runc', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor(['sh', '-c', 'sleep 100 & sleep 100'], { pidNamespace: false });
  const exit = nextExit(rt, c.id);
  await rt.create({ ...c, terminal: false, stdin: false });
  await rt.start(c.id);
  await delay(100);
  const pids = await rt.ps(c.id);
  assert.ok(pids.length >= 2, `ps: ${JSON.stringify(pids)}`);
  assert.ok(pids.includes((await rt.state(c.id))!.pid));
  await rt.kill(c.id, 9, true);
  assert.equal((await exit).exitCode, 137);
  await rt.delete(c.id);
});

test('a daemon restart: the new instance sees the running container and its later exit', { skip }, async (t) => {
  const c = await bundleFor(['sleep', '100']);
  const first = runtime();
  await first.create({ ...c, terminal: false, stdin: false });
  await first.start(c.id);
  first.close();

  const second = runtime();
  await second.init();
  t.after(() => second.close());
  assert.equal(await second.isAlive(c.id), true);
  assert.equal((await second.state(c.id))?.status, 'running');
  assert.equal(await second.monitorAlive(c.id), true);
  assert.ok((await second.list()).includes(c.id));
  const found = (await second.recover()).find((r) => r.id === c.id);
  assert.ok(found);
  assert.equal(found.status, 'running');
  assert.equal(found.monitorAlive, true);
  assert.equal(found.exit, undefined);

  const exit = nextExit(second, c.id);
  await second.kill(c.id, 'SIGKILL', true);
  assert.equal((await exit).exitCode, 137);
  await second.delete(c.id);
  assert.equal(await second.exists(c.id), false);
});

test('an exit while the daemon is down is read back after it restarts', { skip }, async (t) => {
  const c = await bundleFor(['sh', '-c', 'sleep 0.3; exit 7']);
  const first = runtime();
  await first.create({ ...c, terminal: false, stdin: false });
  await first.start(c.id);
  first.close();
  // Nobody watches: wait for conmon's record the slow way.
  const probe = runtime();
  for (let i = 0; i < 200 && !(await probe.readExit(c.id)); i++) await delay(25);

  const second = runtime();
  const events: Exit[] = [];
  second.exits.on('exit', (e) => events.push(e));
  await second.init();
  t.after(() => second.close());
  const recorded = await second.readExit(c.id);
  assert.equal(recorded?.exitCode, 7);
  const found = (await second.recover()).find((r) => r.id === c.id);
  assert.equal(found?.status, 'stopped');
  assert.equal(found?.exit?.exitCode, 7);
  assert.equal(await second.isAlive(c.id), false);
  await delay(100);
  assert.deepEqual(events, [], 'an exit recorded while down is read, not reported again');
  await second.delete(c.id);
  // Stopped monitors are gone after the exit is recorded.
  assert.equal(await second.monitorAlive(c.id), false);
});

test('logs: attached before start, nothing lost even for a process that lives a millisecond', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  for (let i = 0; i < 3; i++) {
    const c = await bundleFor(['echo', 'hi']);
    const exit = nextExit(rt, c.id);
    const lines = collect(rt.readLogs(c.logPath, { follow: true, untilExit: exit }));
    await rt.create({ ...c, terminal: false, stdin: false });
    await rt.start(c.id);
    assert.deepEqual(await lines, ['stdout:hi\n']);
    await rt.delete(c.id);
  }
});

test('logs: follow, tail, timestamps, partial last line', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor([
    'sh',
    '-c',
    'for i in 0 1 2 3 4; do echo line$i; done; sleep 0.3; echo late >&2; sleep 0.1; printf partial',
  ]);
  const exit = nextExit(rt, c.id);
  await rt.create({ ...c, terminal: false, stdin: false });
  const followed = collect(rt.readLogs(c.logPath, { follow: true, untilExit: exit }));
  await rt.start(c.id);
  const e = await exit;
  assert.equal(e.exitCode, 0);
  assert.deepEqual(await followed, [
    'stdout:line0\n',
    'stdout:line1\n',
    'stdout:line2\n',
    'stdout:line3\n',
    'stdout:line4\n',
    'stderr:late\n',
    'stdout:partial',
  ]);
  assert.deepEqual(await collect(rt.readLogs(c.logPath, { follow: false, tail: 2 })), [
    'stdout:line4\n',
    'stderr:late\n',
    'stdout:partial',
  ]);
  const stamped: LogLine[] = [];
  for await (const l of rt.readLogs(c.logPath, { follow: false, tail: 1, timestamps: true })) stamped.push(l);
  assert.match(stamped[0]!.line.toString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z late\n$/);
  // since/until: the late line is 300 ms after the first ones.
  const late = stamped[0]!.time;
  assert.deepEqual(await collect(rt.readLogs(c.logPath, { follow: false, since: new Date(late.getTime() - 100) })), [
    'stderr:late\n',
    'stdout:partial',
  ]);
  assert.deepEqual(
    (await collect(rt.readLogs(c.logPath, { follow: false, until: new Date(late.getTime() - 100) }))).length,
    5,
  );
  // An aborted follower ends at once.
  const ac = new AbortController();
  const got: LogLine[] = [];
  const forever = (async () => {
    for await (const l of rt.readLogs(c.logPath, { follow: true, signal: ac.signal })) got.push(l);
  })();
  for (let i = 0; i < 200 && got.length < 7; i++) await delay(10);
  ac.abort();
  await forever;
  assert.equal(got.length, 7);
  await rt.delete(c.id);
});

test('pause and resume', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor(['sleep', '100']);
  const exit = nextExit(rt, c.id);
  await rt.create({ ...c, terminal: false, stdin: false });
  await rt.start(c.id);
  await rt.pause(c.id);
  assert.equal((await rt.state(c.id))?.status, 'paused');
  assert.equal(await rt.isAlive(c.id), true);
  await assert.rejects(rt.pause(c.id), (e: Error) => /pause container/.test(e.message));
  await rt.resume(c.id);
  assert.equal((await rt.state(c.id))?.status, 'running');
  // A SIGKILL to a paused container goes through runc, which thaws it.
  await rt.pause(c.id);
  await rt.kill(c.id, 'SIGKILL', true);
  assert.equal((await exit).exitCode, 137);
  await rt.delete(c.id);
});

test('delete cleans up runc state, cgroups and conmon files; force-delete of a live container', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor(['true']);
  const exit = nextExit(rt, c.id);
  await rt.create({ ...c, terminal: false, stdin: false });
  await rt.start(c.id);
  await exit;
  const cgroup = `/sys/fs/cgroup/memory/berth-test/${c.id}`;
  const v1 = existsSync('/sys/fs/cgroup/memory/berth-test');
  await rt.delete(c.id);
  assert.equal(await rt.exists(c.id), false);
  assert.equal(await rt.state(c.id), undefined);
  assert.equal(await rt.readExit(c.id), undefined);
  assert.equal(existsSync(join(rt.socketDir, c.id)), false);
  for (const f of ['conmon.pid', 'pidfile', 'ctl', 'winsz', 'attach'])
    assert.equal(existsSync(join(c.bundle, f)), false, f);
  if (v1) assert.equal(existsSync(cgroup), false);
  assert.ok(existsSync(c.logPath), 'the log stays: it belongs to the container, not the run');
  await rt.delete(c.id); // deleting twice is no error

  const live = await bundleFor(['sleep', '100']);
  const liveExit = nextExit(rt, live.id);
  await rt.create({ ...live, terminal: false, stdin: false });
  await rt.start(live.id);
  await assert.rejects(rt.delete(live.id), (e: Error) => /container is running/.test(e.message));
  await rt.delete(live.id, true);
  assert.equal((await liveExit).exitCode, 137);
  await delay(100);
  assert.equal(existsSync(join(rt.exitDir, live.id)), false, 'no exit file left behind by the monitor');
  assert.equal(await rt.monitorAlive(live.id), false);
});

test('a created container that is never started: force delete', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor(['sleep', '100']);
  await rt.create({ ...c, terminal: false, stdin: false });
  assert.equal((await rt.state(c.id))?.status, 'created');
  assert.equal(await rt.isAlive(c.id), true);
  await rt.delete(c.id, true);
  assert.equal(await rt.exists(c.id), false);

  // A created container whose process died cannot start.
  const d = await bundleFor(['sleep', '100']);
  const exit = nextExit(rt, d.id);
  await rt.create({ ...d, terminal: false, stdin: false });
  await rt.kill(d.id, 'SIGKILL');
  assert.equal((await exit).exitCode, 137);
  await assert.rejects(
    rt.start(d.id),
    (e: Error & { category?: string }) => e.category === 'FailedPrecondition' && /already dead/.test(e.message),
  );
  await rt.delete(d.id);
});

test("create fails with the runtime's reason for a missing program", { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor(['/no/such/program']);
  await assert.rejects(rt.create({ ...c, terminal: false, stdin: false }), (e: Error) => {
    assert.match(
      e.message,
      new RegExp(`^create container "${c.id}": .*(no such file or directory|executable file not found)`),
    );
    return true;
  });
  await rt.delete(c.id, true);
});

test('start of an unknown container, kill of an unknown one', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  await assert.rejects(
    rt.start('berth-rt-test-nonexistent'),
    (e: Error & { category?: string }) => e.category === 'NotFound',
  );
  await assert.rejects(
    rt.kill('berth-rt-test-nonexistent', 'TERM'),
    (e: Error & { category?: string }) => e.category === 'NotFound',
  );
  assert.equal(await rt.state('berth-rt-test-nonexistent'), undefined);
  assert.equal(await rt.isAlive('berth-rt-test-nonexistent'), false);
});

test('OOM kill is reported', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  // dd's 64 MiB block buffer does not fit in 16 MiB.
  const c = await bundleFor(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=4'], {
    memoryLimit: 16 * 1024 * 1024,
  });
  const exit = nextExit(rt, c.id);
  await rt.create({ ...c, terminal: false, stdin: false });
  await rt.start(c.id);
  const e = await exit;
  assert.equal(e.exitCode, 137);
  assert.equal(e.oomKilled, true);
  const v1 = `/sys/fs/cgroup/memory/berth-test/${c.id}`;
  if (existsSync(v1)) {
    assert.equal(await wasOomKilled(v1), true);
    assert.equal(await wasOomKilled(`/berth-test/${c.id}`), true);
  }
  await rt.delete(c.id);
});

test('a terminal: conmon takes the console, the log gets its output, resize sets its size', { skip }, async (t) => {
  const rt = runtime();
  await rt.init();
  t.after(() => rt.close());
  const c = await bundleFor(['sh', '-c', 'busybox stty size; exit 2'], { terminal: true });
  const exit = nextExit(rt, c.id);
  await rt.create({ ...c, terminal: true, stdin: false });
  assert.ok(existsSync(rt.attachSocketPath(c.id)));
  await rt.resize(c.id, 50, 132);
  await rt.start(c.id);
  assert.equal((await exit).exitCode, 2);
  assert.deepEqual(await collect(rt.readLogs(c.logPath, { follow: false })), ['stdout:50 132\r\n']);
  await assert.rejects(rt.resize(c.id, 10, 10), /container is not running/);
  await assert.rejects(rt.resize(c.id, -1, 10), /invalid size/);
  await rt.delete(c.id);
});

const CRUN_WRAPPER = join(import.meta.dirname, '..', '..', 'build', 'berth-crun');
test(
  'crun through its wrapper runs from a read-only bind of its binary, removed at close',
  {
    skip: skip || (existsSync(CRUN_WRAPPER) && existsSync(crunBinary()) ? false : 'needs crun and build/berth-crun'),
  },
  async (t) => {
    const crunRoot = join(tmp, 'exec-crun');
    const rt = new RuncRuntime({ host, root: crunRoot, runtimePath: CRUN_WRAPPER, conmonPath: monitorPath });
    await rt.init();
    t.after(() => rt.close());
    const sealed = join(crunRoot, 'crun');
    const mountOptions = async () =>
      (await fs.readFile('/proc/self/mountinfo', 'utf8'))
        .split('\n')
        .map((l) => l.split(' '))
        .find((f) => f[4] === sealed)?.[5];
    assert.match(
      (await mountOptions()) ?? 'not mounted',
      /^ro\b/,
      'bound read-only: crun trusts it and does not copy itself',
    );
    assert.deepEqual(await fs.readFile(sealed), await fs.readFile(crunBinary()));
    const c = await bundleFor(['sh', '-c', 'exit 7']);
    const exit = nextExit(rt, c.id);
    await rt.create({ ...c, terminal: false, stdin: false });
    await rt.start(c.id);
    assert.equal((await exit).exitCode, 7);
    await rt.delete(c.id);
    assert.equal(await rt.state(c.id), undefined);
    await rt.close();
    assert.equal(await mountOptions(), undefined, 'unbound at close');
  },
);

const BUILT_CRUN = join(import.meta.dirname, '..', '..', 'build', 'crun');
test(
  "the crun setup builds is Debian's (same version and commit) without systemd, and the one the driver runs",
  {
    skip:
      existsSync(BUILT_CRUN) && existsSync('/usr/bin/crun')
        ? false
        : 'build/crun was not built (scripts/crun-build.sh)',
  },
  async () => {
    const version = async (bin: string) => (await host.run(bin, ['--version'])).stdout;
    const [ours, debians] = await Promise.all([version(BUILT_CRUN), version('/usr/bin/crun')]);
    const line = (out: string, re: RegExp) => re.exec(out)?.[0];
    assert.equal(line(ours, /^crun version .*$/m), line(debians, /^crun version .*$/m));
    assert.equal(line(ours, /^commit: .*$/m), line(debians, /^commit: .*$/m));
    assert.doesNotMatch(ours, /\+SYSTEMD/, 'built without libsystemd');
    for (const feature of ['+CAP', '+SECCOMP', '+YAJL']) assert.ok(ours.includes(feature), `keeps ${feature}`);
    if (!process.env.BERTH_CRUN) assert.equal(crunBinary(), BUILT_CRUN, 'the driver runs the built crun');
  },
);

const hybrid = existsSync('/sys/fs/cgroup/unified/cgroup.controllers') && existsSync('/sys/fs/cgroup/memory');
test(
  "crun through its wrapper on a hybrid cgroup host leaves nothing on /sys/fs/cgroup's tmpfs under the cgroup2 mount",
  {
    skip:
      skip ||
      (existsSync(CRUN_WRAPPER) && existsSync(crunBinary()) ? false : 'needs crun and build/berth-crun') ||
      (hybrid ? false : 'needs the hybrid cgroup layout'),
  },
  async (t) => {
    const rt = new RuncRuntime({
      host,
      root: join(tmp, 'exec-crun-hybrid'),
      runtimePath: CRUN_WRAPPER,
      conmonPath: monitorPath,
    });
    t.after(() => rt.close());
    const c = await bundleFor(['sh', '-c', 'exit 0']);
    const exit = nextExit(rt, c.id);
    // With its spec, as the container service creates: the driver tells the wrapper it makes no user namespace.
    const spec = JSON.parse(await fs.readFile(join(c.bundle, 'config.json'), 'utf8')) as object;
    await rt.create({ ...c, spec, terminal: false, stdin: false });
    // What the host's cgroup2 mount covers: the tmpfs's own directory, seen through a bind of
    // /sys/fs/cgroup alone in a mount namespace of the check's own.
    const under = await host.run(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'd=$(mktemp -d) && mount --bind /sys/fs/cgroup "$d" && ls -A "$d/unified/berth-test"; umount "$d"; rmdir "$d"',
      ],
      { allowFailure: true },
    );
    assert.doesNotMatch(under.stdout, new RegExp(c.id), 'no directory of the container under the cgroup2 mount');
    await rt.start(c.id);
    assert.equal((await exit).exitCode, 0);
    await rt.delete(c.id);
  },
);
