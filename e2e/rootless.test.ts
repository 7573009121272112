/**
 * Rootless berthd (bin/berthd-rootless) started by an ordinary user, driven by the docker CLI:
 * a throwaway user this test creates (with the subordinate ids useradd gives it) and removes,
 * its XDG_RUNTIME_DIR a directory of its own, and — because /dev/net/tun is 0600 on these
 * VMs — an ACL letting it open the device for the test's duration, taken away after.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapBusybox, docker, dockerOk, eventually, freePort, REPO, sleep, type Daemon } from './harness.ts';

const user = `brl${process.pid % 100000}`;
let uid = 0;
let gid = 0;
let runtimeDir = '';
let proc: ChildProcess | undefined;
let d: Daemon;
const logChunks: Buffer[] = [];

function userPids(): number[] {
  const r = spawnSync('ps', ['-u', user, '-o', 'pid='], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
}

before(async () => {
  const add = spawnSync('useradd', ['-m', '-s', '/bin/sh', user], { encoding: 'utf8' });
  assert.equal(add.status, 0, add.stderr);
  uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
  // useradd gives a new user its ranges (SUB_UID_COUNT); older shadow versions do not
  if (!readFileSync('/etc/subuid', 'utf8').includes(`${user}:`))
    spawnSync('usermod', ['--add-subuids', '300000-365535', '--add-subgids', '300000-365535', user]);
  spawnSync('setfacl', ['-m', `u:${user}:rw`, '/dev/net/tun']);
  runtimeDir = mkdtempSync(join(tmpdir(), 'berth-e2e-rootless-'));
  chownSync(runtimeDir, uid, gid);
  chmodSync(runtimeDir, 0o700);
  proc = spawn(join(REPO, 'bin/berthd-rootless'), ['--bridge', 'berth0'], {
    uid,
    gid,
    cwd: `/home/${user}`,
    env: {
      HOME: `/home/${user}`,
      USER: user,
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      XDG_RUNTIME_DIR: runtimeDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (c: Buffer) => logChunks.push(c));
  proc.stderr!.on('data', (c: Buffer) => logChunks.push(c));
  const sock = join(runtimeDir, 'berth.sock');
  d = {
    root: runtimeDir,
    sock,
    host: `unix://${sock}`,
    proc,
    log: () => Buffer.concat(logChunks).toString(),
    extraArgs: [],
  };
  const deadline = Date.now() + 60_000;
  while (!(existsSync(sock) && (await docker(d, ['version'])).code === 0)) {
    if (proc.exitCode !== null) throw new Error(`berthd-rootless exited ${proc.exitCode}:\n${d.log()}`);
    if (Date.now() > deadline) throw new Error(`berthd-rootless did not come up:\n${d.log()}`);
    await sleep(200);
  }
  await bootstrapBusybox(d);
});

after(async () => {
  if (d) {
    const ids = (await docker(d, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(d, ['rm', '-f', ...ids]);
  }
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<void>((r) => proc!.once('exit', () => r()));
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
  }
  // Anything of the throwaway user's still running (slirp4netns, a monitor) goes, pid by pid.
  for (const pid of userPids()) spawnSync('kill', ['-KILL', String(pid)]);
  for (let i = 0; i < 50 && userPids().length; i++) await sleep(100);
  spawnSync('setfacl', ['-x', `u:${user}`, '/dev/net/tun']);
  // The device as it was: without named entries left, the ACL (its mask) goes too.
  if (!/^(user|group):[^:]+:/m.test(spawnSync('getfacl', ['-pc', '/dev/net/tun'], { encoding: 'utf8' }).stdout ?? ''))
    spawnSync('setfacl', ['-b', '/dev/net/tun']);
  spawnSync('userdel', ['-r', user], { encoding: 'utf8' });
  if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
});

function hostUid(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

test('an ordinary user starts berthd: its socket in XDG_RUNTIME_DIR, its data under ~/.local/share/berth', async () => {
  const st = statSync(d.sock);
  assert.equal(st.uid, uid);
  assert.equal(st.mode & 0o777, 0o660);
  const info = JSON.parse(await dockerOk(d, ['info', '--format', '{{json .}}'])) as {
    SecurityOptions: string[];
    DockerRootDir: string;
  };
  assert.ok(info.SecurityOptions.includes('name=rootless'), info.SecurityOptions.join(','));
  assert.equal(info.DockerRootDir, `/home/${user}/.local/share/berth`);
});

test('a container runs as root inside and as the user on the host; exec joins it', async () => {
  assert.equal((await dockerOk(d, ['run', '--rm', 'busybox', 'id', '-u'])).trim(), '0');
  const id = (await dockerOk(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
  const pid = Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', id])).trim());
  assert.equal(hostUid(pid), uid);
  assert.equal((await dockerOk(d, ['exec', id, 'sh', '-c', 'echo $(id -u) exec'])).trim(), '0 exec');
  await dockerOk(d, ['rm', '-f', id]);
});

test('a published port is reached from the host’s loopback', async () => {
  const port = await freePort();
  await dockerOk(d, [
    'run',
    '-d',
    '-p',
    `127.0.0.1:${port}:80`,
    'busybox',
    'sh',
    '-c',
    'echo rootless > /index.html && httpd -f -p 80 -h /',
  ]);
  const body = await eventually(
    () =>
      fetch(`http://127.0.0.1:${port}/index.html`).then(
        (r) => r.text(),
        () => '',
      ),
    20_000,
  );
  assert.equal(body.trim(), 'rootless');
});

test('a named volume keeps what one container wrote for the next', async () => {
  await dockerOk(d, ['volume', 'create', 'rv']);
  await dockerOk(d, ['run', '--rm', '-v', 'rv:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
  assert.equal((await dockerOk(d, ['run', '--rm', '-v', 'rv:/data', 'busybox', 'cat', '/data/f'])).trim(), 'kept');
});

test('the container’s root cannot write a root-owned host file through a bind mount', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-rootless-bind-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'owned-by-root'), 'keep\n', { mode: 0o644 });
  try {
    const r = await docker(d, ['run', '--rm', '-v', `${dir}:/b`, 'busybox', 'sh', '-c', 'echo x >> /b/owned-by-root']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied|Read-only/);
    assert.equal(readFileSync(join(dir, 'owned-by-root'), 'utf8'), 'keep\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a limit cgroup v1 cannot give an unprivileged user is refused with a clear error, at run and at update', async () => {
  const r = await docker(d, ['run', '--rm', '--memory', '64m', 'busybox', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /rootless berthd cannot set --memory/);
  const id = (await dockerOk(d, ['create', 'busybox', 'true'])).trim();
  const u = await docker(d, ['update', '--pids-limit', '50', id]);
  assert.notEqual(u.code, 0);
  assert.match(u.stderr, /rootless berthd cannot set --pids-limit/);
  await dockerOk(d, ['rm', id]);
});

test('a build RUNs rootless', async () => {
  const ctx = mkdtempSync(join(tmpdir(), 'berth-e2e-rootless-build-'));
  try {
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\n');
    await dockerOk(d, ['build', '-q', '-t', 'rootless-built', ctx]);
    assert.equal((await dockerOk(d, ['run', '--rm', 'rootless-built', 'cat', '/built'])).trim(), 'built');
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});

test('where /dev/net/tun is closed to ordinary users, berthd-rootless says so and what to do', async (t) => {
  if ((statSync('/dev/net/tun').mode & 0o006) === 0o006) return t.skip('/dev/net/tun is open to everyone here');
  spawnSync('setfacl', ['-x', `u:${user}`, '/dev/net/tun']);
  try {
    const r = spawnSync(join(REPO, 'bin/berthd-rootless'), [], {
      uid,
      gid,
      env: { HOME: `/home/${user}`, PATH: '/usr/sbin:/usr/bin:/sbin:/bin', XDG_RUNTIME_DIR: runtimeDir },
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot open \/dev\/net\/tun \(c[rw-]{9} root:root.*setfacl -m u:brl\d+:rw \/dev\/net\/tun/);
  } finally {
    spawnSync('setfacl', ['-m', `u:${user}:rw`, '/dev/net/tun']);
  }
});
