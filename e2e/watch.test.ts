/**
 * Watching and tuning running containers through the real `docker` CLI: `docker stats` from
 * the container's cgroups, `docker update` of limits and restart policy.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cleanup,
  docker,
  dockerOk,
  berth,
  eventually,
  sleep,
  DOCKER,
  startDaemonWithBusybox,
  type Daemon,
} from './harness.ts';

let d: Daemon;
before(async () => (d = await startDaemonWithBusybox()));
after(() => cleanup(d));

const cgroupFile = async (name: string, file: string) => {
  const id = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', name])).trim();
  const { readFileSync } = await import('node:fs');
  return readFileSync(`/sys/fs/cgroup/${file.split('.')[0]}/berth/${id}/${file}`, 'utf8').trim();
};

test('docker stats --no-stream: CPU, memory against the limit, PIDs; a stopped container shows zeros', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'spinner',
    '--memory',
    '64m',
    'busybox',
    'sh',
    '-c',
    'while :; do :; done',
  ]);
  await dockerOk(d, ['run', '-d', '--name', 'sleeper', 'busybox', 'sh', '-c', 'sleep 100 & sleep 100 & wait']);
  await dockerOk(d, ['create', '--name', 'stopped', 'busybox', 'true']);
  // `run -d` answers once sh has started, not once it has started its two sleeps: wait for
  // them (a fixed half second stood in for that), and the busy loop has had its CPU meanwhile.
  assert.ok(
    await eventually(async () => (await dockerOk(d, ['top', 'sleeper'])).match(/ sleep 100$/gm)?.length === 2, 20_000),
    'the sleeper has started its two sleeps',
  );
  const lines = (
    await dockerOk(d, [
      'stats',
      '--no-stream',
      '-a',
      '--format',
      '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}|{{.NetIO}}',
    ])
  )
    .trim()
    .split('\n');
  const row = (name: string) => lines.find((l) => l.startsWith(`${name}|`))!.split('|');
  const spin = row('spinner');
  // How much of a CPU a busy loop gets depends on the machine's load: clearly some, and more than a sleeper.
  assert.ok(parseFloat(spin[1]!) > 5, `a busy loop uses CPU: ${spin[1]}`);
  assert.match(spin[2]!, /^[\d.]+[KMG]?i?B \/ 64MiB$/);
  assert.equal(spin[3], '1');
  const sleeper = row('sleeper');
  assert.ok(
    parseFloat(sleeper[1]!) < parseFloat(spin[1]!),
    `sleeping uses less CPU than spinning: ${sleeper[1]} vs ${spin[1]}`,
  );
  assert.equal(sleeper[3], '3');
  const stopped = row('stopped');
  assert.deepEqual(stopped.slice(1), ['0.00%', '0B / 0B', '0', '0B / 0B']);
});

test('docker stats streams a sample a second', async () => {
  const p = spawn(DOCKER, ['stats', '--format', '{{.Name}} {{.PIDs}}', 'spinner'], {
    env: { ...process.env, DOCKER_HOST: d.host },
  });
  let out = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await sleep(3500);
  // The CLI's stats loop ignores SIGTERM.
  p.kill('SIGKILL');
  const samples = out.split('spinner 1').length - 1;
  assert.ok(samples >= 2, `several samples in 3.5 s: ${JSON.stringify(out)}`);
});

test('docker update changes memory, CPU and pids limits of a running container, and its restart policy', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'tuned', '--memory', '64m', 'busybox', 'sleep', '100']);
  await dockerOk(d, [
    'update',
    '--memory',
    '128m',
    '--memory-swap',
    '256m',
    '--cpus',
    '0.5',
    '--pids-limit',
    '50',
    '--restart',
    'on-failure:3',
    'tuned',
  ]);
  assert.equal(await cgroupFile('tuned', 'memory.limit_in_bytes'), String(128 * 1024 * 1024));
  assert.equal(await cgroupFile('tuned', 'cpu.cfs_quota_us'), '50000');
  assert.equal(await cgroupFile('tuned', 'pids.max'), '50');
  const inspected = await dockerOk(d, [
    'inspect',
    '-f',
    '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}',
    'tuned',
  ]);
  assert.equal(inspected.trim(), `${128 * 1024 * 1024} 500000000 50 on-failure:3`);
  const ev = await dockerOk(d, [
    'events',
    '--since',
    '1m',
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'event=update',
    '--format',
    '{{.Actor.Attributes.name}}',
  ]);
  assert.match(ev, /^tuned$/m);
  // The limits outlive a restart of the container.
  await dockerOk(d, ['restart', '-t', '0', 'tuned']);
  assert.equal(await cgroupFile('tuned', 'memory.limit_in_bytes'), String(128 * 1024 * 1024));

  await dockerOk(d, ['update', '--pids-limit', '-1', 'tuned']);
  assert.ok(
    Number(await cgroupFile('tuned', 'pids.max')) >= 4_000_000 || (await cgroupFile('tuned', 'pids.max')) === 'max',
    'the pids limit is lifted',
  );
  const tooSmall = await docker(d, ['update', '--memory', '1m', 'tuned']);
  assert.notEqual(tooSmall.code, 0);
  assert.match(tooSmall.stderr, /Minimum memory limit allowed is 6MB/);
  const rm = await docker(d, ['run', '-d', '--rm', '--name', 'ephemeral', 'busybox', 'sleep', '100']);
  assert.equal(rm.code, 0);
  const conflict = await docker(d, ['update', '--restart', 'always', 'ephemeral']);
  assert.notEqual(conflict.code, 0);
  assert.match(conflict.stderr, /Restart policy cannot be updated because AutoRemove is enabled for the container/);
  const missing = await docker(d, ['update', '--memory', '64m', 'nosuch']);
  assert.match(missing.stderr, /No such container: nosuch/);
  await docker(d, ['rm', '-f', 'ephemeral', 'tuned']);
});

test('health checks: starting, healthy, unhealthy after the retries, in ps, inspect, filters and events', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'checked',
    '--health-cmd',
    'test -e /tmp/ok && echo fine',
    '--health-interval',
    '200ms',
    '--health-retries',
    '2',
    '--health-timeout',
    '2s',
    'busybox',
    'sh',
    '-c',
    'sleep 1; touch /tmp/ok; sleep 100',
  ]);
  assert.match(
    await dockerOk(d, ['ps', '--filter', 'name=checked', '--format', '{{.Status}}']),
    /\(health: starting\)/,
  );
  await eventually(
    async () => /\(healthy\)/.test(await dockerOk(d, ['ps', '--filter', 'name=checked', '--format', '{{.Status}}'])),
    10_000,
  );
  const healthy = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .State.Health}}', 'checked']));
  assert.equal(healthy.Status, 'healthy');
  assert.equal(healthy.FailingStreak, 0);
  assert.ok(healthy.Log.length >= 1 && healthy.Log.length <= 5);
  assert.deepEqual([healthy.Log.at(-1).ExitCode, healthy.Log.at(-1).Output], [0, 'fine\n']);

  await dockerOk(d, ['exec', 'checked', 'rm', '/tmp/ok']);
  await eventually(
    async () => (await dockerOk(d, ['inspect', '-f', '{{.State.Health.Status}}', 'checked'])).trim() === 'unhealthy',
    10_000,
  );
  const unhealthy = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .State.Health}}', 'checked']));
  assert.ok(unhealthy.FailingStreak >= 2);
  assert.equal(unhealthy.Log.at(-1).ExitCode, 1);
  assert.equal((await dockerOk(d, ['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}'])).trim(), 'checked');
  const events = await dockerOk(d, [
    'events',
    '--since',
    '1m',
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'container=checked',
    '--format',
    '{{.Action}}',
  ]);
  assert.match(events, /^health_status: healthy$/m);
  assert.match(events, /^health_status: unhealthy$/m);
  await dockerOk(d, ['rm', '-f', 'checked']);
});

test('a probe past its timeout fails; the image HEALTHCHECK applies unless --no-healthcheck', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'slowprobe',
    '--health-cmd',
    'sleep 5',
    '--health-interval',
    '200ms',
    '--health-timeout',
    '300ms',
    '--health-retries',
    '1',
    'busybox',
    'sleep',
    '100',
  ]);
  await eventually(
    async () => (await dockerOk(d, ['inspect', '-f', '{{.State.Health.Status}}', 'slowprobe'])).trim() === 'unhealthy',
    10_000,
  );
  const log = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .State.Health.Log}}', 'slowprobe']));
  assert.deepEqual([log.at(-1).ExitCode, log.at(-1).Output], [-1, 'Health check exceeded timeout (300ms)']);
  await dockerOk(d, ['rm', '-f', 'slowprobe']);

  await dockerOk(d, ['create', '--name', 'hcbase', 'busybox', 'true']);
  await dockerOk(d, ['commit', '-c', 'HEALTHCHECK --interval=200ms --retries=1 CMD ["true"]', 'hcbase', 'healthy:1']);
  await dockerOk(d, ['run', '-d', '--name', 'fromimage', 'healthy:1', 'sleep', '100']);
  await eventually(
    async () => (await dockerOk(d, ['inspect', '-f', '{{.State.Health.Status}}', 'fromimage'])).trim() === 'healthy',
    10_000,
  );
  await dockerOk(d, ['run', '-d', '--name', 'optedout', '--no-healthcheck', 'healthy:1', 'sleep', '100']);
  await sleep(600);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Health}}', 'optedout'])).trim(), '<nil>');
  await dockerOk(d, ['rm', '-f', 'fromimage', 'optedout', 'hcbase']);
});

test('berth update, stats, diff, cp and commit behave like docker', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'viaberth', 'busybox', 'sh', '-c', 'echo x > /x; sleep 100']);
  const up = await berth(d, ['update', '--memory', '96m', '--restart', 'unless-stopped', 'viaberth']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stdout, 'viaberth\n');
  assert.equal(await cgroupFile('viaberth', 'memory.limit_in_bytes'), String(96 * 1024 * 1024));
  const none = await berth(d, ['update', 'viaberth']);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /you must provide one or more flags when using this command/);
  const bad = await berth(d, ['update', '--memory', '1m', 'viaberth', 'nosuch']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
  assert.match(bad.stderr, /No such container: nosuch/);
  await eventually(async () => (await berth(d, ['diff', 'viaberth'])).stdout.includes('A /x'));
  const stats = await berth(d, ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', 'viaberth']);
  assert.match(stats.stdout, /^viaberth [\d.]+[KMG]?i?B \/ 96MiB\n$/);
  const img = await berth(d, ['commit', 'viaberth', 'fromberth:1']);
  assert.match(img.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'fromberth:1', 'cat', '/x']), 'x\n');
  await dockerOk(d, ['rm', '-f', 'viaberth']);
});

test('a container past its --memory is OOM-killed: exit 137, OOMKilled, an oom event', async () => {
  const r = await docker(d, [
    'run',
    '--name',
    'hog',
    '--memory',
    '8m',
    '--memory-swap',
    '8m',
    'busybox',
    'sh',
    '-c',
    'tail /dev/zero',
  ]);
  assert.equal(r.code, 137);
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}', 'hog'])).trim(),
    'true 137 exited',
  );
  const ev = await dockerOk(d, [
    'events',
    '--since',
    '1m',
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'container=hog',
    '--format',
    '{{.Action}}',
  ]);
  assert.match(ev, /^oom\ndie$/m);
  await dockerOk(d, ['rm', 'hog']);
});

test('inspect --size, ps --size and system df count what containers wrote and what images hold', async () => {
  await dockerOk(d, ['run', '--name', 'writer', 'busybox', 'sh', '-c', 'head -c 300000 /dev/zero > /blob']);
  const [rw, rootfs] = (await dockerOk(d, ['inspect', '--size', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'writer']))
    .trim()
    .split(' ')
    .map(Number);
  const imageSize = Number((await dockerOk(d, ['image', 'inspect', '-f', '{{.Size}}', 'busybox'])).trim());
  assert.ok(rw! >= 300000 && rw! < 400000, `SizeRw ${rw}`);
  assert.equal(rootfs, rw! + imageSize);
  assert.match(
    await dockerOk(d, ['ps', '-a', '--size', '--filter', 'name=writer', '--format', '{{.Size}}']),
    /^30\dkB \(virtual [\d.]+MB\)\n$/,
  );
  const df = await dockerOk(d, ['system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Size}}']);
  assert.match(df, /^Images \d+ [\d.]+[kMG]?B$/m);
  assert.match(df, /^Containers \d+ [\d.]+[kMG]?B$/m);
  const verbose = await dockerOk(d, ['system', 'df', '-v']);
  assert.match(verbose, /writer/);
  assert.match(verbose, /busybox/);
  await dockerOk(d, ['rm', 'writer']);
});

test("a file with two hard links counts once, alike in ps --size, system df and a volume's size", async () => {
  await dockerOk(d, [
    'run',
    '--name',
    'linker',
    '-v',
    'linkvol:/v',
    'busybox',
    'sh',
    '-c',
    'head -c 200000 /dev/zero > /blob && ln /blob /blob2 && cp /blob /v/blob && ln /v/blob /v/blob2',
  ]);
  const rw = Number((await dockerOk(d, ['inspect', '--size', '-f', '{{.SizeRw}}', 'linker'])).trim());
  assert.ok(rw >= 200000 && rw < 300000, `SizeRw ${rw}: the linked file once`);
  const ps = (await dockerOk(d, ['ps', '-a', '--size', '--filter', 'name=linker', '--format', '{{.Size}}'])).trim();
  const df = JSON.parse(await dockerOk(d, ['system', 'df', '-v', '--format', '{{json .Containers}}'])) as Array<{
    Names: string;
    Size: string;
  }>;
  const row = df.find((c) => c.Names === 'linker');
  assert.ok(row, JSON.stringify(df));
  assert.equal(ps.split(' ')[0], row.Size.split(' ')[0], 'ps --size and system df -v show one size');
  const vols = JSON.parse(await dockerOk(d, ['system', 'df', '-v', '--format', '{{json .Volumes}}'])) as Array<{
    Name: string;
    Size: string;
  }>;
  assert.equal(vols.find((v) => v.Name === 'linkvol')?.Size, '200kB');
  await dockerOk(d, ['rm', '-v', 'linker']);
  await dockerOk(d, ['volume', 'rm', 'linkvol']);
});

test('log rotation: max-size and max-file keep the newest lines, in order, across files; logs --tail spans them', async () => {
  const script =
    'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); [ $((i % 100)) = 0 ] && sleep 0.05; done; sleep 100';
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'chatty',
    '--log-opt',
    'max-size=10k',
    '--log-opt',
    'max-file=3',
    'busybox',
    'sh',
    '-c',
    script,
  ]);
  await eventually(async () => (await dockerOk(d, ['logs', '--tail', '1', 'chatty'])) === 'line 1999\n', 15_000);
  const lines = (await dockerOk(d, ['logs', 'chatty']))
    .trim()
    .split('\n')
    .map((l) => Number(l.replace('line ', '')));
  const first = lines[0]!;
  assert.ok(first > 0, 'the oldest lines are gone');
  assert.deepEqual(
    lines,
    Array.from({ length: 2000 - first }, (_, k) => first + k),
    'what is kept is whole and in order',
  );
  const dir = (await dockerOk(d, ['inspect', '-f', '{{.LogPath}}', 'chatty'])).trim().replace(/\/[^/]+$/, '');
  const { readdirSync, statSync } = await import('node:fs');
  const files = readdirSync(dir)
    .filter((n) => /^container\.log(\.\d+)?$/.test(n))
    .sort();
  assert.deepEqual(files, ['container.log', 'container.log.1', 'container.log.2']);
  for (const f of files) assert.ok(statSync(`${dir}/${f}`).size <= 10 * 1024 + 200, `${f} is capped`);
  const tail = (await dockerOk(d, ['logs', '--tail', String(lines.length - 5), 'chatty'])).trim().split('\n');
  assert.equal(tail[0], `line ${first + 5}`);
  assert.equal(tail.length, lines.length - 5);

  // max-file alone is accepted, as dockerd 20.10's json-file takes it; a count below 1 is not.
  assert.equal(
    (await dockerOk(d, ['run', '--rm', '--log-opt', 'max-file=2', 'busybox', 'echo', 'kept'])).trim(),
    'kept',
  );
  const bad = await docker(d, ['run', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=0', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /max-file cannot be less than 1/);
  const unknown = await docker(d, ['run', '--log-opt', 'colour=blue', 'busybox', 'true']);
  assert.match(unknown.stderr, /unknown log opt 'colour' for json-file log driver/);
  await dockerOk(d, ['rm', '-f', 'chatty']);
});

test(
  'docker logs -f across rotations: a follower attached before a burst gets every line once, in order, as docker logs does',
  // Under conmon, berthd's LogRotator keeps the files: a burst replaces the log faster than it links them.
  { skip: process.env.BERTH_E2E_MONITOR === 'conmon' && 'conmon does not rotate by itself' },
  async () => {
    // 3000 lines as fast as the shell writes them through a 10k cap (some 14 rotations, faster
    // than the follower reads); max-file keeps them all.
    const script = 'sleep 2; i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done';
    await dockerOk(d, [
      'run',
      '-d',
      '--name',
      'burst',
      '--log-opt',
      'max-size=10k',
      '--log-opt',
      'max-file=100',
      'busybox',
      'sh',
      '-c',
      script,
    ]);
    const followed = await docker(d, ['logs', '-f', 'burst'], { timeoutMs: 60_000 });
    assert.equal(followed.code, 0, followed.stderr);
    const want = Array.from({ length: 3000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    assert.equal(followed.stdout, want, 'the follower lost or repeated lines');
    assert.equal(await dockerOk(d, ['logs', 'burst']), want);
    await dockerOk(d, ['rm', '-f', 'burst']);
  },
);

test('--log-driver none: attached output still arrives, docker logs is refused as Docker refuses it', async () => {
  assert.equal(
    await dockerOk(d, ['run', '--rm', '--log-driver', 'none', 'busybox', 'echo', 'seen by the attached client']),
    'seen by the attached client\n',
  );
  // (The docker CLI itself refuses --log-opt with the none driver.)
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'quiet',
    '--log-driver',
    'none',
    'busybox',
    'sh',
    '-c',
    'echo hi; sleep 100',
  ]);
  assert.equal(
    (
      await dockerOk(d, [
        'inspect',
        '-f',
        '{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}',
        'quiet',
      ])
    ).trim(),
    'none {}',
  );
  const r = await docker(d, ['logs', 'quiet']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /configured logging driver does not support reading/);
  // The log options of other containers are shown as given.
  await dockerOk(d, ['create', '--name', 'sized', '--log-opt', 'max-size=2m', 'busybox', 'true']);
  assert.equal(
    (
      await dockerOk(d, [
        'inspect',
        '-f',
        '{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}',
        'sized',
      ])
    ).trim(),
    'json-file {"max-size":"2m"}',
  );
  await dockerOk(d, ['rm', '-f', 'quiet', 'sized']);
});

test('pause freezes the container in its freezer cgroup, shown as Paused; unpause thaws it', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'frozen',
    'busybox',
    'sh',
    '-c',
    'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done',
  ]);
  const pid = Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', 'frozen'])).trim());
  const { existsSync, readFileSync } = await import('node:fs');
  // The shell has counted once: `run -d` answers when it has started, not when it has run.
  await eventually(() => existsSync(`/proc/${pid}/root/tmp/n`));
  await dockerOk(d, ['pause', 'frozen']);
  assert.match(await dockerOk(d, ['ps', '--filter', 'name=frozen', '--format', '{{.Status}}']), /^Up .* \(Paused\)\n$/);
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'frozen'])).trim(),
    'paused true',
  );
  assert.equal(await cgroupFile('frozen', 'freezer.state'), 'FROZEN');
  const counter = () => readFileSync(`/proc/${pid}/root/tmp/n`, 'utf8');
  const before = counter();
  await sleep(300);
  assert.equal(counter(), before, 'nothing runs while frozen');
  await dockerOk(d, ['unpause', 'frozen']);
  await eventually(() => counter() !== before);
  assert.equal(await cgroupFile('frozen', 'freezer.state'), 'THAWED');
  const again = await docker(d, ['unpause', 'frozen']);
  assert.match(again.stderr, /is not paused/);
  await dockerOk(d, ['rm', '-f', 'frozen']);
});

test('docker kill of a paused container ends it, as dockerd does: it is resumed after the signal', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'pkill', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['pause', 'pkill']);
  await dockerOk(d, ['kill', 'pkill']);
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Paused}}', 'pkill'])).trim(),
    'exited 137 false',
  );
  // With --init the TERM reaches sleep (as PID 1 it would ignore it, in Docker too).
  await dockerOk(d, ['run', '-d', '--init', '--name', 'pterm', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['pause', 'pterm']);
  await dockerOk(d, ['kill', '-s', 'TERM', 'pterm']);
  assert.equal((await dockerOk(d, ['wait', 'pterm'])).trim(), '143');
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Paused}}', 'pterm'])).trim(), 'false');
  await dockerOk(d, ['rm', 'pkill', 'pterm']);
});

test('berth update of limits alone leaves the restart policy as it was', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'keeps', '--restart', 'always', 'busybox', 'sleep', '100']);
  const r = await berth(d, ['update', '--cpus', '0.5', 'keeps']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    (
      await dockerOk(d, ['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.NanoCpus}}', 'keeps'])
    ).trim(),
    'always 500000000',
  );
  await dockerOk(d, ['rm', '-f', 'keeps']);
});
