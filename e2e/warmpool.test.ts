/**
 * The warm pool (`berthd --warm-pool N`) through the docker CLI: containers that take a pooled
 * sandbox share nothing with each other, look and behave as containers made without the pool,
 * requests that do not fit get a task of their own, `--warm-pool 0` makes none, and a daemon's
 * stop or SIGKILL leaves no sandbox behind. A container came from the pool when its ID is one
 * of the sandboxes' directories that were there before its create.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  startDaemon,
  startDaemonWithBusybox,
  bootstrapBusybox,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  eventually,
  type Daemon,
} from './harness.ts';

/** The bridge of the daemon whose pool holds sandboxes on the default bridge. */
const BRIDGE = `bwp${process.pid % 100000}`;
let d: Daemon;
let cold: Daemon;
let br: Daemon;
before(async () => {
  d = await startDaemonWithBusybox(['--warm-pool', '2']);
  cold = await startDaemonWithBusybox(['--warm-pool', '0']);
  br = await startDaemonWithBusybox(['--warm-pool', '2', '--bridge', BRIDGE]);
});
after(async () => {
  await cleanup(d);
  await cleanup(cold);
  await cleanup(br);
});

const containersDir = (daemon: Daemon) => join(daemon.root, 'data', 'containers');
const dirs = (daemon: Daemon) =>
  existsSync(containersDir(daemon)) ? readdirSync(containersDir(daemon)).filter((n) => /^[0-9a-f]{64}$/.test(n)) : [];

/** The sandboxes the pool holds now: directories of no container (`ps -a`). */
async function sandboxes(daemon: Daemon): Promise<string[]> {
  const ids = new Set((await dockerOk(daemon, ['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean));
  return dirs(daemon).filter((n) => !ids.has(n));
}

/** Waits until the pool holds `n` ready sandboxes (docker info says so), and returns them. */
async function ready(daemon: Daemon, n = 2): Promise<string[]> {
  const full = await eventually(
    async () => (await dockerOk(daemon, ['info'])).includes(`Warm pool: ${n} of 2 ready`),
    30_000,
  );
  assert.ok(full, `the pool did not fill: ${await dockerOk(daemon, ['info'])}`);
  return sandboxes(daemon);
}

/** The processes whose command line names `path` (monitors and runtimes of a sandbox). */
function processesOf(path: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path)) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

test('docker info shows the warm pool: its ready sandboxes, its size and its image', async () => {
  await ready(d);
  assert.match(await dockerOk(d, ['info']), /Warm pool: 2 of 2 ready \(busybox:latest\)/);
  assert.match(await dockerOk(cold, ['info']), /Warm pool: off/);
});

test('a file, an exported variable and a background process of one pooled container never reach the next', async () => {
  const pool = await ready(d);
  const first = (
    await dockerOk(d, [
      'run',
      '-d',
      '--network',
      'none',
      'busybox',
      'sh',
      '-c',
      'echo secret > /leak; echo secret > /tmp/leak; export LEAK=yes; sleep 1000 & exec sleep 1001',
    ])
  ).trim();
  assert.ok(pool.includes(first), 'the first container came from the pool');
  await eventually(async () => (await dockerOk(d, ['top', first])).includes('sleep 1000'));
  const pool2 = await sandboxes(d);
  const r = await docker(d, [
    'run',
    '--name',
    'second',
    '--network',
    'none',
    'busybox',
    'sh',
    '-c',
    'cat /leak /tmp/leak 2>&1; echo "LEAK=$LEAK"; ps -o pid,args',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const second = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'second'])).trim();
  assert.ok(pool2.includes(second), 'the second container came from the pool');
  assert.match(r.stdout, /cat: can't open '\/leak': No such file or directory/);
  assert.match(r.stdout, /cat: can't open '\/tmp\/leak': No such file or directory/);
  assert.match(r.stdout, /^LEAK=$/m);
  assert.doesNotMatch(r.stdout, /sleep/);
  // Its only process: the shell that is its PID 1 (which ps, its last command, replaced).
  const procs = r.stdout.split('\n').filter((l) => /^\s*\d+ /.test(l));
  assert.deepEqual(
    procs.map((l) => l.trim().split(/\s+/)[0]),
    ['1'],
    r.stdout,
  );
  // Neither the zygote nor its command are left in the container's root.
  assert.equal(await dockerOk(d, ['diff', 'second']), '');
  await dockerOk(d, ['rm', '-f', first, 'second']);
});

test('a pooled container runs the command with the environment, directory and user it was given', async () => {
  const pool = await ready(d);
  const r = await docker(d, [
    'run',
    '--name',
    'who',
    '--network',
    'none',
    '-u',
    'nobody',
    '-w',
    '/made/here',
    '-e',
    'GREETING=hello',
    'busybox',
    'sh',
    '-c',
    'id; pwd; echo "$GREETING $HOME"; hostname; grep CapEff /proc/self/status; cat /proc/1/cmdline | tr "\\0" " "',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const id = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'who'])).trim();
  assert.ok(pool.includes(id), 'it came from the pool');
  const lines = r.stdout.split('\n');
  // As dockerd's: the primary group among the supplementary ones.
  assert.equal(lines[0], 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
  assert.equal(lines[1], '/made/here');
  assert.equal(lines[2], 'hello /home');
  assert.equal(lines[3], id.slice(0, 12));
  assert.equal(lines[4], 'CapEff:\t0000000000000000');
  assert.match(lines[5]!, /^sh -c id; pwd;/);
  await dockerOk(d, ['rm', 'who']);
});

test('on a daemon without a bridge a plain docker run (the default network: lo only) takes a sandbox too', async () => {
  const pool = await ready(d);
  const r = await docker(d, ['run', '--name', 'plain', 'busybox', 'sh', '-c', 'ls /sys/class/net; hostname']);
  assert.equal(r.code, 0, r.stderr);
  const id = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'plain'])).trim();
  assert.ok(pool.includes(id), 'it came from the pool');
  assert.equal(r.stdout, `lo\n${id.slice(0, 12)}\n`);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.HostConfig.NetworkMode}}', 'plain'])).trim(), 'default');
  await dockerOk(d, ['rm', 'plain']);
});

test("docker exec into a pooled container runs with the container's environment, user and directory", async () => {
  const pool = await ready(d);
  const id = (
    await dockerOk(d, [
      'run',
      '-d',
      '--network',
      'none',
      '-e',
      'FROM_RUN=1',
      '-u',
      'nobody',
      '-w',
      '/tmp',
      'busybox',
      'sleep',
      '300',
    ])
  ).trim();
  try {
    assert.ok(pool.includes(id), 'it came from the pool');
    assert.equal(await dockerOk(d, ['exec', id, 'sh', '-c', 'echo $FROM_RUN; id -un; pwd']), '1\nnobody\n/tmp\n');
  } finally {
    await docker(d, ['rm', '-f', id]);
  }
});

/** An inspect with what differs between any two containers (IDs, names, times, paths, pids) left out. */
function comparable(inspect: string): unknown {
  const [c] = JSON.parse(inspect) as Array<Record<string, unknown>>;
  const drop = new Set([
    'Id',
    'Created',
    'Name',
    'ResolvConfPath',
    'HostnamePath',
    'HostsPath',
    'LogPath',
    'GraphDriver',
  ]);
  const out = Object.fromEntries(Object.entries(c!).filter(([k]) => !drop.has(k)));
  const config = { ...(out.Config as Record<string, unknown>) };
  delete config.Hostname;
  const state = { ...(out.State as Record<string, unknown>) };
  for (const k of ['StartedAt', 'FinishedAt', 'Pid']) delete state[k];
  return { ...out, Config: config, State: state };
}

test('inspect of a pooled container is that of the same container made without the pool', async () => {
  const pool = await ready(d);
  const args = ['--network', 'none', '-e', 'A=1', '-w', '/w', '--label', 'l=v', 'busybox', 'sh', '-c', 'exit 3'];
  const warm = (await dockerOk(d, ['create', ...args])).trim();
  const plain = (await dockerOk(cold, ['create', ...args])).trim();
  assert.ok(pool.includes(warm), 'it came from the pool');
  for (const [daemon, id] of [
    [d, warm],
    [cold, plain],
  ] as const) {
    assert.equal((await docker(daemon, ['start', '-a', id])).code, 3);
  }
  const [a, b] = [await dockerOk(d, ['inspect', warm]), await dockerOk(cold, ['inspect', plain])];
  assert.deepEqual(comparable(a), comparable(b));
  const [c] = JSON.parse(a) as Array<{ Config: { Hostname: string }; Path: string; Args: string[] }>;
  assert.equal(c!.Config.Hostname, warm.slice(0, 12));
  assert.equal(c!.Path, 'sh');
  assert.deepEqual(c!.Args, ['-c', 'exit 3']);
  await dockerOk(d, ['rm', warm]);
  await dockerOk(cold, ['rm', plain]);
});

test("a pooled container's exit code, logs, docker wait and --rm are as without the pool", async () => {
  let pool = await ready(d);
  const r = await docker(d, [
    'run',
    '--name',
    'codes',
    '--network',
    'none',
    'busybox',
    'sh',
    '-c',
    'echo out; echo err >&2; exit 42',
  ]);
  assert.equal(r.code, 42);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  const id = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'codes'])).trim();
  assert.ok(pool.includes(id), 'it came from the pool');
  const logs = await docker(d, ['logs', 'codes']);
  assert.equal(logs.stdout, 'out\n');
  assert.equal(logs.stderr, 'err\n');
  assert.equal((await dockerOk(d, ['wait', 'codes'])).trim(), '42');
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.ExitCode}}', 'codes'])).trim(), '42');
  await dockerOk(d, ['rm', 'codes']);

  pool = await ready(d);
  const started = (
    await dockerOk(d, ['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'sleep 1; exit 5'])
  ).trim();
  assert.ok(pool.includes(started), 'it came from the pool');
  assert.equal((await dockerOk(d, ['wait', started])).trim(), '5');
  await dockerOk(d, ['rm', started]);

  pool = await ready(d);
  const gone = await docker(d, ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'hostname; exit 0']);
  assert.equal(gone.code, 0, gone.stderr);
  assert.ok(
    pool.some((s) => s.startsWith(gone.stdout.trim())),
    'it came from the pool',
  );
  assert.ok(!(await dockerOk(d, ['ps', '-a'])).includes(gone.stdout.trim()));
  // Its directory goes with it.
  await eventually(() => !dirs(d).some((n) => n.startsWith(gone.stdout.trim())));
  assert.ok(!dirs(d).some((n) => n.startsWith(gone.stdout.trim())));
  // A command the image does not have fails the start as without the pool.
  const missing = await docker(d, ['run', '--rm', '--network', 'none', 'busybox', 'no-such-command']);
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /executable file not found in \$PATH/);
});

test("a sandbox made while another is ready waits at a lower priority; a pooled container and its monitor run at the daemon's", async () => {
  const niceOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
  const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  const pool = await ready(d);
  // The last one made (a ready one beside it) waits at nice 10: its monitor, crun's init.
  const waiting = pool.flatMap((s) => processesOf(s)).map(niceOf);
  assert.ok(waiting.includes(10), `a sandbox waits at a lower priority: ${waiting}`);
  const ids: string[] = [];
  for (const name of ['prio1', 'prio2'])
    ids.push(
      (await dockerOk(d, ['run', '-d', '--name', name, '--network', 'none', 'busybox', 'sleep', '1000'])).trim(),
    );
  assert.deepEqual(
    ids.filter((id) => pool.includes(id)),
    ids,
    'both came from the pool',
  );
  for (const name of ['prio1', 'prio2']) {
    const pid = Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', name])).trim());
    assert.equal(niceOf(pid), 0, `${name}'s process runs at the daemon's priority`);
    assert.equal(niceOf(parentOf(pid)), 0, `${name}'s monitor runs at the daemon's priority`);
  }
  // As the process in it sees it.
  const own = await dockerOk(d, ['exec', 'prio1', 'cat', '/proc/1/stat']);
  assert.equal(own.split(') ')[1]!.split(' ')[16], '0');
  await dockerOk(d, ['rm', '-f', 'prio1', 'prio2']);
});

test('diff, export and cp of a pooled container not yet started show nothing of the pool, and it still starts', async () => {
  const pool = await ready(d);
  const id = (
    await dockerOk(d, ['create', '--network', 'none', 'busybox', 'sh', '-c', 'ls -a / | grep berth; echo ran'])
  ).trim();
  assert.ok(pool.includes(id), 'it came from the pool');
  assert.equal(await dockerOk(d, ['diff', id]), '');
  const tar = await docker(d, ['export', id]);
  assert.equal(tar.code, 0, tar.stderr);
  assert.ok(!tar.stdout.includes('.berth-zygote'), 'the export has no zygote');
  assert.notEqual((await docker(d, ['cp', `${id}:/.berth-zygote`, '-'])).code, 0);
  const r = await docker(d, ['start', '-a', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ran\n');
  await dockerOk(d, ['rm', id]);
});

test('requests that do not fit the pool (a bind, a hostname, a terminal) get a task of their own', async () => {
  for (const [flags, cmd, want] of [
    [['-v', '/etc:/host-etc:ro'], 'test -f /host-etc/hostname && echo bound', 'bound'],
    [['--hostname', 'myhost'], 'hostname', 'myhost'],
    [['-t'], 'test -t 1 && echo tty', 'tty'],
  ] as const) {
    const pool = await ready(d);
    const r = await docker(d, ['run', '--name', 'unfit', '--network', 'none', ...flags, 'busybox', 'sh', '-c', cmd]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.replace(/\r/g, '').trim(), want);
    const id = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'unfit'])).trim();
    assert.ok(!pool.includes(id), `${flags.join(' ')}: not from the pool`);
    await dockerOk(d, ['rm', 'unfit']);
  }
  // What did not fit took nothing: the pool is still full.
  assert.equal((await ready(d)).length, 2);
});

test('--warm-pool 0 makes no sandbox', async () => {
  await dockerOk(cold, ['run', '--rm', '--network', 'none', 'busybox', 'true']);
  // (the removed container's directory goes a moment after its removal)
  await eventually(async () => !(await sandboxes(cold)).length);
  assert.deepEqual(await sandboxes(cold), []);
  assert.match(await dockerOk(cold, ['info']), /Warm pool: off/);
});

test('an image with its own paths where the pool puts the zygote and its command never has the host written through them', async () => {
  const own = await startDaemon(['--warm-pool', '2']);
  try {
    await bootstrapBusybox(own);
    const traps: Array<[string, string[]]> = [
      ['trap-cmd', ['/.berth-zygote-cmd']],
      ['trap-zygote', ['/.berth-zygote', '/.berth-zygote-cmd']],
      // The zygote's FIFO: berthd opens it from the host, and must never follow a link there.
      ['trap-go', ['/.berth-zygote-go']],
    ];
    for (const [name, paths] of traps) {
      const links = paths.map((p) => `ln -s ${join(own.root, `${name}${p.replace('/.', '-')}`)} ${p}`).join(' && ');
      await dockerOk(own, ['run', '--name', `mk-${name}`, '--network', 'none', 'busybox', 'sh', '-c', links]);
      await dockerOk(own, ['commit', `mk-${name}`, `${name}:latest`]);
    }
    // trap-go's link leads to a host file that exists: a byte written through it would show.
    const hostFile = join(own.root, 'trap-go-berth-zygote-go');
    writeFileSync(hostFile, '');
    // Each trap image becomes the most started in turn, so the pool is made of it and used.
    for (const [name, n] of [
      ['trap-cmd', 3],
      ['trap-zygote', 6],
      ['trap-go', 9],
    ] as const) {
      const runs = async (k: number) => {
        for (let i = 0; i < k; i++) {
          const r = await docker(own, ['run', '--rm', '--network', 'none', `${name}:latest`, 'echo', 'fine']);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, 'fine\n');
        }
      };
      await runs(n);
      await eventually(async () => (await dockerOk(own, ['info'])).includes(`(${name}:latest)`));
      // These would take the image's sandboxes: trap-cmd's cannot be told their command, trap-zygote's and trap-go's cannot be made.
      await runs(2);
    }
    const written = readdirSync(own.root).filter((f) => f.startsWith('trap-') && join(own.root, f) !== hostFile);
    assert.deepEqual(written, [], "nothing was written through the image's links");
    assert.equal(readFileSync(hostFile, 'utf8'), '', "nothing was written through the image's link to the FIFO's path");
  } finally {
    await cleanup(own);
  }
});

test('a daemon stopped, or killed with SIGKILL, with sandboxes pooled leaves none behind once it is back', async () => {
  const own = await startDaemon(['--warm-pool', '2']);
  try {
    await bootstrapBusybox(own);
    let pool = await ready(own);
    await stopDaemon(own, 'term');
    for (const id of pool) {
      assert.ok(!existsSync(join(containersDir(own), id)), 'a stop takes the sandboxes down');
      assert.deepEqual(processesOf(join(containersDir(own), id)), []);
    }
    const mounts = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(containersDir(own)));
    assert.deepEqual(mounts(), []);

    const again = await startDaemon(['--warm-pool', '2'], own.root);
    Object.assign(own, { proc: again.proc, log: again.log });
    pool = await ready(own);
    await stopDaemon(own, 'kill');
    const back = await startDaemon(['--warm-pool', '2'], own.root);
    Object.assign(own, { proc: back.proc, log: back.log });
    await ready(own);
    for (const id of pool) {
      assert.ok(!existsSync(join(containersDir(own), id)), 'the next start removes what a SIGKILL left');
      assert.deepEqual(processesOf(join(containersDir(own), id)), []);
    }
  } finally {
    await cleanup(own);
  }
});

/** The host ends of the veths plugged into the bridge. */
function bridgePorts(): string[] {
  const r = spawnSync('ip', ['-j', 'link', 'show', 'master', BRIDGE], { encoding: 'utf8' });
  return (JSON.parse(r.stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname).sort();
}
const vethOf = (id: string) => `vb${id.slice(0, 12)}`;

test('on the default bridge pooled containers have addresses of their own and reach each other, and network inspect lists them', async () => {
  const pool = await ready(br);
  // The sandboxes are wired ahead: their veths are on the bridge before any create.
  for (const id of pool) assert.ok(bridgePorts().includes(vethOf(id)), `the veth of sandbox ${id.slice(0, 12)}`);
  const a = (await dockerOk(br, ['run', '-d', '--name', 'bra', 'busybox', 'sleep', '60'])).trim();
  const b = (await dockerOk(br, ['run', '-d', '--name', 'brb', 'busybox', 'sleep', '60'])).trim();
  assert.ok(pool.includes(a) && pool.includes(b), 'both came from the pool');
  const net = async (n: string) =>
    (
      await dockerOk(br, [
        'inspect',
        '-f',
        '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.Networks.bridge.IPAddress}}',
        n,
      ])
    )
      .trim()
      .split(' ');
  const [ipA, macA, gwA, ipA2] = await net('bra');
  const [ipB, macB, gwB] = await net('brb');
  assert.match(ipA!, /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(ipA2, ipA);
  assert.notEqual(ipA, ipB, 'two pooled containers get different addresses');
  assert.notEqual(macA, macB);
  assert.match(macA!, /^02:42:/);
  assert.equal(gwA, gwB);
  // The address inspect shows is the one inside, and the other container answers on its own.
  const inside = await dockerOk(br, ['exec', 'brb', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
  assert.ok(inside.includes(` ${ipB}/`), inside);
  const ping = await docker(br, ['exec', 'brb', 'ping', '-c', '1', '-W', '3', ipA!]);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  const listed = await dockerOk(br, [
    'network',
    'inspect',
    'bridge',
    '-f',
    '{{range $k, $v := .Containers}}{{$k}} {{$v.IPv4Address}};{{end}}',
  ]);
  assert.ok(listed.includes(`${a} ${ipA}/`), listed);
  assert.ok(listed.includes(`${b} ${ipB}/`), listed);
  await dockerOk(br, ['rm', '-f', 'bra', 'brb']);
  // Their veths go with them: what is left on the bridge is the pool's, refilled.
  const pool2 = await ready(br);
  const left = await eventually(() => {
    const ports = bridgePorts();
    return ports.length === pool2.length && pool2.every((id) => ports.includes(vethOf(id))) ? ports : undefined;
  }, 15_000);
  assert.ok(left, `only the sandboxes' veths are on the bridge: ${bridgePorts().join(' ')}`);
});

test('a run with published ports on the bridge takes a sandbox: its ports answer on loopback, inspect shows them as without the pool, and they go with it', async () => {
  const pool = await ready(br);
  const web = ['sh', '-c', 'mkdir /w; echo from-$(hostname) > /w/index.html; exec httpd -f -p 8080 -h /w'];
  const pooled = (
    await dockerOk(br, ['run', '-d', '--name', 'brport', '-p', '127.0.0.1::8080', 'busybox', ...web])
  ).trim();
  assert.ok(pool.includes(pooled), 'it came from the pool');
  // -P over an exposed port, and one that does not fit (--init): a task of its own.
  const all = (
    await dockerOk(br, ['run', '-d', '--name', 'brall', '--expose', '8080', '-P', 'busybox', ...web])
  ).trim();
  const own = (
    await dockerOk(br, ['run', '-d', '--name', 'brown', '--init', '-p', '127.0.0.1::8080', 'busybox', ...web])
  ).trim();
  assert.ok(!pool.includes(own), 'an --init run has a task of its own');
  const get = async (port: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) });
    return (await r.text()).trim();
  };
  const ports = new Map<string, string>();
  for (const [name, id] of [
    ['brport', pooled],
    ['brall', all],
    ['brown', own],
  ] as const) {
    const port = (await dockerOk(br, ['port', name, '8080/tcp'])).trim().split('\n')[0]!.split(':').pop()!;
    ports.set(name, port);
    assert.ok(
      await eventually(async () => (await get(port).catch(() => '')) === `from-${id.slice(0, 12)}`),
      `${name} answers on 127.0.0.1:${port}`,
    );
  }
  // inspect: the same shape for the pooled container as for the one made without the pool.
  const shape = async (name: string) =>
    (
      await dockerOk(br, [
        'inspect',
        '-f',
        '{{json .HostConfig.PortBindings}} {{range $p, $b := .NetworkSettings.Ports}}{{$p}}={{range $b}}{{.HostIp}}:{{end}}{{end}}',
        name,
      ])
    ).trim();
  assert.equal(await shape('brport'), await shape('brown'));
  assert.match(
    await shape('brport'),
    /^\{"8080\/tcp":\[\{"HostIp":"127.0.0.1","HostPort":""\}\]\} 8080\/tcp=127.0.0.1:$/,
  );
  await dockerOk(br, ['rm', '-f', 'brport', 'brall', 'brown']);
  for (const [name, port] of ports)
    assert.ok(
      await eventually(
        async () =>
          (await get(port).then(
            () => 'open',
            () => 'closed',
          )) === 'closed',
      ),
      `${name}'s port ${port} is closed once it is gone`,
    );
});

test("a pooled container's /etc/hosts and resolv.conf on the bridge are as without the pool, with its --dns and --add-host", async () => {
  const pool = await ready(br);
  const files = ['sh', '-c', 'cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname'];
  const pooled = await dockerOk(br, ['run', '--name', 'brp', 'busybox', ...files]);
  // --init does not fit the pool: a task of its own, on the same bridge.
  const own = await dockerOk(br, ['run', '--name', 'bro', '--init', 'busybox', ...files]);
  const [idP, idO] = [
    await dockerOk(br, ['inspect', '-f', '{{.Id}}', 'brp']),
    await dockerOk(br, ['inspect', '-f', '{{.Id}}', 'bro']),
  ].map((s) => s.trim());
  assert.ok(pool.includes(idP!) && !pool.includes(idO!));
  // The address is gone from inspect once the container exits: /etc/hosts names the one it had.
  const general = (out: string, id: string) =>
    out.replaceAll(id.slice(0, 12), 'ID').replace(/^\d+\.\d+\.\d+\.\d+\tID$/m, 'IP\tID');
  assert.match(general(pooled, idP!), /^IP\tID$/m);
  assert.equal(general(pooled, idP!), general(own, idO!));
  await dockerOk(br, ['rm', 'brp', 'bro']);

  const pool3 = await ready(br);
  const out = await dockerOk(br, [
    'run',
    '--name',
    'brd',
    '--dns',
    '192.0.2.53',
    '--add-host',
    'far:192.0.2.7',
    'busybox',
    ...files,
  ]);
  const idD = (await dockerOk(br, ['inspect', '-f', '{{.Id}}', 'brd'])).trim();
  assert.match(out, /^nameserver 192\.0\.2\.53$/m);
  assert.match(out, /^192\.0\.2\.7\tfar$/m);
  assert.ok(pool3.includes(idD), 'it came from the pool');
  await dockerOk(br, ['rm', 'brd']);
});

test('a daemon killed with SIGKILL with bridge sandboxes pooled leaves no veth of theirs once it is back, and their addresses are free', async () => {
  const pool = await ready(br);
  await stopDaemon(br, 'kill');
  const back = await startDaemon(br.extraArgs, br.root);
  Object.assign(br, { proc: back.proc, log: back.log });
  const pool2 = await ready(br);
  for (const id of pool) {
    assert.ok(!pool2.includes(id));
    assert.ok(!existsSync(join(containersDir(br), id)), 'the next start removes what a SIGKILL left');
  }
  const left = await eventually(() => {
    const ports = bridgePorts();
    return ports.length === pool2.length && pool2.every((id) => ports.includes(vethOf(id))) ? ports : undefined;
  }, 15_000);
  assert.ok(left, `only the new sandboxes' veths are on the bridge: ${bridgePorts().join(' ')}`);
  // The bridge's addresses are held by the new sandboxes alone.
  const db = new DatabaseSync(join(br.root, 'data', 'network', 'ipam.db'), { readOnly: true });
  try {
    const owners = (db.prepare('SELECT DISTINCT owner FROM ipam_allocations').all() as Array<{ owner: string }>).map(
      (r) => r.owner,
    );
    assert.deepEqual(owners.sort(), [...pool2].sort());
  } finally {
    db.close();
  }
});
