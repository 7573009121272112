import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { categoryOf } from '../errdefs/index.ts';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH_ENV,
  INIT_PATH,
  RLIM_INFINITY,
  cgroupVersion,
  defaultSpec,
  generateSpec,
  withAdditionalGids,
  withCgroupsPath,
  withCpuShares,
  withCpus,
  withCpuset,
  withCwd,
  withEnv,
  withHostname,
  withInit,
  withMemory,
  withMounts,
  withNamespace,
  withNamespacePath,
  withNoNewPrivileges,
  withOomScoreAdj,
  withoutNamespace,
  withPidsLimit,
  withPrivileged,
  withMaskedPaths,
  withSharedMask,
  withProcessArgs,
  withReadonlyRootfs,
  withSeccomp,
  withRootfs,
  withShmSize,
  withSysctl,
  withTerminal,
  withUlimits,
  withUser,
  type SpecOpt,
} from './index.ts';

function failsWith(fn: () => unknown, category: string, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.equal(categoryOf(e), category, (e as Error).message);
    assert.match((e as Error).message, re);
    return;
  }
  assert.fail(`no error, wanted ${re}`);
}

test("defaultSpec is moby's DefaultLinuxSpec", () => {
  const s = defaultSpec();
  assert.equal(s.ociVersion, '1.0.2');
  assert.equal(s.process.terminal, false);
  assert.equal(s.process.cwd, '/');
  assert.deepEqual(s.process.user, { uid: 0, gid: 0 });
  assert.deepEqual(s.process.env, [DEFAULT_PATH_ENV]);
  assert.deepEqual(s.process.capabilities, {
    bounding: [...DEFAULT_CAPABILITIES],
    effective: [...DEFAULT_CAPABILITIES],
    permitted: [...DEFAULT_CAPABILITIES],
  });
  assert.deepEqual(s.root, { path: 'rootfs', readonly: false });
  assert.deepEqual(s.mounts, [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
  ]);
  const ns = s.linux.namespaces.map((n) => n.type).sort();
  assert.deepEqual(
    ns,
    cgroupVersion() === 2
      ? ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']
      : ['ipc', 'mount', 'network', 'pid', 'uts'],
  );
  for (const p of [
    '/proc/asound',
    '/proc/acpi',
    '/proc/kcore',
    '/proc/keys',
    '/proc/latency_stats',
    '/proc/timer_list',
    '/proc/timer_stats',
    '/proc/sched_debug',
    '/proc/scsi',
    '/sys/firmware',
    '/sys/devices/virtual/powercap',
  ]) {
    assert.ok(s.linux.maskedPaths!.includes(p), p);
  }
  assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  const dev = s.linux.resources!.devices!;
  assert.deepEqual(dev[0], { allow: false, access: 'rwm' }, 'deny everything first');
  const allows = (type: string, major?: number, minor?: number, access = 'rwm') =>
    dev.some((d) => d.allow && d.type === type && d.major === major && d.minor === minor && d.access === access);
  assert.ok(allows('c', undefined, undefined, 'm') && allows('b', undefined, undefined, 'm'), 'mknod of anything');
  for (const [maj, min] of [
    [1, 3],
    [1, 5],
    [1, 7],
    [5, 0],
    [1, 9],
    [1, 8],
    [5, 1],
    [5, 2],
    [136, undefined],
    [10, 200],
  ] as const) {
    assert.ok(allows('c', maj, min), `c ${maj}:${min ?? '*'} rwm`);
  }
  assert.equal(s.hostname, undefined);
  assert.equal(s.linux.cgroupsPath, undefined);
  assert.equal(s.linux.seccomp, undefined);
});

test('with an id: hostname and cgroup as Docker names them; every call is a fresh object', () => {
  const id = 'f00dcafe0123456789abcdef';
  const s = generateSpec(id, []);
  assert.equal(s.hostname, 'f00dcafe0123');
  assert.equal(s.linux.cgroupsPath, `/berth/${id}`);
  s.mounts.push({ destination: '/x' });
  s.linux.resources!.devices![0]!.allow = true;
  assert.equal(defaultSpec(id).mounts.length, 7);
  assert.equal(defaultSpec(id).linux.resources!.devices![0]!.allow, false);
  assert.equal(generateSpec([withCgroupsPath('/berth-test/x')]).linux.cgroupsPath, '/berth-test/x');
});

test('options compose: process, root, terminal, hostname', () => {
  const s = generateSpec('c1', [
    withRootfs('/var/lib/berth/c1/rootfs', true),
    withProcessArgs(['sh', '-c', 'echo hi']),
    withEnv(['A=1', 'PATH=/bin']),
    withCwd('/srv//app/'),
    withUser({ uid: 1000, gid: 1000, additionalGids: [27, 27, 100] }),
    withAdditionalGids([100, 5]),
    withHostname('web'),
    withTerminal(true),
    withNoNewPrivileges(),
  ]);
  assert.deepEqual(s.root, { path: '/var/lib/berth/c1/rootfs', readonly: true });
  assert.deepEqual(s.process.args, ['sh', '-c', 'echo hi']);
  assert.deepEqual(s.process.env, ['PATH=/bin', 'A=1']);
  assert.equal(s.process.cwd, '/srv/app/');
  assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 27, 100, 5] });
  assert.equal(s.hostname, 'web');
  assert.equal(s.process.terminal, true);
  assert.equal(s.process.noNewPrivileges, true);
  assert.equal(generateSpec([withReadonlyRootfs()]).root.readonly, true);
  failsWith(
    () => generateSpec([withCwd('relative')]),
    'InvalidArgument',
    /the working directory 'relative' is invalid, it needs to be an absolute path/,
  );
  failsWith(() => generateSpec([withProcessArgs([])]), 'InvalidArgument', /no command specified/);
  failsWith(() => generateSpec([withUser({ uid: -1, gid: 0 })]), 'InvalidArgument', /uids and gids must be in range/);
});

test('withEnv sets over what is there: replace by key, append new, bare key removes', () => {
  const s = generateSpec([withEnv(['A=1', 'B=2']), withEnv(['A=3', 'C=', 'B']), withEnv(['D=x=y'])]);
  assert.deepEqual(s.process.env, [DEFAULT_PATH_ENV, 'A=3', 'C=', 'D=x=y']);
});

test('resources: memory and swap as Docker computes them', () => {
  const mib = 1024 * 1024;
  const mem = (...opts: SpecOpt[]) => generateSpec(opts).linux.resources!.memory;
  const swapOk = mem(withMemory(64 * mib))!.swap !== undefined;
  if (swapOk) {
    assert.deepEqual(mem(withMemory(64 * mib)), { limit: 64 * mib, swap: 128 * mib });
    assert.deepEqual(mem(withMemory(64 * mib, -1)), { limit: 64 * mib, swap: -1 });
    assert.deepEqual(mem(withMemory(64 * mib, 100 * mib, 32 * mib)), {
      limit: 64 * mib,
      swap: 100 * mib,
      reservation: 32 * mib,
    });
  }
  failsWith(
    () => mem(withMemory(64 * mib, 32 * mib)),
    'InvalidArgument',
    /Minimum memoryswap limit should be larger than memory limit/,
  );
  failsWith(() => mem(withMemory(mib)), 'InvalidArgument', /Minimum memory limit allowed is 6MB/);
  failsWith(() => mem(withMemory(64 * mib, 0, 65 * mib)), 'InvalidArgument', /memory reservation/);
});

test('resources: cpus as a CFS quota, shares clamped, cpuset, pids', () => {
  const r = (...opts: SpecOpt[]) => generateSpec(opts).linux.resources!;
  assert.deepEqual(r(withCpus(500_000_000)).cpu, { period: 100_000, quota: 50_000 });
  assert.deepEqual(r(withCpus(1_000_000_000), withCpuShares(512)).cpu, {
    period: 100_000,
    quota: 100_000,
    shares: 512,
  });
  assert.equal(r(withCpus(10_000_000)).cpu!.quota, 1000, '0.01 CPU is the smallest');
  failsWith(() => r(withCpus(1_000_000)), 'InvalidArgument', /Range of CPUs is from 0.01 to/);
  failsWith(() => r(withCpus(10_000 * 1e9)), 'InvalidArgument', /CPUs available/);
  assert.equal(r(withCpuShares(1)).cpu!.shares, 2);
  assert.equal(r(withCpuShares(1e9)).cpu!.shares, 262_144);
  assert.deepEqual(r(withCpuset('0-1,3', '0')).cpu, { cpus: '0-1,3', mems: '0' });
  failsWith(() => r(withCpuset('a-b')), 'InvalidArgument', /cpuset cpus/);
  assert.deepEqual(r(withPidsLimit(100)).pids, { limit: 100 });
  assert.equal(r(withPidsLimit(100), withPidsLimit(0)).pids, undefined);
  assert.ok(r(withMemory(64 << 20)).devices!.length > 1, 'resources are merged, not replaced');
});

test('ulimits: RLIMIT_ names, soft <= hard, -1 is RLIM_INFINITY written exactly, later wins', () => {
  const s = generateSpec([
    withUlimits([
      { name: 'nofile', soft: 1024, hard: 2048 },
      { name: 'core', soft: -1, hard: -1 },
    ]),
    withUlimits([{ name: 'nofile', soft: 100, hard: 200 }]),
  ]);
  assert.deepEqual(s.process.rlimits, [
    { type: 'RLIMIT_NOFILE', soft: 100, hard: 200 },
    { type: 'RLIMIT_CORE', soft: RLIM_INFINITY, hard: RLIM_INFINITY },
  ]);
  assert.match(JSON.stringify(s), /"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615/);
  failsWith(
    () => generateSpec([withUlimits([{ name: 'nofile', soft: 20, hard: 10 }])]),
    'InvalidArgument',
    /ulimit soft limit must be less than or equal to hard limit: 20 > 10/,
  );
  failsWith(
    () => generateSpec([withUlimits([{ name: 'bogus', soft: 1, hard: 1 }])]),
    'InvalidArgument',
    /invalid ulimit type: bogus/,
  );
});

const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
const hasSysResource = capEff ? ((BigInt(`0x${capEff[1]}`) >> 24n) & 1n) === 1n : true;

test(
  'without CAP_SYS_RESOURCE: a hard limit above the host one, or a negative OOM score, is refused up front',
  { skip: hasSysResource && 'the daemon holds CAP_SYS_RESOURCE here' },
  () => {
    const nofile = Number(/^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
    assert.ok(generateSpec([withUlimits([{ name: 'nofile', soft: nofile, hard: nofile }])]));
    failsWith(
      () => generateSpec([withUlimits([{ name: 'nofile', soft: 10, hard: nofile + 1 }])]),
      'FailedPrecondition',
      /ulimit nofile=10:\d+: the hard limit is above this host's \(\d+\)/,
    );
    failsWith(
      () => generateSpec([withOomScoreAdj(-500)]),
      'FailedPrecondition',
      /oom score adj -500: a negative value needs CAP_SYS_RESOURCE/,
    );
  },
);

test('OOM score adjustment: range checked, non-negative passed through', () => {
  assert.equal(generateSpec([withOomScoreAdj(500)]).process.oomScoreAdj, 500);
  assert.equal(generateSpec([withOomScoreAdj(0)]).process.oomScoreAdj, 0);
  failsWith(
    () => generateSpec([withOomScoreAdj(1001)]),
    'InvalidArgument',
    /Invalid value 1001, range for oom score adj is \[-1000, 1000\]/,
  );
});

test("namespaces: host network removes it, joining sets a path; Docker's network sysctls only for a network of its own", () => {
  const own = generateSpec([]);
  assert.deepEqual(own.linux.sysctl, {
    'net.ipv4.ping_group_range': '0 2147483647',
    'net.ipv4.ip_unprivileged_port_start': '0',
  });
  const host = generateSpec([withoutNamespace('network')]);
  assert.ok(!host.linux.namespaces.some((n) => n.type === 'network'));
  assert.equal(host.linux.sysctl, undefined);
  const joined = generateSpec([withNamespacePath('network', '/proc/42/ns/net')]);
  assert.deepEqual(
    joined.linux.namespaces.filter((n) => n.type === 'network'),
    [{ type: 'network', path: '/proc/42/ns/net' }],
  );
  assert.equal(joined.linux.sysctl, undefined);
  assert.equal(
    generateSpec([withNamespace('cgroup'), withNamespace('cgroup')]).linux.namespaces.filter((n) => n.type === 'cgroup')
      .length,
    1,
  );
  failsWith(() => generateSpec([withNamespacePath('pid', 'proc/1/ns/pid')]), 'InvalidArgument', /must be absolute/);
});

test('sysctls: namespaced ones only, user values win, checked against the final namespaces', () => {
  const s = generateSpec([
    withSysctl({ 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shmmax': '1000', 'fs.mqueue.msg_max': '20' }),
  ]);
  assert.deepEqual(s.linux.sysctl, {
    'net.ipv4.ping_group_range': '0 2147483647',
    'net.ipv4.ip_unprivileged_port_start': '1024',
    'kernel.shmmax': '1000',
    'fs.mqueue.msg_max': '20',
  });
  failsWith(
    () => generateSpec([withSysctl({ 'vm.swappiness': '10' })]),
    'InvalidArgument',
    /sysctl "vm.swappiness" is not allowed/,
  );
  failsWith(
    () => generateSpec([withSysctl({ 'net.core.somaxconn': '1' }), withoutNamespace('network')]),
    'InvalidArgument',
    /not allowed in the host network namespace/,
  );
  failsWith(
    () => generateSpec([withSysctl({ 'kernel.sem': '1' }), withoutNamespace('ipc')]),
    'InvalidArgument',
    /host IPC namespace/,
  );
});

test('mounts: same destination replaced, a /dev mount replaces those under it, parents first', () => {
  const bind = (
    destination: string,
    source = '/host' + destination,
  ): { destination: string; type: string; source: string; options: string[] } => ({
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'rprivate'],
  });
  const s = generateSpec([
    withMounts([bind('/data/sub'), bind('/data'), bind('/dev/shm', '/host/shm'), bind('/etc/hosts/')]),
  ]);
  const dests = s.mounts.map((m) => m.destination);
  assert.deepEqual(dests, [
    '/proc',
    '/dev',
    '/dev/pts',
    '/sys',
    '/sys/fs/cgroup',
    '/dev/mqueue',
    '/data',
    '/data/sub',
    '/dev/shm',
    '/etc/hosts',
  ]);
  assert.equal(s.mounts.find((m) => m.destination === '/dev/shm')!.type, 'bind');
  const dev = generateSpec([withMounts([bind('/dev')])]);
  assert.deepEqual(
    dev.mounts.map((m) => m.destination),
    ['/proc', '/sys', '/sys/fs/cgroup', '/dev'],
  );
  failsWith(() => generateSpec([withMounts([bind('data')])]), 'InvalidArgument', /is not an absolute path/);
  const shm = generateSpec([withShmSize(128 * 1024 * 1024)]).mounts.find((m) => m.destination === '/dev/shm')!;
  assert.deepEqual(shm.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=134217728']);
});

test('mounts: a shared bind makes the root shared, a slave one rslave, private ones leave it alone', () => {
  const bind = (propagation: string) => ({
    destination: '/b',
    type: 'bind',
    source: '/h',
    options: ['rbind', propagation],
  });
  assert.equal(generateSpec([withMounts([bind('rprivate')])]).linux.rootfsPropagation, undefined);
  assert.equal(generateSpec([withMounts([bind('rshared')])]).linux.rootfsPropagation, 'shared');
  assert.equal(generateSpec([withMounts([bind('rslave')])]).linux.rootfsPropagation, 'rslave');
  assert.equal(
    generateSpec([withMounts([bind('rshared')]), withMounts([bind('rslave')])]).linux.rootfsPropagation,
    'shared',
  );
});

test('--init wraps the final argv with /sbin/docker-init, whatever the order of options', () => {
  for (const opts of [
    [withInit('/usr/bin/tini-static'), withProcessArgs(['sh'])],
    [withProcessArgs(['sh']), withInit('/usr/bin/tini-static')],
  ]) {
    const s = generateSpec(opts);
    assert.deepEqual(s.process.args, [INIT_PATH, '--', 'sh']);
    assert.deepEqual(
      s.mounts.filter((m) => m.destination === INIT_PATH),
      [{ destination: INIT_PATH, type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro'] }],
    );
  }
  const twice = generateSpec([withProcessArgs(['sh']), withInit('/a'), withInit('/b')]);
  assert.deepEqual(twice.process.args, [INIT_PATH, '--', 'sh']);
  assert.equal(twice.mounts.filter((m) => m.destination === INIT_PATH).length, 1);
});

test('masked and read-only paths given replace the defaults; one list given leaves the other alone', () => {
  const s = generateSpec([withMaskedPaths(['/bin/ls'], ['/tmp'])]);
  assert.deepEqual(s.linux.maskedPaths, ['/bin/ls']);
  assert.deepEqual(s.linux.readonlyPaths, ['/tmp']);
  const only = generateSpec([withMaskedPaths(undefined, ['/tmp'])]);
  assert.ok(only.linux.maskedPaths!.includes('/proc/kcore'));
  assert.deepEqual(only.linux.readonlyPaths, ['/tmp']);
});

test('privileged: no masks, all devices allowed and created, /sys and cgroup writable', () => {
  const devices = [{ path: '/dev/loop0', type: 'b' as const, major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6 }];
  const s = generateSpec([withSeccomp('default'), withPrivileged({ devices })]);
  assert.deepEqual(s.linux.maskedPaths, []);
  assert.deepEqual(s.linux.readonlyPaths, []);
  assert.deepEqual(s.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.deepEqual(s.linux.devices, devices);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/sys')!.options, ['nosuid', 'noexec', 'nodev']);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options, ['nosuid', 'noexec', 'nodev']);
  assert.equal(s.linux.seccomp, undefined);
});

test('a spec is plain JSON data', () => {
  const s = generateSpec('abc', [
    withProcessArgs(['true']),
    withMemory(64 << 20),
    withUlimits([{ name: 'nofile', soft: 10, hard: 10 }]),
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
});

test('a shared mask: masked directories under /proc and /sys become read-only binds of it, files stay masked', () => {
  const dirs = new Set(['/proc/acpi', '/sys/firmware', '/proc/scsi']);
  const s = generateSpec('c1', [
    withMaskedPaths(['/proc/acpi', '/proc/kcore', '/sys/firmware', '/proc/scsi', '/etc/secret'], null),
    withMounts([{ destination: '/proc/scsi', type: 'tmpfs', source: 'tmpfs', options: [] }]),
    withSharedMask('/run/berth/masked', (p) => dirs.has(p)),
  ]);
  assert.deepEqual(
    s.linux.maskedPaths,
    ['/proc/kcore', '/proc/scsi', '/etc/secret'],
    'files, paths outside /proc and /sys, and a path the container mounts something on stay masked by the runtime',
  );
  const binds = s.mounts.filter((m) => m.source === '/run/berth/masked');
  assert.deepEqual(
    binds.map((m) => m.destination),
    ['/proc/acpi', '/sys/firmware'],
  );
  for (const m of binds) assert.deepEqual(m.options, ['bind', 'ro', 'nosuid', 'nodev', 'noexec']);
});
