/**
 * `run` and `create` flags, and their translation into an Engine API create request, following
 * the docker CLI's rules (ports, binds and anonymous volumes, env files, sizes in 1024 units,
 * restart policies, health checks, TTY console size).
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type {
  ContainerCreateRequest,
  HostConfig,
  PortBinding,
  Ulimit,
  DeviceMapping,
  EndpointSettings,
  RestartPolicy,
} from '../client/index.ts';
import { FlagValueError, type FlagDef, type Flags } from './flags.ts';
import { StatusError } from './cli.ts';

export const RUN_FLAGS: FlagDef[] = [
  { long: 'add-host', type: 'list', help: 'Add a custom host-to-IP mapping (host:ip)' },
  { long: 'attach', short: 'a', type: 'list', help: 'Attach to STDIN, STDOUT or STDERR' },
  { long: 'cap-add', type: 'list', help: 'Add Linux capabilities' },
  { long: 'cap-drop', type: 'list', help: 'Drop Linux capabilities' },
  { long: 'cgroup-parent', type: 'string', help: 'Optional parent cgroup for the container' },
  { long: 'cgroupns', type: 'string', help: 'Cgroup namespace to use (host|private)' },
  { long: 'cidfile', type: 'string', help: 'Write the container ID to the file' },
  { long: 'cpu-shares', short: 'c', type: 'int', help: 'CPU shares (relative weight)' },
  { long: 'cpus', type: 'string', valueName: 'decimal', help: 'Number of CPUs' },
  { long: 'cpuset-cpus', type: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  { long: 'detach', short: 'd', type: 'bool', help: 'Run container in background and print container ID' },
  { long: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
  { long: 'device', type: 'list', help: 'Add a host device to the container' },
  { long: 'disable-content-trust', type: 'bool', default: true, hidden: true },
  { long: 'dns', type: 'list', help: 'Set custom DNS servers' },
  { long: 'dns-option', type: 'list', help: 'Set DNS options' },
  { long: 'dns-search', type: 'list', help: 'Set custom DNS search domains' },
  { long: 'domainname', type: 'string', help: 'Container NIS domain name' },
  { long: 'entrypoint', type: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  { long: 'env', short: 'e', type: 'list', help: 'Set environment variables' },
  { long: 'env-file', type: 'list', help: 'Read in a file of environment variables' },
  { long: 'expose', type: 'list', help: 'Expose a port or a range of ports' },
  { long: 'group-add', type: 'list', help: 'Add additional groups to join' },
  { long: 'health-cmd', type: 'string', help: 'Command to run to check health' },
  {
    long: 'health-interval',
    type: 'string',
    valueName: 'duration',
    help: 'Time between running the check (ms|s|m|h) (default 0s)',
  },
  { long: 'health-retries', type: 'int', help: 'Consecutive failures needed to report unhealthy' },
  {
    long: 'health-start-period',
    type: 'string',
    valueName: 'duration',
    help: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)',
  },
  {
    long: 'health-timeout',
    type: 'string',
    valueName: 'duration',
    help: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)',
  },
  { long: 'hostname', short: 'h', type: 'string', help: 'Container host name' },
  { long: 'init', type: 'bool', help: 'Run an init inside the container that forwards signals and reaps processes' },
  { long: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
  { long: 'ip', type: 'string', help: 'IPv4 address (e.g., 172.30.100.104)' },
  { long: 'ip6', type: 'string', help: 'IPv6 address (e.g., 2001:db8::33)' },
  { long: 'ipc', type: 'string', help: 'IPC mode to use' },
  { long: 'label', short: 'l', type: 'list', help: 'Set meta data on a container' },
  { long: 'label-file', type: 'list', help: 'Read in a line delimited file of labels' },
  { long: 'link', type: 'list', help: 'Add link to another container' },
  { long: 'log-driver', type: 'string', help: 'Logging driver for the container' },
  { long: 'log-opt', type: 'list', help: 'Log driver options' },
  { long: 'mac-address', type: 'string', help: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { long: 'memory', short: 'm', type: 'string', valueName: 'bytes', help: 'Memory limit' },
  { long: 'memory-reservation', type: 'string', valueName: 'bytes', help: 'Memory soft limit' },
  {
    long: 'memory-swap',
    type: 'string',
    valueName: 'bytes',
    help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
  },
  { long: 'mount', type: 'list', valueName: 'mount', help: 'Attach a filesystem mount to the container' },
  { long: 'name', type: 'string', help: 'Assign a name to the container' },
  { long: 'network', type: 'string', valueName: 'network', help: 'Connect a container to a network' },
  { long: 'network-alias', type: 'list', help: 'Add network-scoped alias for the container' },
  { long: 'no-healthcheck', type: 'bool', help: 'Disable any container-specified HEALTHCHECK' },
  { long: 'oom-kill-disable', type: 'bool', help: 'Disable OOM Killer' },
  { long: 'oom-score-adj', type: 'int', help: "Tune host's OOM preferences (-1000 to 1000)" },
  { long: 'pid', type: 'string', help: 'PID namespace to use' },
  { long: 'pids-limit', type: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
  { long: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
  { long: 'pod', type: 'string', help: 'Run container in an existing pod' },
  { long: 'privileged', type: 'bool', help: 'Give extended privileges to this container' },
  { long: 'publish', short: 'p', type: 'list', help: "Publish a container's port(s) to the host" },
  { long: 'publish-all', short: 'P', type: 'bool', help: 'Publish all exposed ports to random ports' },
  {
    long: 'pull',
    type: 'string',
    default: 'missing',
    help: 'Pull image before running ("always", "missing", "never")',
  },
  { long: 'quiet', short: 'q', type: 'bool', help: 'Suppress the pull output' },
  {
    long: 'rootfs-file',
    type: 'string',
    valueName: 'file',
    help: 'Run from a squashfs image file (berth image pack) instead of an image: no IMAGE argument',
  },
  { long: 'read-only', type: 'bool', help: "Mount the container's root filesystem as read only" },
  { long: 'restart', type: 'string', default: 'no', help: 'Restart policy to apply when a container exits' },
  {
    long: 'rm',
    type: 'bool',
    help: 'Automatically remove the container and its associated anonymous volumes when it exits',
  },
  { long: 'runtime', type: 'string', help: 'Runtime to use for this container' },
  { long: 'security-opt', type: 'list', help: 'Security Options' },
  { long: 'shm-size', type: 'string', valueName: 'bytes', help: 'Size of /dev/shm' },
  { long: 'sig-proxy', type: 'bool', default: true, help: 'Proxy received signals to the process' },
  { long: 'stop-signal', type: 'string', help: 'Signal to stop the container' },
  { long: 'stop-timeout', type: 'int', help: 'Timeout (in seconds) to stop a container' },
  { long: 'sysctl', type: 'list', valueName: 'map', help: 'Sysctl options' },
  { long: 'tmpfs', type: 'list', help: 'Mount a tmpfs directory' },
  { long: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
  { long: 'ulimit', type: 'list', valueName: 'ulimit', help: 'Ulimit options' },
  { long: 'user', short: 'u', type: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { long: 'userns', type: 'string', help: 'User namespace to use' },
  { long: 'uts', type: 'string', help: 'UTS namespace to use' },
  { long: 'volume', short: 'v', type: 'list', help: 'Bind mount a volume' },
  { long: 'volume-driver', type: 'string', help: 'Optional volume driver for the container' },
  { long: 'volumes-from', type: 'list', help: 'Mount volumes from the specified container(s)' },
  { long: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container' },
];

/** A bad flag value: docker prints `invalid argument "<v>" for "<flag>" flag: <why>` and exits 125. */
export function badValue(value: string, flag: string, why: string): FlagValueError {
  return new FlagValueError(`invalid argument "${value}" for "${flag}" flag: ${why}`);
}

/** go-units RAMInBytes: "512m", "1.5g", "1024" (units of 1024). */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new Error(`invalid size: '${s}'`);
  const mult: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  const n = Number(m[1]);
  if (!Number.isFinite(n)) throw new Error(`invalid size: '${s}'`);
  return Math.floor(n * (m[2] ? mult[m[2].toLowerCase()]! : 1));
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let sign = 1;
  let rest = s;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (!rest) throw new Error(`time: invalid duration "${s}"`);
  let total = 0;
  re.lastIndex = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while (pos < rest.length && (m = re.exec(rest)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== rest.length) throw new Error(`time: invalid duration "${s}"`);
  return Math.round(sign * total);
}

/** `-e`/`--env-file` semantics: `NAME` alone takes the local value when set. */
export function expandEnv(entry: string, env: NodeJS.ProcessEnv = process.env): string {
  if (entry.includes('=')) return entry;
  const v = env[entry];
  return v === undefined ? entry : `${entry}=${v}`;
}

/** docker's env/label files: one entry a line, `#` comments, blank lines skipped. */
export function readKeyValueFile(path: string, env: NodeJS.ProcessEnv = process.env, expand = true): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(
      `open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    );
  }
  const out: string[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
      if (!line || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const name = eq >= 0 ? line.slice(0, eq) : line;
      if (!name) throw new Error(`no variable name on line '${line}'`);
      if (/\s/.test(name)) throw new Error(`variable '${name}' contains whitespaces`);
      void i;
      out.push(expand ? expandEnv(eq >= 0 ? line : name, env) : line);
    });
  return out;
}

export interface PortSpec {
  exposed: string[];
  bindings: Record<string, PortBinding[]>;
}

function portRange(s: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid ${what}: ${s}`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 0 || b > 65535 || b < a) throw new Error(`invalid ${what}: ${s}`);
  return [a, b];
}

/** nat.ParsePortSpec: `[ip:][hostPort:]containerPort[/proto]`, ranges allowed. */
export function parsePublish(spec: string, into: PortSpec = { exposed: [], bindings: {} }): PortSpec {
  let rest = spec;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new Error(`invalid proto: ${proto}`);
  }
  let ip = '';
  let hostPart = '';
  let containerPart: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (v6) {
    ip = v6[1]!;
    const [h, c] = splitLast(v6[2]!);
    hostPart = h ?? '';
    containerPart = c;
  } else {
    const parts = rest.split(':');
    if (parts.length === 1) containerPart = parts[0]!;
    else if (parts.length === 2) [hostPart, containerPart] = parts as [string, string];
    else {
      containerPart = parts.pop()!;
      hostPart = parts.pop()!;
      ip = parts.join(':');
    }
  }
  if (!containerPart) throw new Error(`no port specified: ${spec}<empty>`);
  const [c0, c1] = portRange(containerPart, 'containerPort');
  let h0 = 0;
  let h1 = 0;
  if (hostPart) [h0, h1] = portRange(hostPart, 'hostPort');
  const hostRangeSize = h1 - h0;
  if (hostPart && c1 - c0 !== hostRangeSize && c1 !== c0) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
  }
  for (let p = c0; p <= c1; p++) {
    const key = `${p}/${proto}`;
    if (!into.exposed.includes(key)) into.exposed.push(key);
    let hostPort = '';
    if (hostPart) hostPort = c1 === c0 && hostRangeSize > 0 ? `${h0}-${h1}` : String(h0 + (p - c0));
    (into.bindings[key] ??= []).push({ HostIp: ip, HostPort: hostPort });
  }
  return into;
}

function splitLast(s: string): [string | undefined, string] {
  const i = s.lastIndexOf(':');
  return i < 0 ? [undefined, s] : [s.slice(0, i), s.slice(i + 1)];
}

export function parseUlimit(s: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid ulimit argument: ${s}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard && hard !== -1)
    throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1]!, Soft: soft, Hard: hard };
}

export function parseRestart(s: string): Required<RestartPolicy> {
  const [name, count] = s.split(':') as [string, string | undefined];
  if (!['no', 'always', 'unless-stopped', 'on-failure', ''].includes(name))
    throw new Error(`invalid restart policy format: ${s}`);
  if (count !== undefined && name !== 'on-failure')
    throw new Error(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  if (count !== undefined && !/^\d+$/.test(count))
    throw new Error(`invalid restart policy format: maximum retry count must be an integer: ${count}`);
  return { Name: (name || 'no') as RestartPolicy['Name'], MaximumRetryCount: count === undefined ? 0 : Number(count) };
}

export function parseDevice(s: string): DeviceMapping {
  const parts = s.split(':');
  let perms = 'rwm';
  let src = parts[0]!;
  let dst = src;
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1]!)) perms = parts[1]!;
    else dst = parts[1]!;
  } else if (parts.length === 3) {
    dst = parts[1]!;
    perms = parts[2]!;
  } else if (parts.length > 3) throw new Error(`invalid device specification: ${s}`);
  if (!/^[rwm]+$/.test(perms)) throw new Error(`invalid device mode: ${perms}`);
  src = src || dst;
  return { PathOnHost: src, PathInContainer: dst, CgroupPermissions: perms };
}

/** `--mount type=bind,source=/a,target=/b,readonly` as an API mount. */
export function parseMount(s: string): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: 'volume' };
  const bind: Record<string, unknown> = {};
  const vol: Record<string, unknown> = {};
  const tmpfs: Record<string, unknown> = {};
  for (const field of s.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    switch (key) {
      case 'type':
        m.Type = val;
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = val === undefined || ['1', 'true'].includes(val);
        break;
      case 'consistency':
        m.Consistency = val;
        break;
      case 'bind-propagation':
        bind.Propagation = val;
        break;
      case 'volume-nocopy':
        vol.NoCopy = val === undefined || ['1', 'true'].includes(val);
        break;
      case 'volume-driver':
        vol.DriverConfig = { Name: val };
        break;
      case 'volume-label': {
        const [k, v] = (val ?? '').split('=');
        vol.Labels = { ...(vol.Labels as object), [k!]: v ?? '' };
        break;
      }
      case 'tmpfs-size':
        tmpfs.SizeBytes = parseBytes(val ?? '');
        break;
      case 'tmpfs-mode':
        tmpfs.Mode = parseInt(val ?? '', 8);
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Target) throw new Error('target is required');
  if (Object.keys(bind).length) m.BindOptions = bind;
  if (Object.keys(vol).length) m.VolumeOptions = vol;
  if (Object.keys(tmpfs).length) m.TmpfsOptions = tmpfs;
  return m;
}

export interface RunRequest {
  name?: string;
  image: string;
  /** `--rootfs-file` (or an IMAGE that is a squashfs file): nothing to pull. */
  rootfsFile?: string;
  platform?: string;
  /** `--pod`: the pod the container joins. */
  pod?: string;
  body: ContainerCreateRequest;
  detach: boolean;
  autoRemove: boolean;
  tty: boolean;
  stdin: boolean;
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
  pull: string;
  quiet: boolean;
  sigProxy: boolean;
  detachKeys?: string;
  cidfile?: string;
}

const BUILTIN_NETWORKS = new Set(['default', 'bridge', 'host', 'none']);

function flagged<T>(value: string, flag: string, fn: (v: string) => T): T {
  try {
    return fn(value);
  } catch (e) {
    throw badValue(value, flag, (e as Error).message);
  }
}

/** The create request for `run`/`create` from parsed flags and `IMAGE [COMMAND] [ARG...]`. */
export function buildRunRequest(
  f: Flags,
  args: string[],
  opts: { consoleSize?: [number, number]; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): RunRequest {
  const env = opts.env ?? process.env;
  // A squashfs image file runs in place of an image: `--rootfs-file app.sqfs [COMMAND]`, or the
  // file as the IMAGE argument. The API names it as a bind mount of the file on `/` (Berth's
  // meaning: the root file system comes from that file), the image being `scratch`.
  let rootfsFile = f.str('rootfs-file');
  let positional = args;
  if (rootfsFile === undefined && args[0] !== undefined && isImageFile(args[0], opts.cwd)) {
    rootfsFile = args[0];
    positional = ['scratch', ...args.slice(1)];
  } else if (rootfsFile !== undefined) positional = ['scratch', ...args];
  const [image, ...cmd] = positional as [string, ...string[]];
  const detach = f.bool('detach');
  const tty = f.bool('tty');
  const interactive = f.bool('interactive');
  const attachList = f.list('attach').map((a) => a.toLowerCase());
  for (const a of attachList)
    if (!['stdin', 'stdout', 'stderr'].includes(a))
      throw badValue(a, '-a, --attach', 'valid streams are STDIN, STDOUT and STDERR');
  if (detach && attachList.length)
    throw new StatusError(1, 'conflicting options: cannot specify both --attach and --detach');
  const attach = attachList.length
    ? {
        stdin: attachList.includes('stdin'),
        stdout: attachList.includes('stdout'),
        stderr: attachList.includes('stderr'),
      }
    : { stdin: !detach && interactive, stdout: !detach, stderr: !detach };
  if (f.bool('rm') && f.has('restart') && f.str('restart') !== 'no')
    throw new Error('conflicting options: cannot specify both --restart and --rm');

  const envList = [
    ...f.list('env-file').flatMap((p) => readKeyValueFile(p, env)),
    ...f.list('env').map((e) => expandEnv(e, env)),
  ];
  const labels: Record<string, string> = {};
  for (const l of [...f.list('label-file').flatMap((p) => readKeyValueFile(p, env, false)), ...f.list('label')]) {
    const eq = l.indexOf('=');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }

  const ports: PortSpec = { exposed: [], bindings: {} };
  for (const p of f.list('publish')) flagged(p, '-p, --publish', (v) => parsePublish(v, ports));
  const exposed: Record<string, object> = {};
  for (const e of f.list('expose')) {
    flagged(e, '--expose', (v) => {
      const [range, proto = 'tcp'] = v.split('/') as [string, string | undefined];
      const [a, b] = portRange(range, 'range for ports');
      for (let p = a; p <= b; p++) exposed[`${p}/${proto}`] = {};
    });
  }
  for (const k of ports.exposed) exposed[k] = {};

  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const v of f.list('volume')) {
    const colon = v.indexOf(':');
    if (colon < 0) {
      if (!v.startsWith('/')) throw badValue(v, '-v, --volume', `invalid mount config: mount path must be absolute`);
      volumes[v] = {};
      continue;
    }
    let host = v.slice(0, colon);
    if (host.startsWith('.')) host = resolvePath(opts.cwd ?? process.cwd(), host);
    binds.push(`${host}${v.slice(colon)}`);
  }

  const tmpfs: Record<string, string> = {};
  for (const t of f.list('tmpfs')) {
    const colon = t.indexOf(':');
    tmpfs[colon < 0 ? t : t.slice(0, colon)] = colon < 0 ? '' : t.slice(colon + 1);
  }
  const sysctls: Record<string, string> = {};
  for (const s of f.list('sysctl')) {
    const eq = s.indexOf('=');
    if (eq < 0) throw badValue(s, '--sysctl', `invalid sysctl value: ${s}`);
    sysctls[s.slice(0, eq)] = s.slice(eq + 1);
  }
  const logOpts: Record<string, string> = {};
  for (const s of f.list('log-opt')) {
    const eq = s.indexOf('=');
    if (eq < 0) throw badValue(s, '--log-opt', 'invalid key value pair format in logging opts');
    logOpts[s.slice(0, eq)] = s.slice(eq + 1);
  }

  const bytesFlag = (name: string, label: string): number | undefined => {
    const v = f.str(name);
    if (v === undefined || v === '') return undefined;
    if (v === '-1' && name === 'memory-swap') return -1;
    return flagged(v, label, parseBytes);
  };

  const network = f.str('network');
  const hostConfig: HostConfig = {
    Binds: binds.length ? binds : undefined,
    ContainerIDFile: f.str('cidfile'),
    LogConfig:
      f.has('log-driver') || Object.keys(logOpts).length
        ? { Type: f.str('log-driver') ?? '', Config: logOpts }
        : undefined,
    NetworkMode: network ?? 'default',
    PortBindings: Object.keys(ports.bindings).length ? ports.bindings : undefined,
    RestartPolicy: flagged(f.str('restart') ?? 'no', '--restart', parseRestart),
    AutoRemove: f.bool('rm'),
    VolumeDriver: f.str('volume-driver'),
    VolumesFrom: f.list('volumes-from').length ? f.list('volumes-from') : undefined,
    ConsoleSize: tty && opts.consoleSize ? opts.consoleSize : undefined,
    CapAdd: f.list('cap-add').length ? f.list('cap-add') : undefined,
    CapDrop: f.list('cap-drop').length ? f.list('cap-drop') : undefined,
    CgroupnsMode: f.str('cgroupns'),
    Dns: f.list('dns').length ? f.list('dns') : undefined,
    DnsOptions: f.list('dns-option').length ? f.list('dns-option') : undefined,
    DnsSearch: f.list('dns-search').length ? f.list('dns-search') : undefined,
    ExtraHosts: f.list('add-host').length ? f.list('add-host').map((h) => h.replace(/^([^:=]+)=/, '$1:')) : undefined,
    GroupAdd: f.list('group-add').length ? f.list('group-add') : undefined,
    IpcMode: f.str('ipc'),
    Links: f.list('link').length ? f.list('link') : undefined,
    OomScoreAdj: f.int('oom-score-adj'),
    PidMode: f.str('pid'),
    Privileged: f.bool('privileged'),
    PublishAllPorts: f.bool('publish-all'),
    ReadonlyRootfs: f.bool('read-only'),
    SecurityOpt: f.list('security-opt').length ? f.list('security-opt') : undefined,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    UTSMode: f.str('uts'),
    UsernsMode: f.str('userns'),
    ShmSize: bytesFlag('shm-size', '--shm-size'),
    Sysctls: Object.keys(sysctls).length ? sysctls : undefined,
    Runtime: f.str('runtime'),
    Memory: bytesFlag('memory', '-m, --memory'),
    MemoryReservation: bytesFlag('memory-reservation', '--memory-reservation'),
    MemorySwap: bytesFlag('memory-swap', '--memory-swap'),
    NanoCpus: f.has('cpus')
      ? flagged(f.str('cpus')!, '--cpus', (v) => {
          const n = Number(v);
          if (!/^\d*\.?\d+$/.test(v) || !Number.isFinite(n))
            throw new Error(`failed to parse ${v} as a rational number`);
          return Math.round(n * 1e9);
        })
      : undefined,
    CpuShares: f.int('cpu-shares'),
    CpusetCpus: f.str('cpuset-cpus'),
    PidsLimit: f.has('pids-limit') ? f.int('pids-limit')! : undefined,
    Ulimits: f.list('ulimit').length ? f.list('ulimit').map((u) => flagged(u, '--ulimit', parseUlimit)) : undefined,
    Devices: f.list('device').length ? f.list('device').map((d) => flagged(d, '--device', parseDevice)) : undefined,
    OomKillDisable: f.has('oom-kill-disable') ? f.bool('oom-kill-disable') : undefined,
    Init: f.has('init') ? f.bool('init') : undefined,
    Mounts:
      f.list('mount').length || rootfsFile !== undefined
        ? [
            ...f.list('mount').map((m) => flagged(m, '--mount', parseMount)),
            ...(rootfsFile !== undefined
              ? [
                  {
                    Type: 'bind',
                    Source: resolvePath(opts.cwd ?? process.cwd(), rootfsFile),
                    Target: '/',
                    ReadOnly: true,
                  },
                ]
              : []),
          ]
        : undefined,
  };
  if (f.has('cgroup-parent')) (hostConfig as Record<string, unknown>).CgroupParent = f.str('cgroup-parent');

  let healthcheck: ContainerCreateRequest['Healthcheck'];
  const durationFlag = (name: string) =>
    f.has(name) ? flagged(f.str(name)!, `--${name}`, parseGoDuration) : undefined;
  if (f.bool('no-healthcheck')) {
    if (
      f.has('health-cmd') ||
      f.has('health-interval') ||
      f.has('health-timeout') ||
      f.has('health-retries') ||
      f.has('health-start-period')
    ) {
      throw new Error('--no-healthcheck conflicts with --health-* options');
    }
    healthcheck = { Test: ['NONE'] };
  } else if (
    f.has('health-cmd') ||
    f.has('health-interval') ||
    f.has('health-timeout') ||
    f.has('health-retries') ||
    f.has('health-start-period')
  ) {
    healthcheck = {
      Test: f.has('health-cmd') ? ['CMD-SHELL', f.str('health-cmd')!] : undefined,
      Interval: durationFlag('health-interval'),
      Timeout: durationFlag('health-timeout'),
      StartPeriod: durationFlag('health-start-period'),
      Retries: f.int('health-retries'),
    };
  }

  let networking: ContainerCreateRequest['NetworkingConfig'];
  const aliases = f.list('network-alias');
  if (network && !BUILTIN_NETWORKS.has(network) && !network.startsWith('container:')) {
    const ep: EndpointSettings = {};
    if (aliases.length) ep.Aliases = aliases;
    if (f.has('ip') || f.has('ip6')) ep.IPAMConfig = { IPv4Address: f.str('ip'), IPv6Address: f.str('ip6') };
    if (f.has('mac-address')) ep.MacAddress = f.str('mac-address');
    networking = { EndpointsConfig: { [network]: ep } };
  } else if (aliases.length) {
    throw new Error('network-scoped alias is supported only for containers in user defined networks');
  }

  const entrypoint = f.str('entrypoint');
  const body: ContainerCreateRequest = {
    Hostname: f.str('hostname'),
    Domainname: f.str('domainname'),
    User: f.str('user'),
    AttachStdin: attach.stdin,
    AttachStdout: attach.stdout,
    AttachStderr: attach.stderr,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: tty,
    OpenStdin: interactive,
    StdinOnce: interactive && attach.stdin,
    Env: envList,
    Cmd: cmd.length ? cmd : undefined,
    Healthcheck: healthcheck,
    Image: image,
    Volumes: Object.keys(volumes).length ? volumes : undefined,
    WorkingDir: f.str('workdir'),
    Entrypoint: entrypoint === undefined ? undefined : entrypoint === '' ? [''] : [entrypoint],
    MacAddress: networking ? undefined : f.str('mac-address'),
    Labels: labels,
    StopSignal: f.str('stop-signal'),
    StopTimeout: f.int('stop-timeout'),
    HostConfig: hostConfig,
    NetworkingConfig: networking,
  };
  const pull = f.str('pull') ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pull))
    throw new Error(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  return {
    name: f.str('name'),
    image,
    rootfsFile,
    platform: f.str('platform'),
    pod: f.str('pod'),
    body: stripUndefined(body),
    detach,
    autoRemove: f.bool('rm'),
    tty,
    stdin: interactive,
    attach,
    pull,
    quiet: f.bool('quiet'),
    sigProxy: f.bool('sig-proxy'),
    detachKeys: f.str('detach-keys'),
    cidfile: f.str('cidfile'),
  };
}

/** Is this IMAGE argument a squashfs image file rather than an image name? */
export function isImageFile(arg: string, cwd = process.cwd()): boolean {
  if (!/\.(sqfs|squashfs)$/.test(arg)) return false;
  try {
    return statSync(resolvePath(cwd, arg)).isFile();
  } catch {
    return false;
  }
}

function stripUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
