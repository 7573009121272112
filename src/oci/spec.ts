/**
 * The runtime spec Docker would write, built from composable options:
 * `generateSpec(id, [withProcessArgs(...), withMemory(...), ...])`. Options are applied in order
 * on top of `defaultSpec`; each changes only its own part.
 */
import { existsSync } from 'node:fs';
import { invalidArgument } from '../errdefs/index.ts';
import { DEFAULT_CAPABILITIES, hostCapabilities, tweakCapabilities } from './capabilities.ts';
import { seccompFor } from './seccomp.ts';
import type { Mount, Namespace, Spec, SpecOpt, DeviceRule } from './types.ts';
import type { User } from './user.ts';

export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Docker's default device cgroup: deny everything, then allow mknod and the usual devices. */
export const DEFAULT_DEVICE_RULES: DeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

let cgroupV: 1 | 2 | undefined;
/** 2 when /sys/fs/cgroup is the unified hierarchy, else 1 (legacy or hybrid). */
export function cgroupVersion(): 1 | 2 {
  cgroupV ??= existsSync('/sys/fs/cgroup/cgroup.controllers') ? 2 : 1;
  return cgroupV;
}

export function defaultSpec(): Spec {
  const caps = [...DEFAULT_CAPABILITIES];
  const namespaces: Namespace[] = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (cgroupVersion() === 2) namespaces.push({ type: 'cgroup' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [],
      env: [],
      cwd: '/',
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
    },
    root: { path: 'rootfs', readonly: false },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    ],
    linux: {
      namespaces,
      resources: { devices: DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) },
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}

export function generateSpec(_id: string, opts: readonly SpecOpt[]): Spec {
  const spec = defaultSpec();
  for (const o of opts) o(spec);
  return spec;
}

export const withRootfs = (path: string, readonly: boolean): SpecOpt => (s) => {
  s.root = { path, readonly };
};
export const withProcessArgs = (args: string[]): SpecOpt => (s) => {
  s.process.args = [...args];
};
export const withEnv = (env: string[]): SpecOpt => (s) => {
  s.process.env = [...env];
};
export const withCwd = (cwd: string): SpecOpt => (s) => {
  if (!cwd.startsWith('/')) throw invalidArgument(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  s.process.cwd = cwd;
};
export const withUser = (u: User): SpecOpt => (s) => {
  s.process.user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
};
export const withHostname = (h: string): SpecOpt => (s) => {
  s.hostname = h;
};
export const withTerminal = (t: boolean): SpecOpt => (s) => {
  s.process.terminal = t;
};
export const withCgroupsPath = (p: string): SpecOpt => (s) => {
  s.linux.cgroupsPath = p;
};

function setCaps(s: Spec, caps: string[]): void {
  s.process.capabilities = { bounding: caps, effective: [...caps], permitted: [...caps] };
}

export const withCapabilities = (c: { add: readonly string[]; drop: readonly string[] }): SpecOpt => (s) => {
  setCaps(s, tweakCapabilities(DEFAULT_CAPABILITIES, c.add, c.drop));
};

export const withPrivileged = (): SpecOpt => (s) => {
  setCaps(s, [...hostCapabilities()]);
  s.linux.maskedPaths = [];
  s.linux.readonlyPaths = [];
  delete s.linux.seccomp;
  s.linux.resources = { ...s.linux.resources, devices: [{ allow: true, access: 'rwm' }] };
  for (const m of s.mounts) {
    if (m.destination === '/sys' || m.destination === '/sys/fs/cgroup') m.options = (m.options ?? []).filter((o) => o !== 'ro').concat('rw');
  }
};

export const withNoNewPrivileges = (): SpecOpt => (s) => {
  s.process.noNewPrivileges = true;
};
export const withReadonlyRootfs = (): SpecOpt => (s) => {
  s.root.readonly = true;
};

/** `seccomp`: 'default', 'unconfined', or a profile as JSON text. Uses the capabilities set so far. */
export const withSeccomp = (seccomp: string): SpecOpt => (s) => {
  if (seccomp === 'unconfined') {
    delete s.linux.seccomp;
    return;
  }
  s.linux.seccomp = seccompFor(s.process.capabilities?.effective ?? [], seccomp === 'default' ? undefined : seccomp);
};

let swapAccounting: boolean | undefined;
export const withMemory = (limit: number, swap?: number): SpecOpt => (s) => {
  s.linux.resources ??= {};
  const mem: NonNullable<NonNullable<Spec['linux']['resources']>['memory']> = { limit };
  swapAccounting ??= cgroupVersion() === 2 || existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
  // Docker's default swap is twice the memory; only where the kernel accounts for swap.
  if (swapAccounting) mem.swap = swap && swap !== 0 ? swap : limit * 2;
  s.linux.resources.memory = mem;
};
export const withCpus = (nanoCpus: number): SpecOpt => (s) => {
  s.linux.resources ??= {};
  const period = 100_000;
  s.linux.resources.cpu = { ...s.linux.resources.cpu, period, quota: Math.round((nanoCpus * period) / 1e9) };
};
export const withCpuShares = (shares: number): SpecOpt => (s) => {
  s.linux.resources ??= {};
  s.linux.resources.cpu = { ...s.linux.resources.cpu, shares };
};
export const withPidsLimit = (limit: number): SpecOpt => (s) => {
  s.linux.resources ??= {};
  s.linux.resources.pids = { limit };
};

const RLIMITS: Record<string, string> = {
  core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS', memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE', nproc: 'RLIMIT_NPROC', rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO', rttime: 'RLIMIT_RTTIME', sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK', as: 'RLIMIT_AS',
};
export const withUlimits = (limits: Array<{ name: string; soft: number; hard: number }>): SpecOpt => (s) => {
  s.process.rlimits = limits.map((l) => {
    const type = RLIMITS[l.name];
    if (!type) throw invalidArgument(`invalid ulimit type: ${l.name}`);
    return { type, soft: l.soft, hard: l.hard };
  });
};
export const withOomScoreAdj = (adj: number): SpecOpt => (s) => {
  if (adj < -1000 || adj > 1000) throw invalidArgument(`Invalid value ${adj}, range for oom score adj is [-1000, 1000]`);
  s.process.oomScoreAdj = adj;
};
export const withSysctl = (sysctl: Record<string, string>): SpecOpt => (s) => {
  s.linux.sysctl = { ...s.linux.sysctl, ...sysctl };
};
export const withoutNamespace = (type: Namespace['type']): SpecOpt => (s) => {
  s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type);
};
export const withNamespacePath = (type: Namespace['type'], path: string): SpecOpt => (s) => {
  s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type).concat({ type, path });
};
export const withMounts = (mounts: Mount[]): SpecOpt => (s) => {
  const dests = new Set(mounts.map((m) => m.destination));
  s.mounts = s.mounts.filter((m) => !dests.has(m.destination)).concat(mounts);
};
/** Docker's `--init`: the init binary at /sbin/docker-init runs the process as its child. */
export const withInit = (initPath: string): SpecOpt => (s) => {
  s.mounts.push({ destination: '/sbin/docker-init', type: 'bind', source: initPath, options: ['bind', 'ro'] });
  s.process.args = ['/sbin/docker-init', '--', ...s.process.args];
};
