/**
 * Podman's spec generator (the body of Libpod's `POST /containers/create`, as Podman 4.3's
 * `podman --remote create/run` sends it) turned into the Engine API's create request, so the
 * container service sees one shape. Fields Berth cannot honour are refused by name rather than
 * dropped; fields that only restate a default pass.
 *
 *     specToCreate({ image: 'busybox', command: ['sleep', '1'], pod: 'web' })
 *     // { name: undefined, pod: 'web', body: { Image: 'busybox', Cmd: ['sleep', '1'], ... } }
 */
import type { ContainerCreateRequest } from '../types/index.ts';
import { invalidArgument } from '../../errdefs/index.ts';

/** The spec generator's fields Berth reads (Podman's JSON names). */
export interface SpecGenerator {
  name?: string;
  pod?: string;
  image?: string;
  command?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  hostname?: string;
  user?: string;
  work_dir?: string;
  terminal?: boolean;
  stdin?: boolean;
  remove?: boolean;
  privileged?: boolean;
  read_only_filesystem?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  stop_signal?: number;
  stop_timeout?: number;
  portmappings?: Array<{
    host_ip?: string;
    container_port: number;
    host_port?: number;
    range?: number;
    protocol?: string;
  }>;
  expose?: Record<string, string>;
  mounts?: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  volumes?: Array<{ Name: string; Dest: string; Options?: string[] }>;
  restart_policy?: string;
  restart_tries?: number;
  netns?: { nsmode?: string; value?: string };
  Networks?: Record<string, { aliases?: string[] }>;
  resource_limits?: {
    memory?: { limit?: number; swap?: number };
    cpu?: { shares?: number; quota?: number; period?: number; cpus?: string };
    pids?: { limit?: number };
  };
  [other: string]: unknown;
}

export function specToCreate(s: SpecGenerator): { name?: string; pod?: string; body: ContainerCreateRequest } {
  if (!s || typeof s !== 'object' || Array.isArray(s))
    throw invalidArgument('decode(): the body is not a spec generator object');
  if (!s.image) throw invalidArgument('must provide image or rootfs: invalid argument');
  const binds: string[] = [];
  const mounts: NonNullable<ContainerCreateRequest['HostConfig']>['Mounts'] = [];
  for (const m of s.mounts ?? []) {
    const ro = m.options?.includes('ro') ?? false;
    if (m.type === 'bind') mounts.push({ Type: 'bind', Source: m.source, Target: m.destination, ReadOnly: ro });
    else if (m.type === 'tmpfs') mounts.push({ Type: 'tmpfs', Target: m.destination });
    else throw invalidArgument(`mount type ${JSON.stringify(m.type)} is not supported here`);
  }
  for (const v of s.volumes ?? []) binds.push(`${v.Name}:${v.Dest}${v.Options?.includes('ro') ? ':ro' : ''}`);
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  const exposed: Record<string, object> = {};
  for (const p of s.portmappings ?? []) {
    for (const proto of (p.protocol || 'tcp').split(',')) {
      for (let i = 0; i < (p.range || 1); i++) {
        const key = `${p.container_port + i}/${proto}`;
        exposed[key] = {};
        (ports[key] ??= []).push({ HostIp: p.host_ip ?? '', HostPort: p.host_port ? String(p.host_port + i) : '' });
      }
    }
  }
  for (const [port, proto] of Object.entries(s.expose ?? {})) exposed[`${port}/${proto || 'tcp'}`] = {};
  const limits = s.resource_limits;
  const nsmode = s.netns?.nsmode;
  const networkMode =
    nsmode === 'host' || nsmode === 'none'
      ? nsmode
      : nsmode === 'bridge' && s.Networks
        ? Object.keys(s.Networks)[0]
        : undefined;
  const body: ContainerCreateRequest = {
    Image: s.image,
    ...(s.command ? { Cmd: s.command } : {}),
    ...(s.entrypoint ? { Entrypoint: s.entrypoint } : {}),
    Env: Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { ...(s.labels ?? {}) },
    ...(s.hostname ? { Hostname: s.hostname } : {}),
    ...(s.user ? { User: s.user } : {}),
    ...(s.work_dir ? { WorkingDir: s.work_dir } : {}),
    Tty: !!s.terminal,
    OpenStdin: !!s.stdin,
    // Podman's -i: the container's input ends with the client's (docker run -i sets StdinOnce too)
    StdinOnce: !!s.stdin,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    ...(s.stop_signal ? { StopSignal: String(s.stop_signal) } : {}),
    ...(s.stop_timeout !== undefined ? { StopTimeout: s.stop_timeout } : {}),
    HostConfig: {
      ...(binds.length ? { Binds: binds } : {}),
      ...(mounts.length ? { Mounts: mounts } : {}),
      ...(Object.keys(ports).length ? { PortBindings: ports } : {}),
      AutoRemove: !!s.remove,
      Privileged: !!s.privileged,
      ReadonlyRootfs: !!s.read_only_filesystem,
      ...(s.cap_add?.length ? { CapAdd: s.cap_add } : {}),
      ...(s.cap_drop?.length ? { CapDrop: s.cap_drop } : {}),
      ...(s.restart_policy
        ? { RestartPolicy: { Name: restartPolicy(s.restart_policy), MaximumRetryCount: s.restart_tries ?? 0 } }
        : {}),
      ...(networkMode ? { NetworkMode: networkMode } : {}),
      ...(limits?.memory?.limit ? { Memory: limits.memory.limit } : {}),
      ...(limits?.memory?.swap ? { MemorySwap: limits.memory.swap } : {}),
      ...(limits?.cpu?.shares ? { CpuShares: limits.cpu.shares } : {}),
      ...(limits?.cpu?.quota ? { CpuQuota: limits.cpu.quota } : {}),
      ...(limits?.cpu?.period ? { CpuPeriod: limits.cpu.period } : {}),
      ...(limits?.pids?.limit ? { PidsLimit: limits.pids.limit } : {}),
    },
  };
  return { name: s.name || undefined, pod: s.pod || undefined, body };
}

const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'] as const;

function restartPolicy(name: string): (typeof RESTART_POLICIES)[number] {
  const p = RESTART_POLICIES.find((x) => x === name);
  if (!p) throw invalidArgument(`invalid restart policy ${JSON.stringify(name)}`);
  return p;
}
