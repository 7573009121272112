/**
 * From the model to Engine API requests: a service replica's container create request, the
 * labels docker compose v2 puts on containers, networks and volumes (so either tool recognises
 * the other's projects), and the config hash that decides whether a container is recreated.
 */
import { createHash } from 'node:crypto';
import type {
  ContainerCreateRequest,
  EndpointSettings,
  HostConfig,
  NetworkCreateRequest,
  RestartPolicy,
  VolumeCreateRequest,
} from '../client/index.ts';
import type { NetworkConfig, Project, Service, VolumeConfig } from './model.ts';
import { parseDuration } from './units.ts';

/** The level of docker compose v2 whose labels and behaviour Berth follows. */
export const COMPOSE_VERSION = '2.29.7';

export const L = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  hash: 'com.docker.compose.config-hash',
  version: 'com.docker.compose.version',
  dependsOn: 'com.docker.compose.depends_on',
  image: 'com.docker.compose.image',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  slug: 'com.docker.compose.slug',
} as const;

/** The image a service runs: `image:`, or `<project>-<service>` for a build without one. */
export function imageName(project: Project, s: Service): string {
  return s.image ?? `${project.name}-${s.name}`;
}

/** How many containers a service wants: `--scale`, `scale:`, `deploy.replicas`, 1. */
export function replicas(s: Service, scale?: Readonly<Record<string, number>>): number {
  return scale?.[s.name] ?? s.scale ?? s.deploy?.replicas ?? 1;
}

export function containerName(project: Project, s: Service, n: number): string {
  return s.container_name ?? `${project.name}-${s.name}-${n}`;
}

/**
 * The config hash: a digest of the service's model without what does not change a running
 * container (replica count, build and pull instructions, profiles). Keys are sorted so equal
 * configurations hash equally however the file was written.
 */
export function configHash(s: Service): string {
  const { build: _b, pull_policy: _p, scale: _s, profiles: _pr, deploy, ...rest } = s;
  const d = deploy ? { ...deploy, replicas: undefined } : undefined;
  return createHash('sha256')
    .update(stableJson({ ...rest, deploy: d }))
    .digest('hex');
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** `com.docker.compose.depends_on` as v2 writes it: `svc:condition:restart` joined by commas. */
export function dependsOnLabel(s: Service): string {
  return Object.entries(s.depends_on ?? {})
    .map(([d, c]) => `${d}:${c.condition}:${c.restart}`)
    .join(',');
}

export interface ReplicaOptions {
  readonly number: number;
  readonly oneoff?: boolean;
  /** The image ID the container is made from (the `com.docker.compose.image` label). */
  readonly imageId?: string;
  /** Container IDs by service, for `network_mode: service:x`. */
  readonly serviceContainer?: (service: string) => string | undefined;
  /** `run`'s overrides. */
  readonly command?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly env?: readonly string[];
  readonly tty?: boolean;
  readonly stdinOpen?: boolean;
  readonly autoRemove?: boolean;
  readonly publish?: boolean;
  /** Anonymous volumes of the container being replaced, by target: the new one keeps their data. */
  readonly anonymousVolumes?: Readonly<Record<string, string>>;
}

export function containerLabels(project: Project, s: Service, o: ReplicaOptions): Record<string, string> {
  return {
    ...s.labels,
    [L.project]: project.name,
    [L.service]: s.name,
    [L.number]: String(o.number),
    [L.oneoff]: o.oneoff ? 'True' : 'False',
    [L.workingDir]: project.workingDir,
    [L.configFiles]: project.configFiles.join(','),
    [L.hash]: configHash(s),
    [L.version]: COMPOSE_VERSION,
    [L.dependsOn]: dependsOnLabel(s),
    ...(o.imageId ? { [L.image]: o.imageId } : {}),
  };
}

/** The service's networks, highest priority first, then by name (compose's order). */
export function sortedNetworks(s: Service): string[] {
  return Object.keys(s.networks ?? {}).sort(
    (a, b) => (s.networks![b]?.priority ?? 0) - (s.networks![a]?.priority ?? 0) || a.localeCompare(b),
  );
}

export function endpointFor(project: Project, s: Service, key: string, o: { oneoff?: boolean } = {}): EndpointSettings {
  const cfg = s.networks?.[key];
  // one-off containers get no service alias: `run` must not answer for the service
  const aliases = [...(o.oneoff ? [] : [s.name]), ...(cfg?.aliases ?? [])];
  return {
    Aliases: aliases.length ? aliases : null,
    ...(cfg?.ipv4_address ? { IPAMConfig: { IPv4Address: cfg.ipv4_address } } : {}),
  };
}

const nanos = (d?: string) => (d === undefined ? undefined : parseDuration(d));

/** The create request for one container of a service (its first network only; the rest are connected after). */
export function createRequest(project: Project, s: Service, o: ReplicaOptions): ContainerCreateRequest {
  const hc: HostConfig = {};
  const binds: string[] = [];
  const mounts: Record<string, unknown>[] = [];
  for (const v of s.volumes ?? []) {
    if (v.type === 'bind' && v.bind?.create_host_path !== false && !v.bind?.propagation) {
      // Binds (not Mounts): the daemon creates a missing host directory, as compose wants
      binds.push(
        `${v.source}:${v.target}${v.read_only ? ':ro' : ''}${v.bind?.selinux ? `${v.read_only ? ',' : ':'}${v.bind.selinux}` : ''}`,
      );
      continue;
    }
    const m: Record<string, unknown> = { Type: v.type, Target: v.target };
    if (v.read_only) m.ReadOnly = true;
    if (v.type === 'volume' && v.source) m.Source = project.volumes[v.source]?.name ?? v.source;
    if (v.type === 'volume' && !v.source && o.anonymousVolumes?.[v.target]) m.Source = o.anonymousVolumes[v.target];
    if (v.type === 'bind') {
      m.Source = v.source;
      if (v.bind?.propagation) m.BindOptions = { Propagation: v.bind.propagation };
    }
    if (v.type === 'volume' && v.volume?.nocopy) m.VolumeOptions = { NoCopy: true };
    if (v.type === 'tmpfs' && v.tmpfs)
      m.TmpfsOptions = {
        ...(v.tmpfs.size ? { SizeBytes: v.tmpfs.size } : {}),
        ...(v.tmpfs.mode ? { Mode: v.tmpfs.mode } : {}),
      };
    mounts.push(m);
  }
  // the image's own VOLUMEs of a replaced container: carried over too, as compose v2 does
  const targets = new Set((s.volumes ?? []).map((v) => v.target));
  for (const [target, name] of Object.entries(o.anonymousVolumes ?? {})) {
    if (!targets.has(target)) mounts.push({ Type: 'volume', Source: name, Target: target });
  }
  if (binds.length) hc.Binds = binds;
  if (mounts.length) hc.Mounts = mounts;
  if (s.tmpfs?.length) {
    hc.Tmpfs = {};
    for (const t of s.tmpfs) {
      const i = t.indexOf(':');
      hc.Tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
    }
  }
  const exposed: Record<string, object> = {};
  for (const e of s.expose ?? []) exposed[/\//.test(e) ? e : `${e}/tcp`] = {};
  if (o.publish !== false && s.ports?.length) {
    hc.PortBindings = {};
    for (const p of s.ports) {
      const key = `${p.target}/${p.protocol}`;
      exposed[key] = {};
      (hc.PortBindings[key] ??= []).push({ HostIp: p.host_ip ?? '', HostPort: p.published ?? '' });
    }
  }
  const lim = s.deploy?.resources?.limits;
  const memory = lim?.memory ?? s.mem_limit;
  if (memory) hc.Memory = memory;
  if (s.memswap_limit) hc.MemorySwap = s.memswap_limit;
  const cpus = lim?.cpus ?? s.cpus;
  if (cpus) hc.NanoCpus = Math.round(cpus * 1e9);
  const pids = lim?.pids ?? s.pids_limit;
  if (pids) hc.PidsLimit = pids;
  if (s.restart) {
    const [name, max] = s.restart.split(':');
    // The daemon refuses an unknown policy, in its words.
    hc.RestartPolicy = { Name: name as RestartPolicy['Name'], ...(max ? { MaximumRetryCount: Number(max) } : {}) };
  } else if (s.deploy?.restart_policy) {
    // deploy.restart_policy speaks swarm's words; the engine's names for them
    const rp = s.deploy.restart_policy;
    const c = rp.condition ?? 'any';
    const name = c === 'none' || c === 'no' ? 'no' : c === 'any' || c === 'always' ? 'always' : c;
    hc.RestartPolicy = {
      Name: name as RestartPolicy['Name'],
      ...(rp.max_attempts ? { MaximumRetryCount: rp.max_attempts } : {}),
    };
  }
  if (s.init !== undefined) hc.Init = s.init;
  if (s.extra_hosts?.length) hc.ExtraHosts = [...s.extra_hosts];
  if (s.dns?.length) hc.Dns = [...s.dns];
  if (s.dns_search?.length) hc.DnsSearch = [...s.dns_search];
  if (s.dns_opt?.length) hc.DnsOptions = [...s.dns_opt];
  if (s.cap_add?.length) hc.CapAdd = [...s.cap_add];
  if (s.cap_drop?.length) hc.CapDrop = [...s.cap_drop];
  if (s.security_opt?.length) hc.SecurityOpt = [...s.security_opt];
  if (s.group_add?.length) hc.GroupAdd = [...s.group_add];
  if (s.privileged) hc.Privileged = true;
  if (s.read_only) hc.ReadonlyRootfs = true;
  if (s.shm_size) hc.ShmSize = s.shm_size;
  if (s.ipc) hc.IpcMode = s.ipc;
  if (s.pid) hc.PidMode = s.pid;
  if (s.sysctls && Object.keys(s.sysctls).length) hc.Sysctls = { ...s.sysctls };
  if (s.ulimits) hc.Ulimits = Object.entries(s.ulimits).map(([Name, l]) => ({ Name, Soft: l.soft, Hard: l.hard }));
  if (s.logging?.driver || s.logging?.options)
    hc.LogConfig = {
      Type: s.logging.driver ?? '',
      ...(s.logging.options
        ? { Config: Object.fromEntries(Object.entries(s.logging.options).map(([k, v]) => [k, v ?? ''])) }
        : {}),
    };
  if (o.autoRemove) hc.AutoRemove = true;

  let networking: ContainerCreateRequest['NetworkingConfig'];
  const mode = s.network_mode;
  if (mode) {
    if (mode.startsWith('service:')) {
      const id = o.serviceContainer?.(mode.slice(8));
      if (!id) throw new Error(`service "${s.name}": no container of service "${mode.slice(8)}" for network_mode`);
      hc.NetworkMode = `container:${id}`;
    } else hc.NetworkMode = mode;
  } else {
    const first = sortedNetworks(s)[0];
    if (first) {
      const net = project.networks[first]!;
      hc.NetworkMode = net.name;
      networking = { EndpointsConfig: { [net.name]: endpointFor(project, s, first, o) } };
    }
  }

  const env = Object.entries(s.environment ?? {})
    .map(([k, v]) => {
      // a variable without a value takes the one compose itself sees, or is left out
      if (v !== null) return `${k}=${v}`;
      const fromEnv = project.environment[k];
      return fromEnv === undefined ? undefined : `${k}=${fromEnv}`;
    })
    .filter((x): x is string => x !== undefined);
  env.push(...(o.env ?? []));

  const h = s.healthcheck;
  const healthcheck = h
    ? h.disable
      ? { Test: ['NONE'] }
      : {
          ...(h.test ? { Test: [...h.test] } : {}),
          ...(h.interval ? { Interval: nanos(h.interval) } : {}),
          ...(h.timeout ? { Timeout: nanos(h.timeout) } : {}),
          ...(h.retries !== undefined ? { Retries: h.retries } : {}),
          ...(h.start_period ? { StartPeriod: nanos(h.start_period) } : {}),
          ...(h.start_interval ? { StartInterval: nanos(h.start_interval) } : {}),
        }
    : undefined;

  const command = o.command ?? s.command;
  const entrypoint = o.entrypoint ?? s.entrypoint;
  const req: ContainerCreateRequest = {
    Image: imageName(project, s),
    Labels: containerLabels(project, s, o),
    ...(command !== undefined && command !== null ? { Cmd: [...command] } : {}),
    ...(entrypoint !== undefined && entrypoint !== null ? { Entrypoint: [...entrypoint] } : {}),
    ...(env.length ? { Env: env } : {}),
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    ...(s.user !== undefined ? { User: s.user } : {}),
    ...(s.working_dir !== undefined ? { WorkingDir: s.working_dir } : {}),
    ...(s.hostname !== undefined ? { Hostname: s.hostname } : {}),
    ...(s.domainname !== undefined ? { Domainname: s.domainname } : {}),
    ...(s.stop_signal !== undefined ? { StopSignal: s.stop_signal } : {}),
    ...(s.stop_grace_period !== undefined ? { StopTimeout: Math.floor(parseDuration(s.stop_grace_period) / 1e9) } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    Tty: o.tty ?? s.tty ?? false,
    OpenStdin: o.stdinOpen ?? s.stdin_open ?? false,
    AttachStdin: !!o.stdinOpen,
    AttachStdout: !!o.oneoff,
    AttachStderr: !!o.oneoff,
    HostConfig: hc,
    ...(networking ? { NetworkingConfig: networking } : {}),
  };
  return req;
}

export function networkRequest(project: Project, key: string, n: NetworkConfig): NetworkCreateRequest {
  return {
    Name: n.name,
    Driver: n.driver ?? 'bridge',
    ...(n.internal ? { Internal: true } : {}),
    ...(n.driver_opts ? { Options: { ...n.driver_opts } } : {}),
    ...(n.ipam?.config?.length
      ? {
          IPAM: {
            Driver: n.ipam.driver ?? 'default',
            Config: n.ipam.config.map((c) => ({
              ...(c.subnet ? { Subnet: c.subnet } : {}),
              ...(c.gateway ? { Gateway: c.gateway } : {}),
              ...(c.ip_range ? { IPRange: c.ip_range } : {}),
            })),
          },
        }
      : {}),
    Labels: { ...n.labels, [L.network]: key, [L.project]: project.name, [L.version]: COMPOSE_VERSION },
    CheckDuplicate: true,
  };
}

export function volumeRequest(project: Project, key: string, v: VolumeConfig): VolumeCreateRequest {
  return {
    Name: v.name,
    Driver: v.driver ?? 'local',
    ...(v.driver_opts ? { DriverOpts: { ...v.driver_opts } } : {}),
    Labels: { ...v.labels, [L.volume]: key, [L.project]: project.name, [L.version]: COMPOSE_VERSION },
  };
}
