/**
 * The few facts about this host that shape a spec: the cgroup layout, the capabilities this
 * process can hand on, its rlimits, the device nodes a privileged container gets. Facts that
 * cannot change while the daemon runs are read once and cached; the rest are read on use.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { LinuxDevice } from './types.ts';

/** Every capability the kernel knows, by number (CAP_CHOWN is 0). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** The names whose bits are set in a /proc/<pid>/status capability mask. */
export function capsFromMask(mask: bigint): string[] {
  return ALL_CAPABILITIES.filter((_c, i) => (mask >> BigInt(i)) & 1n);
}

/** The /proc/<pid>/status mask of a capability list, as the kernel prints it (16 hex digits). */
export function capMask(caps: readonly string[]): string {
  let m = 0n;
  for (const c of caps) {
    const i = (ALL_CAPABILITIES as readonly string[]).indexOf(c);
    if (i >= 0) m |= 1n << BigInt(i);
  }
  return m.toString(16).padStart(16, '0');
}

let selfCaps: { bounding: string[]; effective: string[] } | undefined;
function ownCaps(): { bounding: string[]; effective: string[] } {
  if (!selfCaps) {
    let status = '';
    try {
      status = readFileSync('/proc/self/status', 'utf8');
    } catch {
      // Not Linux, or no /proc: assume everything, the runtime will say otherwise.
    }
    const mask = (field: string) => {
      const m = status.match(new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm'));
      return m ? BigInt(`0x${m[1]}`) : (1n << BigInt(ALL_CAPABILITIES.length)) - 1n;
    };
    selfCaps = { bounding: capsFromMask(mask('CapBnd')), effective: capsFromMask(mask('CapEff')) };
  }
  return selfCaps;
}

/**
 * The capabilities this process may hand on (its bounding set). `--privileged` and `--cap-add
 * ALL` get these rather than every capability the kernel knows: asking runc for one the host
 * lacks (CAP_SYS_RESOURCE on some VMs) fails the start.
 */
export function hostCapabilities(): string[] {
  return [...ownCaps().bounding];
}

/** Whether this process (and so runc, its descendant) holds `cap` in its effective set. */
export function hostHasCapability(cap: string): boolean {
  return ownCaps().effective.includes(cap);
}

/** A device's major and minor numbers from its dev_t, as glibc's gnu_dev_major/minor split it. */
export function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

const CGROUP2_SUPER_MAGIC = 0x63677270;
let cgroupV: 1 | 2 | undefined;
/**
 * 2 when /sys/fs/cgroup is the unified (cgroup2) hierarchy, else 1: legacy, or hybrid where
 * cgroup2 sits at /sys/fs/cgroup/unified beside the v1 controllers.
 */
export function cgroupVersion(): 1 | 2 {
  if (cgroupV === undefined) {
    let v2: boolean;
    try {
      v2 = statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC;
    } catch {
      v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    }
    cgroupV = v2 ? 2 : 1;
  }
  return cgroupV;
}

let swapAccounting: boolean | undefined;
/** Whether the kernel accounts memory+swap (v1 needs `swapaccount=1`; v2 always has it). */
export function swapLimitSupported(): boolean {
  if (swapAccounting === undefined) {
    if (cgroupVersion() === 1) swapAccounting = existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
    else {
      // The root cgroup has no memory.swap.max; look in our own, as moby's sysinfo does.
      let own = '';
      try {
        own = readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m)?.[1] ?? '';
      } catch {
        // keep ''
      }
      swapAccounting = own === '' || own === '/' || existsSync(join('/sys/fs/cgroup', own, 'memory.swap.max'));
    }
  }
  return swapAccounting;
}

/**
 * Whether containers can get a real-time CPU budget: only cgroup v1's cpu controller has the
 * `cpu.rt_*` knobs (the kernel built with CONFIG_RT_GROUP_SCHED); cgroup v2 has none.
 */
export function cpuRealtimeSupported(): boolean {
  return cgroupVersion() === 1 && existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us');
}

/** Whether the memory cgroup can switch the OOM killer off (cgroup v1's memory.oom_control; v2 cannot). */
export function oomKillDisableSupported(): boolean {
  return cgroupVersion() === 1 && existsSync('/sys/fs/cgroup/memory/memory.oom_control');
}

/** Whether a proportional block I/O weight can be set: CFQ's or BFQ's file in v1, io.weight in v2. */
export function blkioWeightSupported(): boolean {
  return cgroupVersion() === 1
    ? existsSync('/sys/fs/cgroup/blkio/blkio.weight') || existsSync('/sys/fs/cgroup/blkio/blkio.bfq.weight')
    : existsSync('/sys/fs/cgroup/io.weight') || existsSync('/sys/fs/cgroup/io.bfq.weight');
}

/** Whether a block I/O weight per device can be set (CFQ's or BFQ's weight_device, cgroup v1). */
export function blkioWeightDeviceSupported(): boolean {
  return (
    cgroupVersion() === 1 &&
    (existsSync('/sys/fs/cgroup/blkio/blkio.weight_device') ||
      existsSync('/sys/fs/cgroup/blkio/blkio.bfq.weight_device'))
  );
}

const GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  s390x: 's390x',
  ppc64: 'ppc64le',
  riscv64: 'riscv64',
  mips64el: 'mips64le',
  loong64: 'loong64',
};
/** This host's architecture by Go's name (`amd64`), the names Docker's seccomp profiles use. */
export function goArch(): string {
  return GO_ARCH[process.arch] ?? process.arch;
}

/** The running kernel's release, e.g. `6.1.0-18-amd64`. */
export function kernelRelease(): string {
  return os.release();
}

const LIMIT_ROWS: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

/**
 * This process's hard limits by `RLIMIT_*` name (Infinity for unlimited). The container's
 * runtime inherits them, and without CAP_SYS_RESOURCE none can be raised. Read on each call:
 * they may be changed at run time (prlimit).
 */
export function hostHardLimits(): Map<string, number> {
  const out = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const m = line.match(/^(.+?)\s{2,}(\S+)\s+(\S+)/);
    const type = m && LIMIT_ROWS[m[1]!.trim()];
    if (!type) continue;
    out.set(type, m[3] === 'unlimited' ? Infinity : Number(m[3]));
  }
  return out;
}

// containerd's HostDevices skips these: other mounts, or not the host's devices.
const SKIP_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/**
 * The character and block devices under /dev, as a privileged container gets them. Links
 * are not followed (they are not devices), /dev/console is left to the runtime. Read on each
 * call: devices come and go (loop devices, USB).
 */
export function hostDevices(root = '/dev'): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const p = join(dir, name);
      let st;
      try {
        st = lstatSync(p, { bigint: true });
      } catch {
        continue; // gone since the listing
      }
      if (st.isDirectory()) {
        if (!SKIP_DIRS.has(name) && depth < 8) walk(p, depth + 1);
        continue;
      }
      if (name === 'console' && dir === root) continue;
      const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
      if (!type) continue;
      const { major, minor } = deviceNumbers(st.rdev);
      out.push({
        path: `/dev${p.slice(root.length)}`,
        type,
        major,
        minor,
        fileMode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
      });
    }
  };
  walk(root, 0);
  return out;
}

let throttle: string[] | undefined;
/**
 * /sys/devices/system/cpu/cpu<N>/thermal_throttle for each possible CPU where it exists: moby
 * masks them (GHSA-6fw5-f8r9-fgfm). Read once: possible CPUs are fixed at boot.
 */
export function thermalThrottlePaths(): string[] {
  if (!throttle) {
    throttle = [];
    let possible = '';
    try {
      possible = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    } catch {
      // no sysfs: nothing to mask
    }
    for (const range of possible.split(',').filter(Boolean)) {
      const [a, b] = range.split('-').map(Number) as [number, number | undefined];
      for (let cpu = a; cpu <= (b ?? a) && cpu - a < 4096; cpu++) {
        const p = `/sys/devices/system/cpu/cpu${cpu}/thermal_throttle`;
        if (existsSync(p)) throttle.push(p);
      }
    }
  }
  return [...throttle];
}

const sysctlSeen = new Map<string, boolean>();
/** Whether this kernel has the sysctl (`net.ipv4.ping_group_range`), as /proc/sys shows it. */
export function sysctlExists(key: string): boolean {
  let v = sysctlSeen.get(key);
  if (v === undefined) {
    v = existsSync(join('/proc/sys', ...key.split('.')));
    sysctlSeen.set(key, v);
  }
  return v;
}

let userNs: boolean | undefined;
/**
 * Whether this process runs in a user namespace other than the host's (rootless berthd, under
 * rootlesskit): the host's own maps every id to itself, `0 0 4294967295`.
 */
export function inUserNamespace(): boolean {
  if (userNs === undefined) {
    try {
      const fields = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
      userNs = fields.join(' ') !== '0 0 4294967295';
    } catch {
      userNs = false;
    }
  }
  return userNs;
}

const directories = new Map<string, boolean>();
/**
 * Whether the host's `path` is a directory (not a link), asked once per path: for /proc and
 * /sys paths, which a container's own proc and sysfs show alike (the kernel's, fixed at boot).
 */
export function hostDirectory(path: string): boolean {
  let known = directories.get(path);
  if (known === undefined) {
    try {
      known = lstatSync(path).isDirectory();
    } catch {
      known = false;
    }
    directories.set(path, known);
  }
  return known;
}

/** A cpuset list (`0-2,4`) as its numbers; undefined when it is not one. */
export function parseCpuList(list: string): Set<number> | undefined {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) return undefined;
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    if (b! < a || b! - a > 65536) return undefined;
    for (let i = a; i <= b!; i++) out.add(i);
  }
  return out;
}

/**
 * The CPUs and memory nodes containers may be given (`--cpuset-cpus`, `--cpuset-mems`): the
 * root cpuset's effective lists, as moby's sysinfo reads them; undefined without a cpuset
 * controller.
 */
export function cpusetAvailable(): { cpus: string; mems: string } | undefined {
  const [cpusFile, memsFile] =
    cgroupVersion() === 1
      ? ['/sys/fs/cgroup/cpuset/cpuset.effective_cpus', '/sys/fs/cgroup/cpuset/cpuset.effective_mems']
      : ['/sys/fs/cgroup/cpuset.cpus.effective', '/sys/fs/cgroup/cpuset.mems.effective'];
  try {
    return { cpus: readFileSync(cpusFile, 'utf8').trim(), mems: readFileSync(memsFile, 'utf8').trim() };
  } catch {
    return undefined;
  }
}
