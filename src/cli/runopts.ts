/**
 * `run` and `create` flags, and their translation into an Engine API create request, following
 * the docker CLI's rules (ports, binds and anonymous volumes, env files, sizes in 1024 units,
 * restart policies, health checks, TTY console size). The flag table is in runflags.ts, the
 * parsers of single values in flagvalues.ts.
 */
import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { ContainerCreateRequest, HostConfig, EndpointSettings } from '../client/index.ts';
import type { Flags } from './flags.ts';
import { StatusError } from './cli.ts';
import {
  badValue,
  expandEnv,
  parseBytes,
  parseDevice,
  parseGoDuration,
  parseMount,
  parsePublish,
  parseRestart,
  portRange,
  parseUlimit,
  readKeyValueFile,
  type PortSpec,
} from './flagvalues.ts';
// run.ts and pods.ts (other work is under way there) import these from here, as before the split.
export { RUN_FLAGS } from './runflags.ts';
export { expandEnv, parsePublish, readKeyValueFile } from './flagvalues.ts';

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
