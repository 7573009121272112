/**
 * The runtime spec Docker would write (moby daemon/pkg/oci/defaults.go), and the one place
 * that applies options to it:
 *
 *   const spec = generateSpec(id, [withRootfs('rootfs', false), withProcessArgs(['sh']), withMemory(64 << 20)]);
 *   await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
 *
 * Options run in the order given, except the few marked late (`withSeccomp`, `withInit`,
 * `withSysctl`), which depend on what the others decided (the capabilities, the argv, the
 * namespaces) and so run after them, in their own order.
 */
import type { DeviceRule, Mount, Namespace, Spec, SpecOpt } from './types.ts';
import { DEFAULT_CAPABILITIES } from './capabilities.ts';
import { cgroupVersion, hostCapabilities, inUserNamespace, sysctlExists, thermalThrottlePaths } from './sysinfo.ts';

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The cgroup parent of a container's cgroup when nothing else is said (Docker's is /docker). */
export const DEFAULT_CGROUP_PARENT = '/berth';

export const MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
]);
export const READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
]);

const rwm = (type: 'c' | 'b', major: number | undefined, minor: number | undefined, access = 'rwm'): DeviceRule => ({
  allow: true,
  type,
  ...(major === undefined ? {} : { major }),
  ...(minor === undefined ? {} : { minor }),
  access,
});

/**
 * The device cgroup of an unprivileged container: deny everything, then allow mknod of any
 * node and use of the usual few. moby writes the deny and null/zero/urandom/random/tty/console
 * and runc appends the rest; written out whole here so that no runtime's own list matters.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  { allow: false, access: 'rwm' },
  rwm('c', undefined, undefined, 'm'),
  rwm('b', undefined, undefined, 'm'),
  rwm('c', 1, 3), // /dev/null
  rwm('c', 1, 5), // /dev/zero
  rwm('c', 1, 7), // /dev/full
  rwm('c', 5, 0), // /dev/tty
  rwm('c', 1, 9), // /dev/urandom
  rwm('c', 1, 8), // /dev/random
  rwm('c', 5, 1), // /dev/console
  rwm('c', 5, 2), // /dev/ptmx
  rwm('c', 136, undefined), // /dev/pts/*
  rwm('c', 10, 200), // /dev/net/tun
]);

function defaultMounts(): Mount[] {
  return [
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
  ];
}

/**
 * Docker's default spec for a Linux container. With an `id`, the hostname is its first 12
 * characters and the cgroup is `/berth/<id>`, as Docker does with `/docker/<id>`. Every call
 * returns a fresh object the caller may change.
 */
export function defaultSpec(id?: string): Spec {
  // A default the host cannot grant would fail every start; leave it out instead.
  const held = new Set(hostCapabilities());
  const caps = DEFAULT_CAPABILITIES.filter((c) => held.has(c));
  // moby's order; a cgroup namespace only on v2, where Docker's default cgroupns mode is private.
  const namespaces: Namespace[] = [
    { type: 'mount' },
    { type: 'network' },
    { type: 'uts' },
    { type: 'pid' },
    { type: 'ipc' },
  ];
  if (cgroupVersion() === 2) namespaces.push({ type: 'cgroup' });
  const spec: Spec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [],
      env: [DEFAULT_PATH_ENV],
      cwd: '/',
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
    },
    root: { path: 'rootfs', readonly: false },
    mounts: defaultMounts(),
    linux: {
      namespaces,
      resources: { devices: DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) },
      maskedPaths: [...MASKED_PATHS, ...thermalThrottlePaths()],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  if (id) {
    spec.hostname = id.slice(0, 12);
    spec.linux.cgroupsPath = `${DEFAULT_CGROUP_PARENT}/${id}`;
  }
  return spec;
}

const LATE = Symbol('berth.oci.late');
type LateOpt = SpecOpt & { [LATE]?: true };

/** Marks an option to run after the ordinary ones (see the module comment). */
export function late(opt: SpecOpt): SpecOpt {
  return Object.assign((s: Spec) => opt(s), { [LATE]: true as const });
}

const isLate = (o: SpecOpt) => (o as LateOpt)[LATE] === true;

/**
 * Docker lets a container that has its own network namespace ping and bind low ports without
 * capabilities; the user's own sysctls win. Not in a namespace it joins, nor in the host's.
 */
function networkSysctls(s: Spec): void {
  const net = s.linux.namespaces.find((n) => n.type === 'network');
  if (!net || net.path) return;
  // In a user namespace (the container's, or rootless berthd's own) gids past the map are invalid.
  const userns = s.linux.namespaces.some((n) => n.type === 'user') || inUserNamespace();
  const add: Record<string, string> = {};
  if (!userns && sysctlExists('net.ipv4.ping_group_range')) add['net.ipv4.ping_group_range'] = '0 2147483647';
  if (sysctlExists('net.ipv4.ip_unprivileged_port_start')) add['net.ipv4.ip_unprivileged_port_start'] = '0';
  if (Object.keys(add).length) s.linux.sysctl = { ...add, ...s.linux.sysctl };
}

/**
 * `defaultSpec(id)` with `opts` applied: the ordinary options in order, then the late ones,
 * then Docker's network sysctls. `generateSpec(opts)` is the same without an id.
 */
export function generateSpec(opts: readonly SpecOpt[]): Spec;
export function generateSpec(id: string, opts: readonly SpecOpt[]): Spec;
export function generateSpec(idOrOpts: string | readonly SpecOpt[], maybeOpts?: readonly SpecOpt[]): Spec {
  const [id, opts] = typeof idOrOpts === 'string' ? [idOrOpts, maybeOpts ?? []] : [undefined, idOrOpts];
  const spec = defaultSpec(id);
  for (const o of opts) if (!isLate(o)) o(spec);
  for (const o of opts) if (isLate(o)) o(spec);
  networkSysctls(spec);
  return spec;
}
