/**
 * The generated config.json against the real runc: a busybox root file system, `runc run`
 * with the process's stdout captured, and what the kernel then reports from inside.
 * Needs root, runc and Debian's busybox-static; skipped, saying which is missing, otherwise.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { RealHost } from '../host/index.ts';
import {
  capMask,
  cgroupVersion,
  generateSpec,
  hostCapabilities,
  hostDevices,
  resolveUser,
  withCapabilities,
  withCgroupsPath,
  withEnv,
  withInit,
  withMemory,
  withNoNewPrivileges,
  withOomScoreAdj,
  withPrivileged,
  withProcessArgs,
  withReadonlyRootfs,
  withRootfs,
  withSeccomp,
  withUlimits,
  withUser,
  type SpecOpt,
} from './index.ts';

function findRunc(): string | undefined {
  for (const d of [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/bin',
    '/usr/sbin',
    '/usr/local/bin',
    '/usr/local/sbin',
  ]) {
    if (!d) continue;
    try {
      accessSync(join(d, 'runc'), constants.X_OK);
      return join(d, 'runc');
    } catch {
      // next
    }
  }
  return undefined;
}

const runc = findRunc();
const skip =
  process.getuid?.() !== 0
    ? 'needs root (runc creates namespaces and cgroups)'
    : !runc
      ? 'runc is not installed'
      : !existsSync('/bin/busybox')
        ? "Debian's busybox-static is not installed (/bin/busybox)"
        : false;

const host = new RealHost();
const APPLETS = [
  'sh',
  'cat',
  'id',
  'echo',
  'head',
  'wc',
  'stat',
  'hostname',
  'ls',
  'touch',
  'grep',
  'cut',
  'tr',
  'test',
  '[',
];
const DEFAULT_CAP_MASK = '00000000a80425fb';

let dir = '';
let rootfs = '';
let runcRoot = '';

before(async () => {
  if (skip) return;
  dir = await fs.mkdtemp(join(tmpdir(), 'berth-oci-runc-'));
  rootfs = join(dir, 'rootfs');
  runcRoot = join(dir, 'runc-state');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) await fs.mkdir(join(rootfs, d), { recursive: true });
  await fs.copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
  await fs.chmod(join(rootfs, 'bin/busybox'), 0o755);
  for (const a of APPLETS) await fs.symlink('busybox', join(rootfs, 'bin', a));
  await fs.writeFile(
    join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n',
  );
  await fs.writeFile(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n');
});

after(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** `Key:\tvalue` lines of /proc/self/status and the script's own `KEY=value` lines. */
  get(key: string): string | undefined;
}

/** Runs `script` under `sh -c` in a container made from the generated spec, then deletes it. */
async function runInContainer(script: string, opts: SpecOpt[]): Promise<Ran> {
  const id = `berth-oci-test-${randomBytes(6).toString('hex')}`;
  const bundle = join(dir, id);
  await fs.mkdir(bundle);
  const spec = generateSpec(id, [
    withRootfs(rootfs, false),
    withProcessArgs(['sh', '-c', script]),
    withEnv(['PATH=/bin']),
    withCgroupsPath(`/berth-test/${id}`),
    ...opts,
  ]);
  await fs.writeFile(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
  try {
    const r = await host.run(runc!, ['--root', runcRoot, 'run', '--bundle', bundle, id], {
      allowFailure: true,
      timeoutMs: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const get = (key: string) => {
      const m = r.stdout.match(new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[:=][ \\t]*(.*)$`, 'm'));
      return m?.[1]?.trim();
    };
    if (process.env.BERTH_OCI_DEBUG) console.error(r.stdout, r.stderr);
    return { ...r, get };
  } finally {
    await host.run(runc!, ['--root', runcRoot, 'delete', '-f', id], { allowFailure: true });
  }
}

const PROBE = [
  'cat /proc/self/status',
  'echo "ID=$(id)"',
  // Some kernels (this Firecracker VM's) have no /proc/kcore: then /proc/keys shows the masking.
  'echo "KCORE_BYTES=$(head -c 16 /proc/kcore 2>/dev/null | wc -c)"',
  'echo "KCORE_TYPE=$(stat -c %F /proc/kcore 2>/dev/null || echo absent)"',
  'echo "KEYS_TYPE=$(stat -c %F /proc/keys 2>/dev/null || echo absent)"',
  'echo "FIRMWARE=$(ls /sys/firmware 2>/dev/null | wc -l)"',
  'if (echo berth > /proc/sys/kernel/domainname) 2>/dev/null; then echo PROCSYS=writable; else echo PROCSYS=readonly; fi',
  'if touch /berth-probe 2>/dev/null; then echo ROOTFS=writable; else echo ROOTFS=readonly; fi',
  'echo "MEM=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max 2>/dev/null)"',
  'echo "MEMSW=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo none)"',
  'echo "NOFILE=$(grep "Max open files" /proc/self/limits | tr -s " " | cut -d" " -f4,5)"',
  'echo "OOM=$(cat /proc/self/oom_score_adj)"',
  'echo "HOST=$(hostname)"',
  'echo "PING=$(cat /proc/sys/net/ipv4/ping_group_range | tr "\\t" " ")"',
  'echo "DEVS=$(ls /dev | wc -l)"',
].join('; ');

test(
  'default spec + seccomp + memory limit under runc: Docker caps, seccomp filter, masked and read-only /proc',
  { skip },
  async () => {
    const r = await runInContainer(PROBE, [
      withSeccomp('default'),
      withMemory(64 * 1024 * 1024),
      withNoNewPrivileges(),
      withUlimits([{ name: 'nofile', soft: 1024, hard: 2048 }]),
      withOomScoreAdj(500),
    ]);
    assert.equal(r.code, 0, `runc run failed: ${r.stderr}\n${r.stdout}`);
    assert.equal(r.get('CapEff'), DEFAULT_CAP_MASK);
    assert.equal(r.get('CapPrm'), DEFAULT_CAP_MASK);
    assert.equal(r.get('CapBnd'), DEFAULT_CAP_MASK);
    assert.equal(r.get('CapInh'), '0000000000000000');
    assert.equal(r.get('Seccomp'), '2');
    assert.equal(r.get('NoNewPrivs'), '1');
    assert.match(r.get('ID') ?? '', /^uid=0\(root\) gid=0\(root\)/);
    assert.equal(r.get('KCORE_BYTES'), '0', '/proc/kcore reads empty');
    if (existsSync('/proc/kcore'))
      assert.equal(r.get('KCORE_TYPE'), 'character special file', '/proc/kcore is /dev/null');
    if (existsSync('/proc/keys')) assert.equal(r.get('KEYS_TYPE'), 'character special file', '/proc/keys is /dev/null');
    if (existsSync('/sys/firmware')) assert.equal(r.get('FIRMWARE'), '0', '/sys/firmware is an empty tmpfs');
    assert.equal(r.get('PROCSYS'), 'readonly');
    assert.equal(r.get('ROOTFS'), 'writable');
    assert.equal(r.get('MEM'), String(64 * 1024 * 1024));
    if (cgroupVersion() === 1 && r.get('MEMSW') !== 'none')
      assert.equal(r.get('MEMSW'), String(128 * 1024 * 1024), 'swap defaults to twice the memory');
    assert.equal(r.get('NOFILE'), '1024 2048');
    assert.equal(r.get('OOM'), '500');
    assert.match(r.get('HOST') ?? '', /^berth-oci-te/, 'hostname is the id shortened to 12');
    assert.equal(r.get('PING'), '0 2147483647', "Docker's unprivileged ping sysctl");
  },
);

test(
  'withUser from the image passwd: ids and groups, no effective capabilities for a non-root user',
  { skip },
  async () => {
    const user = await resolveUser('app', rootfs);
    assert.deepEqual(user, { uid: 1000, gid: 1000, additionalGids: [2000], home: '/home/app' });
    const r = await runInContainer(PROBE, [withUser(user), withSeccomp('default'), withReadonlyRootfs()]);
    assert.equal(r.code, 0, `runc run failed: ${r.stderr}\n${r.stdout}`);
    assert.match(r.get('ID') ?? '', /^uid=1000\(app\) gid=1000\(app\) groups=.*2000\(extra\)/);
    assert.equal(r.get('CapEff'), '0000000000000000');
    assert.equal(r.get('CapBnd'), DEFAULT_CAP_MASK);
    assert.equal(r.get('Seccomp'), '2');
    assert.equal(r.get('NoNewPrivs'), '0');
    assert.equal(r.get('ROOTFS'), 'readonly');
  },
);

test(
  'withPrivileged under runc: every host capability, no seccomp, /proc unmasked and writable, host devices',
  { skip },
  async () => {
    const devs = hostDevices();
    const probeDev = devs.find((d) => d.type === 'b') ?? devs.find((d) => d.path !== '/dev/null');
    const script = `${PROBE}; ${probeDev ? `if [ -e ${probeDev.path} ]; then echo HOSTDEV=yes; else echo HOSTDEV=no; fi` : 'echo HOSTDEV=none'}`;
    const r = await runInContainer(script, [withPrivileged(), withSeccomp('default')]);
    assert.equal(r.code, 0, `runc run failed: ${r.stderr}\n${r.stdout}`);
    const all = capMask(hostCapabilities());
    assert.equal(r.get('CapEff'), all);
    assert.equal(r.get('CapBnd'), all);
    assert.equal(r.get('Seccomp'), '0', 'privileged stays unconfined even when a profile is asked for');
    assert.notEqual(r.get('KCORE_TYPE'), 'character special file');
    if (existsSync('/proc/keys')) assert.equal(r.get('KEYS_TYPE'), 'regular empty file', '/proc/keys is not masked');
    if (existsSync('/sys/firmware')) assert.notEqual(r.get('FIRMWARE'), '0', '/sys/firmware is not masked');
    assert.equal(r.get('PROCSYS'), 'writable');
    if (probeDev) assert.equal(r.get('HOSTDEV'), 'yes', `${probeDev.path} is in the container`);
  },
);

test('withCapabilities drop ALL add NET_ADMIN under runc: exactly CAP_NET_ADMIN', { skip }, async () => {
  const r = await runInContainer(PROBE, [
    withCapabilities({ drop: ['ALL'], add: ['net_admin'] }),
    withSeccomp('default'),
  ]);
  assert.equal(r.code, 0, `runc run failed: ${r.stderr}\n${r.stdout}`);
  assert.equal(r.get('CapEff'), '0000000000001000');
  assert.equal(r.get('CapBnd'), '0000000000001000');
  assert.equal(r.get('Seccomp'), '2');
});

// The rootfs has no libc: only the static build can run in it.
const tini = existsSync('/usr/bin/tini-static') ? '/usr/bin/tini-static' : undefined;

test(
  'withInit under runc: tini is PID 1 and runs the command',
  { skip: skip || (!tini && "Debian's tini (/usr/bin/tini-static) is not installed") },
  async () => {
    const r = await runInContainer('echo "PID1=$(cat /proc/1/cmdline | tr "\\0" " ")"', [
      withInit(tini!),
      withSeccomp('default'),
    ]);
    assert.equal(r.code, 0, `runc run failed: ${r.stderr}\n${r.stdout}`);
    assert.match(r.get('PID1') ?? '', /^\/sbin\/docker-init -- sh -c /);
  },
);
