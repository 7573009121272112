/**
 * gVisor containers through the docker CLI (`--runtime runsc`, Debian's runsc): its own kernel
 * answers, exit codes, stdin and a terminal (its size too), exec, logs, top (gVisor's own
 * processes), pause, stats, stop and rm with nothing left running, and networking on the default bridge (a published port, from loopback) and on
 * a user network (by name). Needs root and runsc (`npm run setup`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  api,
  startDaemonWithBusybox,
  cleanup,
  docker,
  dockerOk,
  eventually,
  freePort,
  run,
  type Daemon,
} from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

const usable = process.getuid?.() === 0 && existsSync('/usr/bin/runsc');
const skip = usable ? false : 'needs root and runsc';
const BRIDGE = `brs${process.pid % 100000}`;

let d: Daemon;
before(async () => {
  if (usable) d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--bip', `${await reserveSubnet()}.1/24`]);
});
after(() => cleanup(d));

/** Processes on the host whose command line names `id` (gVisor's sandbox and gofer name their container). */
function processesOf(id: string): string {
  return spawnSync('pgrep', ['-af', id], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => /runsc/.test(l))
    .join('\n');
}

test(
  "docker info lists runsc, and a container's dmesg is gVisor's kernel; exit codes and stdin come through",
  { skip },
  async () => {
    const runtimes = JSON.parse(await dockerOk(d, ['info', '--format', '{{json .Runtimes}}']));
    assert.ok(runtimes.runsc, JSON.stringify(runtimes));
    const dmesg = await dockerOk(d, ['run', '--rm', '--runtime', 'runsc', 'busybox', 'dmesg']);
    assert.match(dmesg, /Starting gVisor/);
    const r = await docker(d, ['run', '--rm', '--runtime', 'runsc', 'busybox', 'sh', '-c', 'echo out; exit 5']);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.code, 5);
    const cat = await docker(d, ['run', '-i', '--rm', '--runtime', 'runsc', 'busybox', 'cat'], {
      input: 'through stdin\n',
    });
    assert.equal(cat.stdout, 'through stdin\n');
  },
);

test('docker run -it --runtime runsc gives an interactive shell', { skip }, async () => {
  // script(1) gives the CLI a terminal; the input waits for the shell's prompt.
  const r = await run(
    'sh',
    [
      '-c',
      `(sleep 4; printf 'echo answer-$((6*7))\\r'; sleep 2; printf 'exit 3\\r'; sleep 2) | script -qec 'docker run -it --rm --runtime runsc busybox sh' /dev/null`,
    ],
    { env: { ...process.env, DOCKER_HOST: d.host } },
  );
  assert.match(r.stdout, /answer-42/);
  assert.equal(r.code, 3);
});

test(
  'a gVisor container execs, logs, pauses, reports stats, stops on SIGTERM and leaves nothing running after rm',
  { skip },
  async () => {
    const id = (
      await dockerOk(d, ['run', '-d', '--runtime', 'runsc', 'busybox', 'sh', '-c', 'echo started; exec sleep 1000'])
    ).trim();
    const ex = await docker(d, ['exec', id, 'sh', '-c', 'echo in-exec; exit 4']);
    assert.equal(ex.stdout, 'in-exec\n');
    assert.equal(ex.code, 4);
    assert.equal(await eventually(async () => (await dockerOk(d, ['logs', id])).trim()), 'started');
    await dockerOk(d, ['pause', id]);
    assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', id])).trim(), 'paused');
    await dockerOk(d, ['unpause', id]);
    const stats = JSON.parse(await dockerOk(d, ['stats', '--no-stream', '--format', '{{json .}}', id]));
    assert.notEqual(stats.MemUsage, '0B / 0B', JSON.stringify(stats));
    assert.ok(processesOf(id), 'the sandbox runs on the host');
    await dockerOk(d, ['stop', '-t', '5', id]);
    assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.ExitCode}}', id])).trim(), '143');
    await dockerOk(d, ['rm', id]);
    assert.equal(processesOf(id), '');
  },
);

test(
  "docker top of a gVisor container lists gVisor's processes, not its sandbox; its terminal takes the size the client sets",
  { skip },
  async () => {
    const id = (
      await dockerOk(d, [
        'run',
        '-dt',
        '--runtime',
        'runsc',
        'busybox',
        'sh',
        '-c',
        'trap "stty size > /tmp/size" WINCH; while :; do sleep 0.2; done',
      ])
    ).trim();
    try {
      const top = await dockerOk(d, ['top', id]);
      assert.match(top, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD/);
      assert.match(top, /\n\S+\s+1\s+0\s.*\bsh\b/, top);
      assert.doesNotMatch(top, /runsc/);
      const withOptions = await docker(d, ['top', id, 'aux']);
      assert.notEqual(withOptions.code, 0);
      assert.match(withOptions.stderr, /ps options are not supported/);
      const resized = await api(d, 'POST', `/containers/${id}/resize?h=41&w=121`);
      assert.equal(resized.status, 200, resized.body);
      const size = await eventually(async () => (await docker(d, ['exec', id, 'cat', '/tmp/size'])).stdout.trim());
      assert.equal(size, '41 121');
    } finally {
      await docker(d, ['rm', '-f', id]);
    }
  },
);

test(
  'gVisor containers publish a port on the default bridge and reach each other by name on a user network',
  { skip },
  async () => {
    const port = await freePort();
    const net = `rsnet${process.pid}`;
    await dockerOk(d, ['network', 'create', net]);
    try {
      await dockerOk(d, [
        'run',
        '-d',
        '--name',
        'gweb',
        '--runtime',
        'runsc',
        '-p',
        `127.0.0.1:${port}:80`,
        'busybox',
        'sh',
        '-c',
        'mkdir /w; echo from-gvisor > /w/index.html; exec httpd -f -p 80 -h /w',
      ]);
      const body = await eventually(
        () =>
          fetch(`http://127.0.0.1:${port}/`).then(
            (r) => r.text(),
            () => '',
          ),
        30_000,
        200,
      );
      assert.equal(body, 'from-gvisor\n');
      // gVisor copies the interfaces it has at start: a user network's container is on it from the start.
      await dockerOk(d, [
        'run',
        '-d',
        '--name',
        'gweb2',
        '--network',
        net,
        '--runtime',
        'runsc',
        'busybox',
        'sh',
        '-c',
        'mkdir /w; echo from-gvisor > /w/index.html; exec httpd -f -p 80 -h /w',
      ]);
      // busybox's static wget crashes on any runtime here: nc speaks HTTP instead.
      const r = await dockerOk(d, [
        'run',
        '--rm',
        '--runtime',
        'runsc',
        '--network',
        net,
        'busybox',
        'sh',
        '-c',
        'for i in 1 2 3 4 5 6 7 8 9 10; do printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc gweb2 80 && break; sleep 0.5; done',
      ]);
      assert.match(r, /from-gvisor/);
      // gVisor would never see an interface plugged into the running sandbox: refused, with the reason.
      const connect = await docker(d, ['network', 'connect', net, 'gweb']);
      assert.notEqual(connect.code, 0);
      assert.match(connect.stderr, /takes its networks only when it starts; stop it first/);
    } finally {
      await docker(d, ['rm', '-f', 'gweb', 'gweb2']);
      await docker(d, ['network', 'rm', net]);
    }
  },
);
