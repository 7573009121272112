/**
 * The engine core through the real `docker` CLI: version negotiation, the container lifecycle,
 * Docker's run options and security defaults, and errors for bad requests.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, docker, dockerOk, api, eventually, sleep, startDaemonWithBusybox, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => (d = await startDaemonWithBusybox()));
after(() => cleanup(d));

test('docker version shows Berth as the server and negotiates the API version', async () => {
  const out = await dockerOk(d, [
    'version',
    '--format',
    '{{.Server.Platform.Name}}|{{.Server.APIVersion}}|{{.Server.MinAPIVersion}}|{{.Client.APIVersion}}',
  ]);
  const [name, api1, min, client] = out.trim().split('|');
  assert.equal(name, 'Berth Engine');
  assert.ok(Number(api1!.split('.')[1]) >= 44, `server API ${api1} must be 1.44 or newer`);
  assert.equal(min, '1.24');
  assert.equal(client, api1, 'the CLI negotiated down to the server version');
});

test("docker version's Engine names the commit Berth was built from and when, as dockerd names its binary's", async () => {
  const { execFileSync } = await import('node:child_process');
  const head = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' }).trim();
  const out = await dockerOk(d, ['version']);
  const server = out.slice(out.indexOf('Server:'));
  // `npm run setup` bundled this checkout: its commit (with -dirty while it has changes).
  assert.match(server, new RegExp(`^  Git commit:\\s+${head}(-dirty)?$`, 'm'));
  // The CLI prints the API's RFC 3339 time as Go's ANSIC ("Mon Dec  7 22:09:40 2026").
  const built = /^  Built:\s+(.+)$/m.exec(server)?.[1] ?? '';
  assert.match(built, /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/, built);
});

test('docker info reports the server', async () => {
  const out = await dockerOk(d, ['info', '--format', '{{.ServerVersion}} {{.Driver}} {{.OSType}} {{.DockerRootDir}}']);
  assert.match(out, /^\S+ overlay2 linux .*\/data\n$/);
  // The runtime's commit and the init's version, as the programs themselves report them.
  const { execFileSync } = await import('node:child_process');
  const runtime = (await dockerOk(d, ['info', '--format', '{{.DefaultRuntime}}'])).trim();
  const commit = /^commit: (\S+)/m.exec(execFileSync(runtime, ['--version'], { encoding: 'utf8' }))![1];
  const info = await dockerOk(d, ['info']);
  assert.match(info, new RegExp(`runc version: ${commit}`));
  assert.match(info, /init version: \S+/);
});

test('the /_ping headers are the ones the CLI reads', async () => {
  const r = await api(d, 'GET', '/_ping');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'OK');
});

test('docker run prints the output and exits with the container exit code', async () => {
  const ok = await docker(d, ['run', '--rm', 'busybox', 'echo', 'hello from berth']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'hello from berth\n');
  const three = await docker(d, ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(three.code, 3);
  assert.equal(three.stdout, 'out\n');
  assert.equal(three.stderr, 'err\n');
  const ps = await dockerOk(d, ['ps', '-aq']);
  assert.equal(ps.trim(), '', '--rm removed the containers');
});

test('a missing image and a missing command give Docker errors', async () => {
  const r = await docker(d, ['run', '--rm', 'nosuchimage:1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /nosuchimage/);
  const c = await docker(d, ['run', '--rm', 'busybox', 'nosuchcommand']);
  assert.equal(c.code, 127, c.stderr);
  assert.match(c.stderr, /nosuchcommand/);
  // Said once, as by dockerd: the removal clears the error, so the wait has none to repeat.
  assert.doesNotMatch(c.stderr, /Error waiting for container/);
  assert.equal(c.stderr.match(/nosuchcommand/g)?.length, 1, c.stderr);
  // As dockerd: a container that never ran stays Created, with the exit code and the error.
  const never = await docker(d, ['run', '--name', 'never-ran', 'busybox', 'nosuchcommand']);
  assert.equal(never.code, 127, never.stderr);
  // The waiting CLI is not woken by a start that failed (as with dockerd): one error, no "Error waiting".
  assert.doesNotMatch(never.stderr, /Error waiting for container/);
  assert.equal(
    await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.FinishedAt}}', 'never-ran']),
    'created 127 0001-01-01T00:00:00Z\n',
  );
  assert.match(await dockerOk(d, ['inspect', '-f', '{{.State.Error}}', 'never-ran']), /nosuchcommand/);
  assert.match(await dockerOk(d, ['ps', '-a', '--filter', 'name=never-ran', '--format', '{{.Status}}']), /^Created$/m);
  await dockerOk(d, ['rm', 'never-ran']);
  // What dockerd refuses at create makes no container: more CPUs than the machine has.
  const cpus = await docker(d, ['run', '--rm', '--name', 'too-many-cpus', '--cpus', '999', 'busybox', 'true']);
  assert.equal(cpus.code, 125);
  assert.match(cpus.stderr, /Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available/);
  assert.doesNotMatch(cpus.stderr, /Error waiting for container/);
  assert.equal((await docker(d, ['inspect', 'too-many-cpus'])).code, 1, 'no container was made');
  const cpuset = await docker(d, ['run', '--rm', '--name', 'no-such-cpu', '--cpuset-cpus', '0,999', 'busybox', 'true']);
  assert.equal(cpuset.code, 125);
  assert.match(cpuset.stderr, /Requested CPUs are not available - requested 0,999, available: [\d,-]+/);
  assert.equal((await docker(d, ['inspect', 'no-such-cpu'])).code, 1, 'no container was made');
  // --platform: the image must be for it (the CLI then tries a pull for that platform).
  const arm = await api(d, 'POST', '/v1.44/containers/create?platform=linux%2Farm64', '{"Image":"busybox"}', {
    'Content-Type': 'application/json',
  });
  assert.equal(arm.status, 404);
  assert.match(
    JSON.parse(arm.body).message,
    /image with reference busybox was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/,
  );
  assert.notEqual((await docker(d, ['run', '--rm', '--platform', 'linux/arm64', 'busybox', 'true'])).code, 0);
  assert.equal(
    await dockerOk(d, ['run', '--rm', '--platform', 'linux/amd64', 'busybox', 'echo', 'amd64 it is']),
    'amd64 it is\n',
  );
});

test('detached containers: ps, logs, stop, start, restart, rm', async () => {
  const id = (
    await dockerOk(d, [
      'run',
      '-d',
      '--name',
      'ticker',
      'busybox',
      'sh',
      '-c',
      'trap "exit 0" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done',
    ])
  ).trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const ps = await dockerOk(d, ['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
  assert.match(ps, new RegExp(`^${id.slice(0, 12)} ticker Up (Less than a second|\\d+ seconds?)$`, 'm'));
  await eventually(async () => (await dockerOk(d, ['logs', 'ticker'])).includes('tick 2'));
  const tail = await dockerOk(d, ['logs', '--tail', '1', 'ticker']);
  assert.match(tail, /^tick \d+\n$/);
  const ts = await dockerOk(d, ['logs', '-t', '--tail', '1', 'ticker']);
  // moby's RFC3339NanoFixed: nine digits, trailing zeros kept.
  assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick \d+\n$/);
  // --details: the log attributes (none asked for here) and a space, as dockerd writes them.
  assert.match(await dockerOk(d, ['logs', '--details', '--tail', '1', 'ticker']), /^ tick \d+\n$/);
  const detailed = await dockerOk(d, [
    'run',
    '--rm',
    '--label',
    'team=core',
    '-e',
    'A=x y',
    '--log-opt',
    'labels=team',
    '--log-opt',
    'env=A',
    '-d',
    'busybox',
    'sh',
    '-c',
    'echo hello; sleep 30',
  ]);
  await eventually(async () => (await dockerOk(d, ['logs', detailed.trim()])).includes('hello'));
  assert.equal(await dockerOk(d, ['logs', '--details', detailed.trim()]), 'A=x+y,team=core hello\n');
  await dockerOk(d, ['rm', '-f', detailed.trim()]);

  const conflictRm = await docker(d, ['rm', 'ticker']);
  assert.notEqual(conflictRm.code, 0);
  assert.match(conflictRm.stderr, /container is running: stop the container before removing or force remove/);

  const t0 = Date.now();
  await dockerOk(d, ['stop', 'ticker']);
  assert.ok(Date.now() - t0 < 5000, 'the TERM trap ended it before the timeout');
  const state = await dockerOk(d, [
    'inspect',
    '-f',
    '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}',
    'ticker',
  ]);
  assert.equal(state.trim(), 'exited false 0');
  const psa = await dockerOk(d, ['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}']);
  assert.match(psa, /^ticker Exited \(0\) (Less than a second|\d+ seconds?) ago$/m);

  assert.equal((await dockerOk(d, ['start', 'ticker'])).trim(), 'ticker');
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Running}}', 'ticker'])).trim(), 'true');
  await dockerOk(d, ['restart', '-t', '1', 'ticker']);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Running}}', 'ticker'])).trim(), 'true');
  await dockerOk(d, ['rm', '-f', 'ticker']);
  const gone = await docker(d, ['inspect', 'ticker']);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /No such (container|object): ticker/);
});

test('logs -f follows until the container exits; --since and --until filter by time', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'talker',
    'busybox',
    'sh',
    '-c',
    'echo first; sleep 1.5; echo second >&2; sleep 0.5',
  ]);
  const t0 = Date.now();
  const f = await docker(d, ['logs', '-f', 'talker'], { timeoutMs: 20_000 });
  assert.equal(f.code, 0);
  assert.equal(f.stdout, 'first\n');
  assert.equal(f.stderr, 'second\n');
  assert.ok(Date.now() - t0 >= 1000, 'it waited for the later line');
  const all = await docker(d, ['logs', '-t', 'talker']);
  const stamps = [...(all.stdout + all.stderr).matchAll(/^(\S+) (first|second)$/gm)].map((m) => m[1]!);
  assert.equal(stamps.length, 2);
  const mid = new Date((Date.parse(stamps[0]!) + Date.parse(stamps[1]!)) / 2).toISOString();
  const since = await docker(d, ['logs', '--since', mid, 'talker']);
  assert.equal(since.stdout + since.stderr, 'second\n');
  const until = await docker(d, ['logs', '--until', mid, 'talker']);
  assert.equal(until.stdout + until.stderr, 'first\n');
  await dockerOk(d, ['rm', 'talker']);
});

test('stop sends the stop signal, then SIGKILL after the timeout', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'stubborn',
    'busybox',
    'sh',
    '-c',
    'trap "" TERM; while true; do sleep 0.1; done',
  ]);
  const t0 = Date.now();
  await dockerOk(d, ['stop', '-t', '1', 'stubborn']);
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 8000, `stop took ${took} ms`);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.ExitCode}}', 'stubborn'])).trim(), '137');
  await dockerOk(d, ['rm', 'stubborn']);
});

test('kill -s, wait, and exit codes from signals', async () => {
  // With --init the signal reaches sleep (as PID 1 it would ignore TERM, in Docker too).
  await dockerOk(d, ['run', '-d', '--init', '--name', 'victim', 'busybox', 'sleep', '300']);
  const waiter = docker(d, ['wait', 'victim']);
  await sleep(200);
  await dockerOk(d, ['kill', '-s', 'TERM', 'victim']);
  const w = await waiter;
  assert.equal(w.stdout.trim(), '143');
  const notRunning = await docker(d, ['kill', 'victim']);
  assert.notEqual(notRunning.code, 0);
  assert.match(
    notRunning.stderr,
    /^Error response from daemon: Cannot kill container: victim: Container [0-9a-f]{64} is not running$/m,
  );
  await dockerOk(d, ['rm', 'victim']);
  const missing = await docker(d, ['kill', 'victim']);
  assert.match(
    missing.stderr,
    /^Error response from daemon: Cannot kill container: victim: No such container: victim$/m,
  );
  // As dockerd names an image it cannot find: the familiar reference with its default tag.
  for (const cmd of [['rmi'], ['tag'], ['history']])
    assert.match(
      (await docker(d, [...cmd, 'nosuch-image', ...(cmd[0] === 'tag' ? ['x'] : [])])).stderr,
      /^Error response from daemon: No such image: nosuch-image:latest$/m,
    );
});

test('kill with SIGKILL through the API, then inspect at once: stopped, with exit code 137', async () => {
  for (let i = 0; i < 3; i++) {
    await dockerOk(d, ['run', '-d', '--name', `killed${i}`, 'busybox', 'sleep', '300']);
    const k = await api(d, 'POST', `/containers/killed${i}/kill?signal=SIGKILL`);
    assert.equal(k.status, 204, k.body);
    const st = (
      JSON.parse((await api(d, 'GET', `/containers/killed${i}/json`)).body) as {
        State: { Running: boolean; ExitCode: number };
      }
    ).State;
    assert.equal(st.Running, false);
    assert.equal(st.ExitCode, 137);
    await dockerOk(d, ['rm', `killed${i}`]);
  }
});

test('names: in use, rename, and invalid', async () => {
  await dockerOk(d, ['create', '--name', 'taken', 'busybox', 'true']);
  const dup = await docker(d, ['create', '--name', 'taken', 'busybox', 'true']);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /Conflict\. The container name "\/taken" is already in use by container/);
  await dockerOk(d, ['rename', 'taken', 'renamed']);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.Name}}', 'renamed'])).trim(), '/renamed');
  // The old name is free again, and the old name no longer finds the renamed container.
  assert.match((await docker(d, ['inspect', '-f', '{{.Name}}', 'taken'])).stderr, /No such object: taken/);
  await dockerOk(d, ['create', '--name', 'taken', 'busybox', 'true']);
  await dockerOk(d, ['rm', 'taken']);
  const bad = await docker(d, ['create', '--name', 'bad name!', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Invalid container name \(bad name!\)/);
  // rename says it as dockerd's rename does.
  assert.match(
    (await docker(d, ['rename', 'renamed', 'x y'])).stderr,
    /^Error response from daemon: Error when allocating new name: Invalid container name \(\/x y\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_\.-\] are allowed$/m,
  );
  await dockerOk(d, ['rm', 'renamed']);
});

test('run options: env, env-file, workdir, user, hostname, labels', async () => {
  const envFile = join(d.root, 'env.list');
  writeFileSync(envFile, 'FROM_FILE=yes\n# comment\n');
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '-e',
    'A=1',
    '--env-file',
    envFile,
    '-w',
    '/tmp',
    '-u',
    'nobody',
    '--hostname',
    'boxy',
    '--label',
    'team=core',
    'busybox',
    'sh',
    '-c',
    'echo $A $FROM_FILE; pwd; id -u; hostname; cat /etc/hostname',
  ]);
  assert.equal(out, '1 yes\n/tmp\n65534\nboxy\nboxy\n');
  const id = (await dockerOk(d, ['create', '--label', 'team=core', 'busybox'])).trim();
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{index .Config.Labels "team"}}', id])).trim(), 'core');
  const ids = await dockerOk(d, ['ps', '-aq', '--no-trunc', '--filter', 'label=team=core']);
  assert.equal(ids.trim(), id);
  await dockerOk(d, ['rm', id]);
});

test('ENTRYPOINT and CMD combine by Docker rules', async () => {
  assert.equal(await dockerOk(d, ['run', '--rm', '--entrypoint', 'echo', 'busybox', 'a', 'b']), 'a b\n');
  // --entrypoint clears the image CMD ("sh" for busybox): echo prints an empty line.
  assert.equal(await dockerOk(d, ['run', '--rm', '--entrypoint', 'echo', 'busybox']), '\n');
  // --entrypoint "" clears both: with no command given there is nothing to run.
  assert.equal(await dockerOk(d, ['run', '--rm', '--entrypoint', '', 'busybox', 'echo', 'hi']), 'hi\n');
  const nothing = await docker(d, ['run', '--rm', '--entrypoint', '', 'busybox']);
  assert.equal(nothing.code, 125);
  assert.match(nothing.stderr, /no command specified/i);
  const inspect = JSON.parse(await dockerOk(d, ['inspect', (await dockerOk(d, ['create', 'busybox'])).trim()]))[0];
  assert.equal(inspect.Path, 'sh');
  assert.deepEqual(inspect.Args, []);
  assert.deepEqual(inspect.Config.Cmd, ['sh']);
  await dockerOk(d, ['rm', inspect.Id]);
});

test("Docker's security defaults: capabilities, seccomp, masked and read-only paths", async () => {
  const status = await dockerOk(d, [
    'run',
    '--rm',
    'busybox',
    'grep',
    '-E',
    '^(CapEff|CapBnd|Seccomp|NoNewPrivs):',
    '/proc/self/status',
  ]);
  assert.match(status, /CapEff:\s+00000000a80425fb/);
  assert.match(status, /CapBnd:\s+00000000a80425fb/);
  assert.match(status, /Seccomp:\s+2/);
  assert.match(status, /NoNewPrivs:\s+0/);
  const nnp = await dockerOk(d, [
    'run',
    '--rm',
    '--security-opt',
    'no-new-privileges',
    'busybox',
    'grep',
    'NoNewPrivs',
    '/proc/self/status',
  ]);
  assert.match(nnp, /NoNewPrivs:\s+1/);
  // /proc/keys is masked (an empty /dev/null); /proc/kcore does not exist on every kernel.
  const masked = await dockerOk(d, [
    'run',
    '--rm',
    'busybox',
    'sh',
    '-c',
    'wc -c < /proc/keys; echo 1 > /proc/sys/kernel/domainname && echo writable || echo readonly',
  ]);
  assert.equal(masked.replace(/[ \t]+/g, ''), '0\nreadonly\n');
  const mknod = await docker(d, ['run', '--rm', 'busybox', 'sh', '-c', 'mknod /tmp/sda b 8 0 && head -c1 /tmp/sda']);
  assert.notEqual(mknod.code, 0, 'the device cgroup denies block devices that are not allowed');
  const drop = await dockerOk(d, [
    'run',
    '--rm',
    '--cap-drop',
    'ALL',
    '--cap-add',
    'NET_ADMIN',
    'busybox',
    'grep',
    'CapEff',
    '/proc/self/status',
  ]);
  assert.match(drop, /CapEff:\s+0000000000001000/);
  const priv = await dockerOk(d, [
    'run',
    '--rm',
    '--privileged',
    'busybox',
    'grep',
    '-E',
    '^(CapEff|Seccomp):',
    '/proc/self/status',
  ]);
  // --privileged gets every capability the host itself holds (its bounding set).
  const hostBnd = readFileSync('/proc/self/status', 'utf8').match(/^CapBnd:\s*(\S+)$/m)![1];
  assert.match(priv, new RegExp(`CapEff:\\s+${hostBnd}`));
  assert.match(priv, /Seccomp:\s+0/);
});

test('resource limits land in the cgroups', async () => {
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--memory',
    '64m',
    '--pids-limit',
    '50',
    '--cpus',
    '0.5',
    'busybox',
    'sh',
    '-c',
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max',
  ]);
  const [mem, pids, cpu] = out.trim().split('\n');
  assert.equal(mem, String(64 * 1024 * 1024));
  assert.equal(pids, '50');
  assert.match(cpu!, /^50000( 100000)?$/);
  const ul = await dockerOk(d, [
    'run',
    '--rm',
    '--ulimit',
    'nofile=1024:2048',
    'busybox',
    'sh',
    '-c',
    'ulimit -n; ulimit -Hn',
  ]);
  assert.equal(ul, '1024\n2048\n');
});

test("after run --rm, and once a container has stopped, neither its cgroups nor the runtime's state of it remain", async () => {
  // In either layout (v1: one per hierarchy, name=systemd's among them; v2: one tree).
  const leftovers = (id: string) =>
    ['', ...readdirSync('/sys/fs/cgroup')]
      .map((root) => join('/sys/fs/cgroup', root, 'berth', id))
      .concat(join(d.root, 'run', 'runc', id))
      .filter((p) => existsSync(p));
  const cidfile = join(d.root, 'reap.cid');
  await dockerOk(d, ['run', '--rm', '--cidfile', cidfile, 'busybox', 'true']);
  const removed = readFileSync(cidfile, 'utf8').trim();
  // The runtime's delete comes a moment after the answer, in the background.
  await eventually(() => leftovers(removed).length === 0, 10_000, 100);
  assert.deepEqual(leftovers(removed), []);
  const stopped = (await dockerOk(d, ['run', '-d', '--name', 'reap-stopped', 'busybox', 'sleep', '1000'])).trim();
  assert.ok(leftovers(stopped).length > 1, 'a running container has its cgroups and state');
  // As dockerd deletes the task when it ends, its runtime state goes when it stops.
  await dockerOk(d, ['stop', '-t', '0', 'reap-stopped']);
  await eventually(() => leftovers(stopped).length === 0, 10_000, 100);
  assert.deepEqual(leftovers(stopped), []);
  await dockerOk(d, ['rm', 'reap-stopped']);
  assert.deepEqual(leftovers(stopped), []);
});

test('--read-only, --network none and host, --init', async () => {
  const ro = await docker(d, ['run', '--rm', '--read-only', 'busybox', 'touch', '/x']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  const none = await dockerOk(d, ['run', '--rm', '--network', 'none', 'busybox', 'ls', '/sys/class/net']);
  assert.equal(none.trim(), 'lo');
  const hostIfs = await dockerOk(d, ['run', '--rm', '--network', 'host', 'busybox', 'ls', '/sys/class/net']);
  assert.ok(hostIfs.trim().split(/\s+/).length > 1, 'host networking sees the host interfaces');
  const init = await dockerOk(d, ['run', '--rm', '--init', 'busybox', 'cat', '/proc/1/cmdline']);
  assert.match(init.replace(/\0/g, ' '), /^\/sbin\/docker-init -- cat \/proc\/1\/cmdline/);
});

test('inspect shows State in Docker shape, top lists processes, prune removes stopped', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'inspected', 'busybox', 'sleep', '300']);
  const c = JSON.parse(await dockerOk(d, ['inspect', 'inspected']))[0];
  for (const k of [
    'Status',
    'Running',
    'Paused',
    'Restarting',
    'OOMKilled',
    'Dead',
    'Pid',
    'ExitCode',
    'Error',
    'StartedAt',
    'FinishedAt',
  ]) {
    assert.ok(k in c.State, `State.${k}`);
  }
  assert.equal(c.State.Status, 'running');
  assert.ok(c.State.Pid > 0);
  assert.match(c.State.StartedAt, /^\d{4}-\d\d-\d\dT/);
  const top = await dockerOk(d, ['top', 'inspected']);
  assert.match(top, /^UID\s+PID\s+PPID/m);
  assert.match(top, /sleep 300/);
  // A bad ps option: ps's own first line, without its usage text, as dockerd says it.
  const badPs = await docker(d, ['top', 'inspected', 'bogus-opt']);
  assert.equal(badPs.stderr, 'Error response from daemon: ps: error: unsupported option (BSD syntax)\n');
  await dockerOk(d, ['rm', '-f', 'inspected']);
  await dockerOk(d, ['create', '--name', 'stale', 'busybox', 'true']);
  const pruned = await dockerOk(d, ['container', 'prune', '-f']);
  assert.match(pruned, /Deleted Containers:/);
  assert.equal((await docker(d, ['inspect', 'stale'])).code, 1);
});

test('docker events replays the lifecycle with --since/--until and filters', async () => {
  const since = new Date(Date.now() - 1000).toISOString();
  await dockerOk(d, ['run', '--rm', '--name', 'evented', 'busybox', 'true']);
  const until = new Date(Date.now() + 500).toISOString();
  const out = await dockerOk(d, [
    'events',
    '--since',
    since,
    '--until',
    until,
    '--filter',
    'container=evented',
    '--format',
    '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}',
  ]);
  assert.deepEqual(out.trim().split('\n'), [
    'container create evented',
    'container attach evented',
    'container start evented',
    'container die evented',
    'container destroy evented',
  ]);
});

test('malformed requests get 400 and the daemon carries on', async () => {
  const r = await api(d, 'POST', '/v1.44/containers/create', '{"Image": "busybox", ');
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body).message, /invalid JSON/);
  const noImage = await api(d, 'POST', '/v1.44/containers/create', '{}');
  assert.equal(noImage.status, 400);
  for (const body of [
    '[]',
    '{"Image":"busybox","Cmd":5}',
    '{"Image":"busybox","HostConfig":5}',
    '{"Image":"busybox","Env":"A=1"}',
    '{"Image":"busybox","HostConfig":{"Memory":"lots"}}',
    '{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"bogus","Soft":1,"Hard":2}]}}',
  ]) {
    const r = await api(d, 'POST', '/v1.44/containers/create', body);
    assert.equal(r.status, 400, `${body} → ${r.body}`);
    assert.match(JSON.parse(r.body).message, /invalid/);
  }
  // Fields deeper in the request, other bodies, and query parameters Docker parses strictly.
  await dockerOk(d, ['run', '-d', '--name', 'target', 'busybox', 'sleep', '100']);
  const bad: Array<[string, string, string | undefined, RegExp]> = [
    [
      'POST',
      '/containers/create',
      '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":"8080"}}}',
      /HostConfig\.PortBindings\.80\/tcp must be a list/,
    ],
    [
      'POST',
      '/containers/create',
      '{"Image":"busybox","HostConfig":{"LogConfig":{"Type":"json-file","Config":{"max-size":5}}}}',
      /LogConfig\.Config must be an object of strings/,
    ],
    [
      'POST',
      '/containers/create',
      '{"Image":"busybox","ExposedPorts":{"http":{}}}',
      /invalid port specification: "http"/,
    ],
    [
      'POST',
      '/containers/create',
      '{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"n":true}}}',
      /EndpointsConfig\.n must be an object/,
    ],
    ['POST', '/networks/create', '{"Name":5}', /invalid network config: Name must be a string/],
    ['POST', '/networks/create', '{"Name":"n","IPAM":{"Config":"10.0.0.0/8"}}', /IPAM\.Config must be a list/],
    ['POST', '/volumes/create', '{"Labels":{"a":1}}', /invalid volume config: Labels must be an object of strings/],
    ['POST', '/containers/target/exec', '{"Cmd":["true"],"User":0}', /invalid exec config: User must be a string/],
    [
      'POST',
      '/containers/target/update',
      '{"RestartPolicy":"always"}',
      /invalid update config: RestartPolicy must be an object/,
    ],
    ['POST', '/containers/target/stop?t=soon', undefined, /strconv\.Atoi: parsing "soon": invalid syntax/],
    ['POST', '/containers/target/wait?condition=whenever', undefined, /invalid condition: "whenever"/],
    // Unix timestamps only, as dockerd reads them (clients convert dates and durations).
    ['GET', '/events?since=yesterday', undefined, /strconv\.ParseInt: parsing "yesterday": invalid syntax/],
    ['GET', '/containers/target/logs?stdout=1&since=later', undefined, /strconv\.ParseInt: parsing "later"/],
  ];
  for (const [method, path, body, message] of bad) {
    const r = await api(d, method, `/v1.44${path}`, body, body ? { 'Content-Type': 'application/json' } : {});
    assert.equal(r.status, 400, `${method} ${path} ${body ?? ''} → ${r.status} ${r.body}`);
    assert.match(JSON.parse(r.body).message, message);
  }
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', 'target'])).trim(),
    'running',
    'nothing reached the container',
  );
  assert.doesNotMatch(await dockerOk(d, ['network', 'ls', '--format', '{{.Name}}']), /^(5|n)$/m);
  await dockerOk(d, ['rm', '-f', 'target']);
  const old = await api(d, 'GET', '/v1.12/version');
  assert.equal(old.status, 400);
  assert.match(JSON.parse(old.body).message, /too old/);
  assert.equal((await api(d, 'GET', '/_ping')).status, 200);
});

test('the OCI runtime: info names the default and lists it, containers record it, an unknown one is refused', async () => {
  const info = JSON.parse(await dockerOk(d, ['info', '--format', '{{json .}}'])) as {
    DefaultRuntime: string;
    Runtimes: Record<string, unknown>;
  };
  assert.match(info.DefaultRuntime, /^(crun|runc)$/);
  assert.ok(info.DefaultRuntime in info.Runtimes, JSON.stringify(info.Runtimes));
  await dockerOk(d, ['create', '--name', 'rt', 'busybox', 'true']);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.HostConfig.Runtime}}', 'rt'])).trim(), info.DefaultRuntime);
  const bad = await docker(d, ['run', '--rm', '--runtime', 'nosuch', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unknown or invalid runtime name: nosuch/);
  await dockerOk(d, ['rm', 'rt']);
});

test("namespace and device options: --pid, --ipc and --uts host or another container's, --shm-size, --group-add, --device", async () => {
  const { readlinkSync } = await import('node:fs');
  const os = await import('node:os');
  await dockerOk(d, ['run', '-d', '--name', 'nsowner', 'busybox', 'sleep', '100']);
  const ownerPid = (await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', 'nsowner'])).trim();
  assert.equal(
    await dockerOk(d, [
      'run',
      '--rm',
      '--pid',
      'host',
      'busybox',
      'sh',
      '-c',
      `test -d /proc/${ownerPid} && echo sees-host-pids`,
    ]),
    'sees-host-pids\n',
  );
  assert.equal(
    await dockerOk(d, ['run', '--rm', '--pid', 'container:nsowner', 'busybox', 'cat', '/proc/1/comm']),
    'sleep\n',
  );
  assert.equal(
    (await dockerOk(d, ['run', '--rm', '--ipc', 'host', 'busybox', 'readlink', '/proc/self/ns/ipc'])).trim(),
    readlinkSync('/proc/self/ns/ipc'),
  );
  assert.equal((await dockerOk(d, ['run', '--rm', '--uts', 'host', 'busybox', 'hostname'])).trim(), os.hostname());
  assert.match(
    await dockerOk(d, ['run', '--rm', '--shm-size', '128m', 'busybox', 'df', '-k', '/dev/shm']),
    /\s131072\s/,
  );
  assert.match(
    await dockerOk(d, ['run', '--rm', '--group-add', '1234', '--group-add', 'wheel', 'busybox', 'id', '-G']),
    /^0 (10 1234|1234 10)\n$/,
  );
  assert.equal(
    await dockerOk(d, [
      'run',
      '--rm',
      '--device',
      '/dev/null:/dev/mynull:rw',
      'busybox',
      'sh',
      '-c',
      'stat -c %t:%T /dev/mynull; echo x > /dev/mynull && echo wrote',
    ]),
    '1:3\nwrote\n',
  );
  const notDevice = await docker(d, ['run', '--rm', '--device', '/etc/passwd', 'busybox', 'true']);
  assert.notEqual(notDevice.code, 0);
  assert.match(notDevice.stderr, /not a device node/);
  const stopped = await docker(d, ['run', '--rm', '--pid', 'container:nosuch', 'busybox', 'true']);
  assert.notEqual(stopped.code, 0);
  await dockerOk(d, ['rm', '-f', 'nsowner']);
});

test('--cgroupns private hides the host cgroup paths; what Docker refuses here is refused in its words', async () => {
  // cgroup v1 here: the default is the host's namespace, where the container sees its own path.
  assert.match(
    await dockerOk(d, ['run', '--rm', 'busybox', 'grep', 'pids', '/proc/self/cgroup']),
    /:pids:\/berth\/[0-9a-f]{64}\n$/,
  );
  assert.match(
    await dockerOk(d, ['run', '--rm', '--cgroupns', 'private', 'busybox', 'grep', 'pids', '/proc/self/cgroup']),
    /^\d+:pids:\/\n$/,
  );
  await dockerOk(d, ['create', '--name', 'cgns', '--cgroupns', 'private', 'busybox', 'true']);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.HostConfig.CgroupnsMode}}', 'cgns'])).trim(), 'private');
  await dockerOk(d, ['rm', 'cgns']);
  const refused: Array<[string[], RegExp]> = [
    [['--ip', '10.1.2.3'], /user specified IP address is supported on user defined networks only/],
    [['--gpus', 'all'], /could not select device driver "" with capabilities: \[\[gpu\]\]/],
    [['--storage-opt', 'size=1G'], /--storage-opt is supported only for overlay over xfs with 'pquota' mount option/],
  ];
  for (const [flags, message] of refused) {
    const r = await docker(d, ['run', '--rm', ...flags, 'busybox', 'true']);
    assert.notEqual(r.code, 0, flags.join(' '));
    assert.match(r.stderr, message);
  }
});

test('swarm and plugins: the answers of a Docker daemon that has none', async () => {
  assert.match(await dockerOk(d, ['plugin', 'ls']), /^ID\s+NAME\s+DESCRIPTION\s+ENABLED\n$/);
  assert.match((await docker(d, ['plugin', 'inspect', 'vieux/sshfs'])).stderr, /plugin "vieux\/sshfs" not found/);
  assert.match((await docker(d, ['plugin', 'install', 'vieux/sshfs'])).stderr, /plugins are not supported by Berth/);
  for (const cmd of [
    ['node', 'ls'],
    ['service', 'ls'],
    ['secret', 'ls'],
    ['config', 'ls'],
  ]) {
    const r = await docker(d, cmd);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/,
      cmd.join(' '),
    );
  }
  assert.match((await docker(d, ['swarm', 'init'])).stderr, /swarm mode is not supported by Berth/);
  assert.match((await docker(d, ['swarm', 'leave'])).stderr, /This node is not part of a swarm/);
  assert.match(await dockerOk(d, ['info']), /Swarm: inactive/);
});

test("users and groups come from the image, and from the container's own /etc once it changed it", async () => {
  // The image's answer, twice (the second from what the first start learned).
  for (let i = 0; i < 2; i++) {
    assert.equal(await dockerOk(d, ['run', '--rm', 'busybox', 'id', '-G']), '0 10\n');
    assert.equal(await dockerOk(d, ['run', '--rm', '-u', 'daemon', 'busybox', 'id', '-u']), '1\n');
  }
  // A container that rewrote /etc/group gets its own groups at its next start.
  const rewrite = 'printf "root:x:0:\\nextra:x:99:root\\n" > /etc/group; id -G';
  assert.equal(await dockerOk(d, ['run', '--name', 'own-groups', 'busybox', 'sh', '-c', rewrite]), '0 10\n');
  assert.equal(await dockerOk(d, ['start', '-a', 'own-groups']), '0 99\n');
  await dockerOk(d, ['rm', 'own-groups']);
});

test('the primary group is among the supplementary ones, in runs and execs, as dockerd sets them (CVE-2023-25173)', async () => {
  const groups = (out: string) => /^Groups:\t(.*?)\s*$/m.exec(out)?.[1];
  const status = ['cat', '/proc/self/status'];
  assert.equal(groups(await dockerOk(d, ['run', '--rm', 'busybox', ...status])), '0 10');
  assert.equal(groups(await dockerOk(d, ['run', '--rm', '-u', '1000:1000', 'busybox', ...status])), '1000');
  assert.equal(
    groups(await dockerOk(d, ['run', '--rm', '-u', 'daemon', '--group-add', '5', 'busybox', ...status])),
    '1 5',
  );
  const c = (await dockerOk(d, ['run', '-d', 'busybox', 'sleep', '60'])).trim();
  assert.equal(groups(await dockerOk(d, ['exec', '-u', '1000:1000', c, ...status])), '1000');
  assert.equal(groups(await dockerOk(d, ['exec', c, ...status])), '0 10');
  await dockerOk(d, ['rm', '-f', c]);
});
