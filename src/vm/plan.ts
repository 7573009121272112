/**
 * From a container's spec to its VM, as pure functions: the VM's size (the memory limit and
 * CPU quota become its RAM and vCPUs), qemu's and virtiofsd's command lines, the shim's
 * configuration and the agent's START and EXEC payloads. Nothing here touches the host, so
 * every decision about how a container maps onto a VM is unit-tested here.
 *
 * Where each of the spec's mounts goes: binds (volumes, /etc/hosts, resolv.conf, hostname)
 * are made on the host, inside the root file system the guest sees through virtio-fs, in a
 * mount namespace of the shim's own; kernel file systems (proc, sysfs, tmpfs, devpts, mqueue,
 * cgroup) are the guest kernel's, so the agent mounts them in the guest.
 *
 * @example
 *   const size = vmSize(spec, 2);                 // { memoryMiB: 512, cpus: 1 }
 *   const argv = qemuArgs(size, facts, true);     // -M microvm,accel=tcg,... -netdev tap,...
 */
import { invalidArgument } from '../errdefs/index.ts';
import { isBindOption, type VmMount, type VmProcess, type VmSpec } from './config.ts';
import type { Rec } from './wire.ts';

/** What the host offers: programs, the guest's kernel and initramfs, the accelerator. */
export interface VmFacts {
  qemu: string;
  virtiofsd: string;
  kernel: string;
  initrd: string;
  accel: 'kvm' | 'tcg';
  hostCpus: number;
  /** The host's TSC frequency: a TCG guest cannot measure it (no PIT, HPET or PM timer in a microvm). */
  tscKhz?: number;
}

export interface VmSize {
  memoryMiB: number;
  cpus: number;
}

/** A VM without a memory limit gets this much RAM; memfd-backed, it costs only what the guest touches. */
export const DEFAULT_MEMORY_MIB = 512;
/** Below this the cloud kernel and a process do not fit. */
export const MIN_MEMORY_MIB = 128;

/** Files of a VM in its state directory, by relative name (unix socket paths are short). */
export const FILES = {
  shimConf: 'shim.conf',
  start: 'start.records',
  console: 'console.log',
  virtiofsSocket: 'vfs.sock',
  agentSocket: 'agent.sock',
  controlSocket: 'ctl.sock',
} as const;

const MIB = 1024 * 1024;

/** The VM's size: RAM from the memory limit, vCPUs from the CPU quota or cpuset (at most the host's). */
export function vmSize(
  spec: Pick<VmSpec, 'memoryLimit' | 'cpuQuota' | 'cpuPeriod' | 'cpusetCpus'>,
  hostCpus: number,
): VmSize {
  const memoryMiB =
    spec.memoryLimit && spec.memoryLimit > 0
      ? Math.max(MIN_MEMORY_MIB, Math.ceil(spec.memoryLimit / MIB))
      : DEFAULT_MEMORY_MIB;
  let cpus = 1;
  if (spec.cpuQuota && spec.cpuQuota > 0) cpus = Math.ceil(spec.cpuQuota / (spec.cpuPeriod || 100000));
  else if (spec.cpusetCpus) cpus = cpusetCount(spec.cpusetCpus);
  return { memoryMiB, cpus: Math.max(1, Math.min(cpus, Math.max(1, hostCpus))) };
}

/** How many CPUs a cpuset list (`0-2,4`) names. */
export function cpusetCount(list: string): number {
  let n = 0;
  for (const part of list.split(',')) {
    const m = part.trim().match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw invalidArgument(`invalid cpuset ${JSON.stringify(list)}`);
    n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return n;
}

const GUEST_FS = new Set(['proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2']);

/** Is the mount made by the guest kernel (true) or bound on the host (false)? Throws for what neither can do. */
export function mountsInGuest(m: VmMount): boolean {
  if (m.type === 'bind' || m.options.some(isBindOption)) return false;
  if (GUEST_FS.has(m.type)) return true;
  throw invalidArgument(`mount ${m.destination}: a ${m.type} mount is not possible in a berth-vm guest`);
}

const FLAGS: Record<string, [set: number, clear: number]> = {
  ro: [1, 0],
  rw: [0, 1],
  nosuid: [2, 0],
  suid: [0, 2],
  nodev: [4, 0],
  dev: [0, 4],
  noexec: [8, 0],
  exec: [0, 8],
  sync: [16, 0],
  async: [0, 16],
  dirsync: [128, 0],
  noatime: [1024, 0],
  atime: [0, 1024],
  nodiratime: [2048, 0],
  diratime: [0, 2048],
  relatime: [1 << 21, 0],
  norelatime: [0, 1 << 21],
  strictatime: [1 << 24, 0],
  nostrictatime: [0, 1 << 24],
};
const PROPAGATION = /^r?(private|shared|slave|unbindable)$/;

/** mount(2) flags and the data string from mount(8)-style options. */
export function mountFlags(options: readonly string[]): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (f) flags = (flags | f[0]) & ~f[1];
    else if (!PROPAGATION.test(o) && !isBindOption(o) && o !== 'defaults') data.push(o);
  }
  return { flags, data: data.join(',') };
}

const SEP = '\x1f';

function field(s: string, what: string): string {
  if (s.includes(SEP) || s.includes('\0')) throw invalidArgument(`${what} ${JSON.stringify(s)}: a control character`);
  return s;
}

/** A guest mount record: type, source, destination, flags, data (see the agent's split_mount). */
export function guestMountRecord(m: VmMount): string {
  const { flags, data } = mountFlags(m.options);
  const source = m.source || m.type;
  return [m.type, field(source, 'mount source'), field(m.destination, 'mount destination'), String(flags), data].join(
    SEP,
  );
}

/** A bind the shim makes on the host: the source onto its target inside the root file system. */
export interface HostBind {
  source: string;
  /** The destination resolved inside the root file system, on the host. */
  target: string;
  readonly: boolean;
  recursive: boolean;
}

export function bindRecord(b: HostBind): string {
  return [
    field(b.source, 'bind source'),
    field(b.target, 'bind destination'),
    b.readonly ? '1' : '0',
    b.recursive ? '1' : '0',
  ].join(SEP);
}

const CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

/** A capability set as the hex bit mask the agent reads; names the guest kernel does not know are left out. */
export function capMask(names: readonly string[]): string {
  let mask = 0n;
  for (const n of names) {
    const i = CAPS.indexOf(n.toUpperCase().replace(/^CAP_/, ''));
    if (i >= 0) mask |= 1n << BigInt(i);
  }
  return mask.toString(16);
}

const RLIMITS = [
  'CPU',
  'FSIZE',
  'DATA',
  'STACK',
  'CORE',
  'RSS',
  'NPROC',
  'NOFILE',
  'MEMLOCK',
  'AS',
  'LOCKS',
  'SIGPENDING',
  'MSGQUEUE',
  'NICE',
  'RTPRIO',
  'RTTIME',
];

/** The records of a process: what both START and EXEC carry. */
export function processRecords(p: VmProcess): Rec[] {
  const r: Rec[] = [];
  for (const a of p.args) r.push(['arg', a]);
  for (const e of p.env) r.push(['env', e]);
  r.push(['cwd', p.cwd], ['uid', String(p.uid)], ['gid', String(p.gid)]);
  if (p.additionalGids.length) r.push(['gids', p.additionalGids.join(',')]);
  if (p.terminal) r.push(['tty', '1']);
  if (p.consoleSize) r.push(['rows', String(p.consoleSize.height)], ['cols', String(p.consoleSize.width)]);
  if (p.noNewPrivileges) r.push(['nnp', '1']);
  for (const l of p.rlimits) {
    const i = RLIMITS.indexOf(l.type.replace(/^RLIMIT_/, ''));
    if (i < 0) throw invalidArgument(`unknown rlimit ${l.type}`);
    r.push(['rlimit', `${i}:${l.soft}:${l.hard}`]);
  }
  if (p.capabilities) {
    r.push(
      ['cap.bounding', capMask(p.capabilities.bounding)],
      ['cap.effective', capMask(p.capabilities.effective)],
      ['cap.permitted', capMask(p.capabilities.permitted)],
      ['cap.inheritable', capMask(p.capabilities.inheritable)],
      ['cap.ambient', capMask(p.capabilities.ambient)],
    );
  }
  return r;
}

/** START's records before the network is known: the process and what the guest mounts and names. */
export function startRecords(spec: VmSpec): Rec[] {
  const r = processRecords(spec.process);
  if (spec.hostname) r.push(['hostname', spec.hostname]);
  for (const m of spec.mounts) if (mountsInGuest(m)) r.push(['mount', guestMountRecord(m)]);
  for (const p of spec.maskedPaths) r.push(['masked', p]);
  for (const p of spec.readonlyPaths) r.push(['readonly', p]);
  if (spec.root.readonly) r.push(['rootro', '1']);
  return r;
}

/** The guest's eth0, as found on the container's side of its veth. */
export interface GuestNetwork {
  mac?: string;
  addresses: readonly string[];
  gateway?: string;
  mtu?: number;
}

export function networkRecords(n: GuestNetwork): Rec[] {
  const r: Rec[] = [];
  if (n.mac) r.push(['net.mac', n.mac]);
  for (const a of n.addresses) r.push(['net.addr', a]);
  if (n.gateway) r.push(['net.gw', n.gateway]);
  if (n.mtu) r.push(['net.mtu', String(n.mtu)]);
  return r;
}

/** The guest kernel's command line. */
export function kernelCmdline(facts: Pick<VmFacts, 'accel' | 'tscKhz'>): string {
  const args = ['console=ttyS0', 'quiet', 'panic=-1', 'pci=off'];
  if (facts.accel === 'tcg' && facts.tscKhz) args.push(`tsc_early_khz=${facts.tscKhz}`);
  return args.join(' ');
}

/**
 * qemu's command line (run in the state directory): a microvm with the container's size,
 * the root file system over virtio-fs (vhost-user, which needs shared memory), the agent's
 * virtio-serial port, and with `network` a tap device for the container's interface.
 */
export function qemuArgs(
  size: VmSize,
  facts: VmFacts,
  network: boolean,
  vfsSocket: string = FILES.virtiofsSocket,
): string[] {
  const mem = `${size.memoryMiB}M`;
  const args = [
    '-M',
    `microvm,accel=${facts.accel},rtc=on`,
    '-cpu',
    facts.accel === 'kvm' ? 'host' : 'max',
    '-m',
    mem,
    '-smp',
    String(size.cpus),
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-no-reboot',
    '-kernel',
    facts.kernel,
    '-initrd',
    facts.initrd,
    '-append',
    kernelCmdline(facts),
    '-serial',
    `file:${FILES.console}`,
    '-global',
    'virtio-mmio.force-legacy=false',
    '-object',
    `memory-backend-memfd,id=mem,size=${mem},share=on`,
    '-numa',
    'node,memdev=mem',
    '-chardev',
    `socket,id=vfs,path=${vfsSocket}`,
    '-device',
    'vhost-user-fs-device,chardev=vfs,tag=rootfs',
    '-device',
    'virtio-serial-device',
    '-chardev',
    `socket,id=agent,path=${FILES.agentSocket}`,
    '-device',
    'virtserialport,chardev=agent,name=berth.agent',
  ];
  if (network)
    args.push('-netdev', 'tap,id=net0,ifname=tap0,script=no,downscript=no', '-device', 'virtio-net-device,netdev=net0');
  return args;
}

/**
 * The virtiofsd socket of container `id`, relative to the VM's state directory (the shim's working
 * directory, which keeps it short of the 108 bytes a socket path may have). virtiofsd names its
 * pid file — and the lock it takes — after the path as given (`/run/virtiofsd/<path>.pid`): one
 * name for every VM let only one boot at a time on the whole machine.
 */
export function virtiofsSocket(id: string): string {
  return `vfs-${id}.sock`;
}

/** virtiofsd's command line: the root file system, submounts (the binds) announced to the guest. */
export function virtiofsdArgs(rootfs: string, vfsSocket: string = FILES.virtiofsSocket): string[] {
  return [
    `--socket-path=${vfsSocket}`,
    '-o',
    `source=${rootfs}`,
    '-o',
    'cache=auto',
    '-o',
    'xattr',
    '-o',
    'announce_submounts',
  ];
}

export interface ShimPlan {
  /** The container's ID: it names the virtiofsd socket (see virtiofsSocket). */
  id: string;
  size: VmSize;
  facts: VmFacts;
  rootfs: string;
  netns: string | undefined;
  binds: readonly HostBind[];
  cgroups: readonly string[];
  terminal: boolean;
  consoleSocket?: string;
  bootTimeoutS: number;
}

/** shim.conf's records (see berth-vm-shim.c's read_conf). */
export function shimConf(p: ShimPlan): Rec[] {
  if (p.netns === undefined)
    throw invalidArgument(
      "a berth-vm container needs a network namespace of its own: the host's network cannot reach into a VM",
    );
  if (p.terminal && !p.consoleSocket) throw invalidArgument('a terminal needs --console-socket');
  const r: Rec[] = [['qemu', p.facts.qemu]];
  const vfs = virtiofsSocket(p.id);
  for (const a of qemuArgs(p.size, p.facts, p.netns === 'new', vfs)) r.push(['qemu.arg', a]);
  r.push(['virtiofsd', p.facts.virtiofsd]);
  for (const a of virtiofsdArgs(p.rootfs, vfs)) r.push(['virtiofsd.arg', a]);
  r.push(['virtiofsd.socket', vfs], ['netns', p.netns]);
  if (p.binds.length) r.push(['mountns', '1']);
  for (const b of p.binds) r.push(['bind', bindRecord(b)]);
  for (const c of p.cgroups) r.push(['cgroup', c]);
  if (p.terminal) r.push(['tty', '1'], ['console', p.consoleSocket!]);
  r.push(['boot.timeout', String(p.bootTimeoutS)]);
  return r;
}
