/**
 * `berthd --userns-remap default`, driven by the docker CLI: containers' root is dockremap's
 * first subordinate uid on the host, images and volumes are owned inside that range, and
 * `--userns=host` opts one container out. The daemon runs on roots of its own (its data root's
 * parent must let others through, as dockerd requires); dockremap is removed afterwards only
 * when this test made it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import {
  bootstrapBusybox,
  cleanup,
  docker,
  dockerOk,
  eventually,
  freePort,
  startDaemon,
  stopDaemon,
  type Daemon,
} from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';
import { beneathUnified, hybridCgroups } from './harness-cgroup.ts';

let d: Daemon;
let madeDockremap = false;
/** dockremap's first subordinate uid and gid: the container root's ids on the host. */
let root = { uid: 0, gid: 0 };
const bridge = `bun${process.pid % 100000}`;
/** How the daemon owns layers in the range: idmapped on this kernel, unless turned off (userns-shifted.test.ts). */
const layers = process.env.BERTH_USERNS_IDMAP === '0' ? 'shifted' : 'idmapped';

function firstRange(file: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('dockremap:'));
  assert.ok(line, `dockremap has a range in ${file}`);
  return Number(line.split(':')[1]);
}

before(async () => {
  madeDockremap = spawnSync('id', ['dockremap']).status !== 0;
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-userns-'));
  // The remapped root must pass through here to reach its containers' roots.
  chmodSync(dir, 0o711);
  d = await startDaemon(
    ['--userns-remap', 'default', '--bridge', bridge, '--bip', `${await reserveSubnet()}.1/24`],
    dir,
  );
  await bootstrapBusybox(d);
  root = { uid: firstRange('/etc/subuid'), gid: firstRange('/etc/subgid') };
});

after(async () => {
  await cleanup(d);
  if (madeDockremap) {
    spawnSync('userdel', ['dockremap']);
    spawnSync('groupdel', ['dockremap']);
    for (const f of ['/etc/subuid', '/etc/subgid'])
      writeFileSync(
        f,
        readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith('dockremap:'))
          .join('\n'),
      );
  }
});

function hostIds(pid: number): { uid: number; gid: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)![1]);
  return { uid: field('Uid'), gid: field('Gid') };
}

test('docker info shows the remap as dockerd does (name=userns, the remapped data root) and how layers are owned', async () => {
  const info = JSON.parse(await dockerOk(d, ['info', '--format', '{{json .}}'])) as {
    SecurityOptions: string[];
    DockerRootDir: string;
  };
  assert.ok(info.SecurityOptions.includes(`name=userns,layers=${layers}`), info.SecurityOptions.join(','));
  assert.equal(info.DockerRootDir, join(d.root, 'data', `${root.uid}.${root.gid}`));
});

test('image layers are stored with the image’s own owners when idmapped, shifted into the range otherwise', async () => {
  const layersDir = join(d.root, 'data', `${root.uid}.${root.gid}`, 'overlay', 'layers');
  const owners = readdirSync(layersDir).flatMap((l) => {
    const busybox = join(layersDir, l, 'diff', 'bin', 'busybox');
    return existsSync(busybox) ? [`${statSync(busybox).uid}:${statSync(busybox).gid}`] : [];
  });
  assert.deepEqual(owners, [layers === 'idmapped' ? '0:0' : `${root.uid}:${root.gid}`]);
  // Either way the container sees the image's owners.
  assert.equal((await dockerOk(d, ['run', '--rm', 'busybox', 'stat', '-c', '%u:%g', '/bin/busybox'])).trim(), '0:0');
});

test('inside, the container is root; on the host its process runs as the mapped uid', async () => {
  assert.equal((await dockerOk(d, ['run', '--rm', 'busybox', 'id', '-u'])).trim(), '0');
  const id = (await dockerOk(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
  const pid = Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', id])).trim());
  assert.deepEqual(hostIds(pid), root);
  // exec joins the same namespace
  assert.equal(
    (await dockerOk(d, ['exec', id, 'cat', '/proc/self/uid_map'])).trim().split(/\s+/).join(' '),
    `0 ${root.uid} 65536`,
  );
  await dockerOk(d, ['rm', '-f', id]);
});

test('remapped containers see the masked directories as the others do (empty, read-only, their root’s), from one mount shared by all', async () => {
  // What a container sees, and the device of each mask's mount: one superblock for all of them
  // (the first container kept running, so that the second cannot be given a device it freed).
  const script =
    'stat -c "%n %u %g %a" /proc/acpi /sys/firmware; ls -A /proc/acpi /sys/firmware | grep -v ":$" | grep .; ' +
    'touch /proc/acpi/x /sys/firmware/x 2>&1; grep -E " /(proc/acpi|sys/firmware) " /proc/self/mountinfo | cut -d" " -f3';
  const id = (await dockerOk(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
  try {
    const first = (await dockerOk(d, ['exec', id, 'sh', '-c', script])).trim().split('\n');
    const second = (await dockerOk(d, ['run', '--rm', 'busybox', 'sh', '-c', script])).trim().split('\n');
    for (const seen of [first, second]) {
      assert.deepEqual(seen.slice(0, 2), ['/proc/acpi 0 0 1777', '/sys/firmware 0 0 1777'], seen.join('\n'));
      assert.match(seen[2]!, /touch: \/proc\/acpi\/x: Read-only file system/, seen.join('\n'));
      assert.match(seen[3]!, /touch: \/sys\/firmware\/x: Read-only file system/, seen.join('\n'));
    }
    const devices = [...first.slice(4), ...second.slice(4)];
    assert.equal(devices.length, 4, first.concat(second).join('\n'));
    assert.equal(new Set(devices).size, 1, `one superblock for both masks of both containers: ${devices.join(' ')}`);
  } finally {
    await dockerOk(d, ['rm', '-f', id]);
  }
});

test('a file the container creates in a bind mount belongs to the mapped uid on the host', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-userns-bind-'));
  chownSync(dir, root.uid, root.gid);
  await dockerOk(d, ['run', '--rm', '-v', `${dir}:/b`, 'busybox', 'sh', '-c', 'echo hi > /b/made']);
  const st = statSync(join(dir, 'made'));
  assert.deepEqual({ uid: st.uid, gid: st.gid }, root);
  spawnSync('rm', ['-rf', dir]);
});

test('a host file owned by real root cannot be written by the remapped root through a bind mount', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-userns-ro-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'owned-by-root'), 'keep\n', { mode: 0o644 });
  const r = await docker(d, ['run', '--rm', '-v', `${dir}:/b`, 'busybox', 'sh', '-c', 'echo x >> /b/owned-by-root']);
  assert.notEqual(r.code, 0);
  assert.equal(readFileSync(join(dir, 'owned-by-root'), 'utf8'), 'keep\n');
  spawnSync('rm', ['-rf', dir]);
});

test('a named volume is owned by the mapped root and keeps what a container wrote', async () => {
  await dockerOk(d, ['volume', 'create', 'uv']);
  await dockerOk(d, ['run', '--rm', '-v', 'uv:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
  assert.equal((await dockerOk(d, ['run', '--rm', '-v', 'uv:/data', 'busybox', 'cat', '/data/f'])).trim(), 'kept');
  const mountpoint = (await dockerOk(d, ['volume', 'inspect', '-f', '{{.Mountpoint}}', 'uv'])).trim();
  const st = statSync(join(mountpoint, 'f'));
  assert.deepEqual({ uid: st.uid, gid: st.gid }, root);
  await dockerOk(d, ['volume', 'rm', 'uv']);
});

test('--userns=host runs the container as the host’s real root', async () => {
  const id = (await dockerOk(d, ['run', '-d', '--userns=host', 'busybox', 'sleep', '300'])).trim();
  const pid = Number((await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', id])).trim());
  assert.deepEqual(hostIds(pid), { uid: 0, gid: 0 });
  await dockerOk(d, ['rm', '-f', id]);
});

test('what dockerd refuses under a remap is refused: --privileged, --pid=host and --network=host', async () => {
  for (const [args, message] of [
    [['--privileged'], /privileged mode is incompatible with user namespaces/],
    [['--pid=host'], /cannot share the host PID namespace when user namespaces are enabled/],
    [['--network=host'], /cannot share the host's network namespace when user namespaces are enabled/],
  ] as const) {
    const r = await docker(d, ['run', '--rm', ...args, 'busybox', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, message);
  }
});

test('docker cp in and out keeps the container’s owners, stored as the mapped ids', async () => {
  const id = (await dockerOk(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
  const src = join(mkdtempSync(join(tmpdir(), 'berth-e2e-userns-cp-')), 'in.txt');
  writeFileSync(src, 'in\n');
  chownSync(src, 1234, 1234);
  await dockerOk(d, ['cp', src, `${id}:/in.txt`]);
  assert.equal((await dockerOk(d, ['exec', id, 'stat', '-c', '%u:%g', '/in.txt'])).trim(), '1234:1234');
  const upper = join(d.root, 'data', `${root.uid}.${root.gid}`, 'containers', id, 'upper', 'in.txt');
  assert.equal(`${statSync(upper).uid}:${statSync(upper).gid}`, `${root.uid + 1234}:${root.gid + 1234}`);
  await dockerOk(d, ['exec', id, 'sh', '-c', 'touch /out && chown 7:8 /out']);
  const r = spawnSync('/usr/local/bin/docker', ['-H', d.host, 'cp', `${id}:/out`, '-'], { encoding: 'latin1' });
  assert.equal(r.status, 0, r.stderr);
  // ustar: uid and gid as octal fields at offsets 108 and 116
  assert.equal(parseInt(r.stdout.slice(108, 115), 8), 7);
  assert.equal(parseInt(r.stdout.slice(116, 123), 8), 8);
  await dockerOk(d, ['rm', '-f', id]);
  spawnSync('rm', ['-rf', join(src, '..')]);
});

test('a build RUNs under the remap, and its layers carry the container’s owners', async () => {
  const ctx = mkdtempSync(join(tmpdir(), 'berth-e2e-userns-build-'));
  writeFileSync(join(ctx, 'f.txt'), 'f\n');
  writeFileSync(
    join(ctx, 'Dockerfile'),
    'FROM busybox\nRUN test "$(id -u)" = 0 && touch /made && chown 5:6 /made\nCOPY --chown=9:9 f.txt /f.txt\n',
  );
  await dockerOk(d, ['build', '-q', '-t', 'userns-built', ctx]);
  assert.equal(
    (await dockerOk(d, ['run', '--rm', 'userns-built', 'stat', '-c', '%u:%g', '/made', '/f.txt'])).trim(),
    '5:6\n9:9',
  );
  await dockerOk(d, ['rmi', 'userns-built']);
  spawnSync('rm', ['-rf', ctx]);
});

test('networking works remapped: a published port answers on loopback', async () => {
  const port = await freePort();
  const id = (
    await dockerOk(d, [
      'run',
      '-d',
      '-p',
      `127.0.0.1:${port}:80`,
      'busybox',
      'sh',
      '-c',
      'echo remapped > /index.html && httpd -f -p 80 -h /',
    ])
  ).trim();
  // httpd may not listen yet: a refused or cut connection is tried again
  const body = await eventually(() =>
    fetch(`http://127.0.0.1:${port}/index.html`).then(
      (r) => r.text(),
      () => '',
    ),
  );
  assert.equal(body.trim(), 'remapped');
  await dockerOk(d, ['rm', '-f', id]);
});

test(
  'remapped containers leave nothing beneath the hybrid host’s hidden cgroup2 mount, and share cpuset and name=systemd',
  { skip: hybridCgroups ? false : 'needs the hybrid cgroup layout (v1 with cgroup2 at /sys/fs/cgroup/unified)' },
  async (t) => {
    if ((await dockerOk(d, ['info', '-f', '{{.DefaultRuntime}}'])).trim() !== 'crun')
      return t.skip('crun (berth-crun) is not the default runtime');
    // Each container's cgroup path, as it sees it (no cgroup namespace: the host's).
    const paths: string[] = [];
    for (let i = 0; i < 3; i++)
      paths.push(
        (
          await dockerOk(d, ['run', '--rm', 'busybox', 'sed', '-n', 's/^[0-9]*:memory://p', '/proc/self/cgroup'])
        ).trim(),
      );
    const parent = posix.dirname(paths[0]!);
    assert.match(paths[0]!, /^\/.+\/[0-9a-f]{64}$/, 'a cgroup path under a parent');
    const beneath = beneathUnified(parent);
    for (const p of paths) assert.ok(!beneath.includes(posix.basename(p)), `nothing of ${p} under the cgroup2 mount`);

    // Its own memory and pids directories; cpuset and name=systemd the parent's berth-shared.
    const id = (await dockerOk(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
    const dirsOf = () => readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, parent, id)));
    assert.ok(dirsOf().includes('memory') && dirsOf().includes('pids'), dirsOf().join(' '));
    assert.ok(!dirsOf().includes('cpuset') && !dirsOf().includes('systemd'), `shared: ${dirsOf().join(' ')}`);
    const allCpus = readFileSync('/sys/fs/cgroup/cpuset/cpuset.cpus', 'utf8').trim();
    assert.equal((await dockerOk(d, ['exec', id, 'cat', '/sys/fs/cgroup/cpuset/cpuset.cpus'])).trim(), allCpus);
    await dockerOk(d, ['rm', '-f', id]);
    await eventually(() => dirsOf().length === 0, 10_000, 100);
    assert.deepEqual(dirsOf(), [], 'nothing left in any hierarchy');
    assert.ok(!beneathUnified(parent).includes(id));
  },
);

test('restarted with the same remap, berthd finds its images, volumes and stopped containers again', async () => {
  await dockerOk(d, ['volume', 'create', 'kept']);
  await dockerOk(d, [
    'create',
    '--name',
    'before-restart',
    '-v',
    'kept:/k',
    'busybox',
    'sh',
    '-c',
    'echo again > /k/f',
  ]);
  await stopDaemon(d);
  d = await startDaemon(d.extraArgs, d.root);
  await dockerOk(d, ['start', '-a', 'before-restart']);
  assert.equal((await dockerOk(d, ['run', '--rm', '-v', 'kept:/k', 'busybox', 'cat', '/k/f'])).trim(), 'again');
  await dockerOk(d, ['rm', 'before-restart']);
  await dockerOk(d, ['volume', 'rm', 'kept']);
});
