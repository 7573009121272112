import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './config.ts';
import {
  capMask,
  cpusetCount,
  guestMountRecord,
  kernelCmdline,
  mountFlags,
  mountsInGuest,
  processRecords,
  qemuArgs,
  shimConf,
  startRecords,
  vmSize,
  type VmFacts,
} from './plan.ts';

const facts: VmFacts = {
  qemu: '/usr/bin/qemu-system-x86_64',
  virtiofsd: '/usr/lib/qemu/virtiofsd',
  kernel: '/k/vmlinuz',
  initrd: '/k/initramfs.img',
  accel: 'tcg',
  hostCpus: 2,
  tscKhz: 2096019,
};

test('the memory limit becomes the VM RAM (at least 128 MiB), 512 MiB without one', () => {
  assert.equal(vmSize({ memoryLimit: 300 * 1024 * 1024 }, 2).memoryMiB, 300);
  assert.equal(vmSize({ memoryLimit: 6 * 1024 * 1024 }, 2).memoryMiB, 128);
  assert.equal(vmSize({}, 2).memoryMiB, 512);
});

test('--cpus 1.5 gives 2 vCPUs, --cpuset-cpus 0-2 three, capped at the host CPUs', () => {
  assert.equal(vmSize({ cpuQuota: 150000, cpuPeriod: 100000 }, 8).cpus, 2);
  assert.equal(vmSize({ cpusetCpus: '0-2' }, 8).cpus, 3);
  assert.equal(vmSize({ cpuQuota: 800000, cpuPeriod: 100000 }, 2).cpus, 2);
  assert.equal(vmSize({}, 2).cpus, 1);
  assert.equal(cpusetCount('0-1,4,6-7'), 5);
});

test('mount options become mount(2) flags, the rest its data; propagation is dropped', () => {
  assert.deepEqual(mountFlags(['nosuid', 'noexec', 'nodev', 'ro']), { flags: 1 | 2 | 4 | 8, data: '' });
  assert.deepEqual(mountFlags(['nosuid', 'strictatime', 'mode=755', 'size=65536k', 'rprivate']), {
    flags: 2 | (1 << 24),
    data: 'mode=755,size=65536k',
  });
  assert.deepEqual(mountFlags(['ro', 'rw']), { flags: 0, data: '' });
});

test('kernel file systems are mounted by the guest; binds on the host; other types are refused', () => {
  assert.equal(mountsInGuest({ destination: '/proc', type: 'proc', source: 'proc', options: [] }), true);
  assert.equal(mountsInGuest({ destination: '/d', type: 'bind', source: '/srv', options: ['rbind'] }), false);
  assert.equal(mountsInGuest({ destination: '/d', type: 'none', source: '/srv', options: ['bind'] }), false);
  assert.throws(
    () => mountsInGuest({ destination: '/n', type: 'nfs', source: 'h:/x', options: [] }),
    /nfs mount is not possible/,
  );
  assert.equal(
    guestMountRecord({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'size=64k'] }),
    'tmpfs\x1fshm\x1f/dev/shm\x1f2\x1fsize=64k',
  );
});

test('capabilities become bit masks by their kernel numbers', () => {
  assert.equal(capMask(['CAP_CHOWN', 'CAP_KILL']), (1 | (1 << 5)).toString(16));
  assert.equal(capMask(['CAP_SYS_ADMIN']), (1 << 21).toString(16));
  assert.equal(capMask(['CAP_CHECKPOINT_RESTORE', 'CAP_NOT_A_CAP']), (1n << 40n).toString(16));
});

test("a process's records carry its user, environment, limits and terminal", () => {
  const spec = parseConfig(
    JSON.stringify({
      process: {
        terminal: true,
        consoleSize: { height: 40, width: 120 },
        user: { uid: 1000, gid: 1000, additionalGids: [10, 20] },
        args: ['top', '-b'],
        env: ['PATH=/bin', 'TERM=xterm'],
        cwd: '/work',
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }],
        noNewPrivileges: true,
      },
      root: { path: 'rootfs', readonly: true },
      hostname: 'box',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] },
        { destination: '/etc/hosts', type: 'bind', source: '/x/hosts', options: ['rbind'] },
      ],
      linux: { namespaces: [{ type: 'network' }], maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'] },
    }),
  );
  assert.deepEqual(processRecords(spec.process), [
    ['arg', 'top'],
    ['arg', '-b'],
    ['env', 'PATH=/bin'],
    ['env', 'TERM=xterm'],
    ['cwd', '/work'],
    ['uid', '1000'],
    ['gid', '1000'],
    ['gids', '10,20'],
    ['tty', '1'],
    ['rows', '40'],
    ['cols', '120'],
    ['nnp', '1'],
    ['rlimit', '7:1024:4096'],
  ]);
  const start = startRecords(spec);
  assert.deepEqual(
    start.filter(
      ([k]) => !['arg', 'env', 'cwd', 'uid', 'gid', 'gids', 'tty', 'rows', 'cols', 'nnp', 'rlimit'].includes(k),
    ),
    [
      ['hostname', 'box'],
      ['mount', 'proc\x1fproc\x1f/proc\x1f2\x1f'],
      ['masked', '/proc/kcore'],
      ['readonly', '/proc/sys'],
      ['rootro', '1'],
    ],
  );
});

test('qemu: a TCG microvm with shared memory for virtio-fs, the agent port, and a tap only with a network', () => {
  const args = qemuArgs({ memoryMiB: 256, cpus: 2 }, facts, true);
  const at = (flag: string) => args.filter((_, i) => args[i - 1] === flag);
  assert.deepEqual(at('-M'), ['microvm,accel=tcg,rtc=on']);
  assert.deepEqual(at('-m'), ['256M']);
  assert.deepEqual(at('-smp'), ['2']);
  assert.ok(at('-object').includes('memory-backend-memfd,id=mem,size=256M,share=on'));
  assert.ok(at('-device').includes('virtserialport,chardev=agent,name=berth.agent'));
  assert.ok(at('-netdev').includes('tap,id=net0,ifname=tap0,script=no,downscript=no'));
  assert.equal(qemuArgs({ memoryMiB: 256, cpus: 1 }, facts, false).includes('-netdev'), false);
  assert.deepEqual(at('-cpu'), ['max']);
  assert.deepEqual(qemuArgs({ memoryMiB: 256, cpus: 1 }, { ...facts, accel: 'kvm' }, false).slice(0, 4), [
    '-M',
    'microvm,accel=kvm,rtc=on',
    '-cpu',
    'host',
  ]);
});

test('a TCG guest is told the TSC frequency it cannot measure; a KVM guest is not', () => {
  assert.match(kernelCmdline(facts), /tsc_early_khz=2096019/);
  assert.doesNotMatch(kernelCmdline({ ...facts, accel: 'kvm' }), /tsc_early_khz/);
});

test("shim.conf refuses the host's network namespace and a terminal without a console socket", () => {
  const plan = {
    id: 'vm1',
    size: { memoryMiB: 128, cpus: 1 },
    facts,
    rootfs: '/b/rootfs',
    netns: 'new' as string | undefined,
    binds: [{ source: '/v', target: '/b/rootfs/data', readonly: true, recursive: true }],
    cgroups: ['/sys/fs/cgroup/memory/berth/x'],
    terminal: false,
    bootTimeoutS: 60,
  };
  const conf = shimConf(plan);
  assert.ok(conf.some(([k, v]) => k === 'bind' && v === '/v\x1f/b/rootfs/data\x1f1\x1f1'));
  assert.ok(conf.some(([k, v]) => k === 'mountns' && v === '1'));
  assert.ok(conf.some(([k, v]) => k === 'virtiofsd.arg' && v === 'source=/b/rootfs'));
  // each VM its own virtiofsd socket: virtiofsd locks a pid file named after it
  assert.ok(conf.some(([k, v]) => k === 'virtiofsd.arg' && v === '--socket-path=vfs-vm1.sock'));
  assert.ok(conf.some(([k, v]) => k === 'qemu.arg' && v === 'socket,id=vfs,path=vfs-vm1.sock'));
  assert.ok(conf.some(([k, v]) => k === 'virtiofsd.socket' && v === 'vfs-vm1.sock'));
  assert.throws(() => shimConf({ ...plan, netns: undefined }), /network namespace of its own/);
  assert.throws(() => shimConf({ ...plan, terminal: true }), /console-socket/);
});
