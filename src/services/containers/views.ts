/** The Engine API's views of a container: `GET /containers/json` rows and `inspect`. */
import { join } from 'node:path';
import { shownLinks } from './links.ts';
import { logPathOption } from './logopts.ts';
import { statusText } from './state.ts';
import { mergeUlimits, type ContainerDefaults, type ContainerRecord } from './types.ts';
import type {
  ContainerInspect,
  ContainerState,
  ContainerSummary,
  EndpointSettings,
  Port,
  PortBinding,
} from '../../api/types/index.ts';
import { mountsView } from '../volumes/index.ts';
import { cgroupVersion } from '../../oci/index.ts';
import { familiarString, parseReference } from '../../spec/index.ts';

/** What `--cgroupns` is when not given: Docker's default per cgroup version. */
const defaultCgroupns = cgroupVersion() === 2 ? 'private' : 'host';

export function networkMode(c: ContainerRecord): string {
  const m = c.HostConfig.NetworkMode ?? 'default';
  return m === 'default' ? 'bridge' : m;
}

export function commandLine(c: ContainerRecord): string {
  return [c.Path, ...c.Args].map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ');
}

export function summary(c: ContainerRecord, imageName: string, now = Date.now()): ContainerSummary {
  return {
    Id: c.Id,
    Names: [`/${c.Name}`],
    Image: imageName,
    ImageID: c.Image,
    Command: commandLine(c),
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: summaryPorts(c),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: shownStatus(c, now),
    HostConfig: { NetworkMode: networkMode(c) },
    NetworkSettings: { Networks: networks(c) },
    Mounts: mountsView(c.MountPoints),
  };
}

/** A row's `Status`, as `docker ps` shows it: "Up 5 minutes (healthy)", "Exited (0) 2 hours ago". */
function shownStatus(c: ContainerRecord, now: number): string {
  return statusText(c.State, now, healthText(c.State.Health));
}

/**
 * `GET /containers/json`'s rows as JSON text, each row's text kept while its record is unchanged:
 * at a thousand containers, building and serialising every row again for each `docker ps` was
 * most of the daemon's work for it (issue 15). A row is the text of `summary`, byte for byte;
 * only its `Status` ("Up 5 minutes") is written each time, the rest is taken again from the
 * cache while the record's revision (the store's, changed by every save) and image name are the
 * ones it was built from.
 */
export class SummaryRows {
  /** Per record object: a removed container's row goes with its record. */
  private readonly rows = new WeakMap<
    ContainerRecord,
    { revision: number; image: string; head: string; tail: string }
  >();
  /** Rows built (not taken from the cache) so far: what a test counts. */
  built = 0;

  /**
   * The rows of `list`, in its order, as a JSON array: `imageName` and `revisionOf` give each
   * record's image name and its revision in the store. The pieces are joined once (no string per row).
   */
  json(
    list: readonly ContainerRecord[],
    imageName: (c: ContainerRecord) => string,
    revisionOf: (c: ContainerRecord) => number,
    now = Date.now(),
  ): string {
    const parts: string[] = ['['];
    for (const c of list) {
      const r = this.entry(c, imageName(c), revisionOf(c), now);
      if (parts.length > 1) parts.push(',');
      parts.push(r.head, r.head.length > 1 ? ',"Status":' : '"Status":', JSON.stringify(shownStatus(c, now)));
      parts.push(r.tail.length > 1 ? ',' : '', r.tail);
    }
    parts.push(']');
    return parts.join('');
  }

  /** The cached halves of the row of `c`, built again when its revision or image name changed. */
  private entry(c: ContainerRecord, imageName: string, revision: number, now: number) {
    let r = this.rows.get(c);
    if (!r || r.revision !== revision || r.image !== imageName) {
      // `summary`'s fields in its order, as the JSON of those before Status (without its closing
      // brace) and of those after it (without its opening one).
      const full = summary(c, imageName, now);
      const keys = Object.keys(full) as (keyof ContainerSummary)[];
      const at = keys.indexOf('Status');
      const part = (ks: (keyof ContainerSummary)[]) => JSON.stringify(Object.fromEntries(ks.map((k) => [k, full[k]])));
      r = {
        revision,
        image: imageName,
        head: part(keys.slice(0, at)).slice(0, -1),
        tail: part(keys.slice(at + 1)).slice(1),
      };
      this.rows.set(c, r);
      this.built++;
    }
    return r;
  }
}

export function inspect(
  c: ContainerRecord,
  dir: string,
  lowerDirs: string[],
  defaults?: ContainerDefaults,
  nameOf?: (ref: string) => string | undefined,
): ContainerInspect {
  return {
    Id: c.Id,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: { ...c.State },
    Image: c.Image,
    ResolvConfPath: join(dir, 'resolv.conf'),
    HostnamePath: join(dir, 'hostname'),
    HostsPath: join(dir, 'hosts'),
    LogPath: logPathOption(c.HostConfig) ?? join(dir, 'container.log'),
    Name: `/${c.Name}`,
    RestartCount: c.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: null,
      ContainerIDFile: '',
      // json-file as clients know it (the SDK reads logs only for it); on disk it is conmon's k8s-file.
      LogConfig: {
        Type:
          c.HostConfig.LogConfig?.Type === 'none'
            ? 'none'
            : c.HostConfig.LogConfig?.Type === 'local'
              ? 'local'
              : 'json-file',
        Config: c.HostConfig.LogConfig?.Config ?? {},
      },
      NetworkMode: c.HostConfig.NetworkMode ?? 'default',
      PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false,
      VolumeDriver: '',
      VolumesFrom: null,
      CapAdd: null,
      CapDrop: null,
      CgroupnsMode: c.HostConfig.CgroupnsMode || defaultCgroupns,
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      GroupAdd: null,
      IpcMode: 'private',
      Cgroup: '',
      Links: null,
      OomScoreAdj: 0,
      PidMode: '',
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      UTSMode: '',
      UsernsMode: '',
      ShmSize: 67108864,
      Runtime: 'runc',
      Isolation: '',
      CpuShares: 0,
      Memory: 0,
      NanoCpus: 0,
      CgroupParent: '',
      BlkioWeight: 0,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      CpusetCpus: '',
      CpusetMems: '',
      Devices: [],
      MemoryReservation: 0,
      MemorySwap: 0,
      MemorySwappiness: null,
      OomKillDisable: null,
      PidsLimit: null,
      Ulimits: null,
      MaskedPaths: [],
      ReadonlyPaths: [],
      ...c.HostConfig,
      // As moby fills them in at create: no SHM size is the default 64 MB, a pids limit of 0
      // or less is none (null).
      ...(c.HostConfig.ShmSize ? {} : { ShmSize: 67108864 }),
      ...((c.HostConfig.PidsLimit ?? 0) > 0 ? {} : { PidsLimit: null }),
      ...(defaults?.ulimits?.length ? { Ulimits: mergeUlimits(c.HostConfig.Ulimits, defaults.ulimits) } : {}),
      ...(c.HostConfig.Links?.length && nameOf ? { Links: shownLinks(c.HostConfig.Links, c.Name, nameOf) } : {}),
    },
    GraphDriver: {
      Name: 'overlay2',
      Data: {
        LowerDir: lowerDirs.join(':'),
        MergedDir: join(dir, 'rootfs'),
        UpperDir: join(dir, 'upper'),
        WorkDir: join(dir, 'work'),
      },
    },
    Mounts: mountsView(c.MountPoints),
    Config: {
      ...c.Config,
      Cmd: c.Config.Cmd ?? null,
      Entrypoint: c.Config.Entrypoint ?? null,
      // Empty sets are Go's nil maps in dockerd's answer (ExposedPorts omitted, Volumes null).
      ExposedPorts:
        c.Config.ExposedPorts && Object.keys(c.Config.ExposedPorts).length ? c.Config.ExposedPorts : undefined,
      Volumes: c.Config.Volumes && Object.keys(c.Config.Volumes).length ? c.Config.Volumes : null,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: live(c)?.endpointId ?? '',
      SandboxKey: live(c) ? `/proc/${c.State.Pid}/ns/net` : '',
      Ports: inspectPorts(c),
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: live(c)?.endpointId ?? '',
      Gateway: live(c)?.gateway ?? '',
      GlobalIPv6Address: live(c)?.ipv6Address ?? '',
      GlobalIPv6PrefixLen: live(c)?.ipv6PrefixLen ?? 0,
      IPAddress: live(c)?.ipAddress ?? '',
      IPPrefixLen: live(c)?.prefixLen ?? 0,
      IPv6Gateway: live(c)?.ipv6Gateway ?? '',
      MacAddress: live(c)?.macAddress ?? '',
      Networks: networks(c),
    },
  };
}

/** `NetworkSettings.Ports` while running: every exposed or published port, with its bindings or null. */
function inspectPorts(c: ContainerRecord): Record<string, PortBinding[] | null> {
  const ep = live(c);
  if ((!c.State.Running && !c.State.Paused) || withoutPorts(c)) return {};
  const out: Record<string, PortBinding[] | null> = {};
  for (const k of Object.keys(c.Config.ExposedPorts ?? {})) out[k.includes('/') ? k : `${k}/tcp`] = null;
  for (const m of ep?.ports ?? [])
    (out[`${m.containerPort}/${m.proto}`] ??= []).push({ HostIp: m.hostIp, HostPort: String(m.hostPort) });
  return out;
}

/** `Ports` of a `GET /containers/json` row: published ports with their host side, exposed ones without. */
function summaryPorts(c: ContainerRecord): Port[] {
  if ((!c.State.Running && !c.State.Paused) || withoutPorts(c)) return [];
  const ep = live(c);
  const out: Port[] = [];
  const published = new Set<string>();
  for (const m of ep?.ports ?? []) {
    out.push({ IP: m.hostIp, PrivatePort: m.containerPort, PublicPort: m.hostPort, Type: m.proto });
    published.add(`${m.containerPort}/${m.proto}`);
  }
  for (const k of Object.keys(c.Config.ExposedPorts ?? {})) {
    const [p, t = 'tcp'] = k.split('/');
    if (!published.has(`${p}/${t}`)) out.push({ PrivatePort: Number(p), Type: t });
  }
  return out;
}

/**
 * A container on the host's network or none has no ports to show, exposed or published (moby
 * fills NetworkSettings.Ports only from a network's sandbox): `docker ps --filter expose=` and
 * the PORTS column leave it out.
 */
function withoutPorts(c: ContainerRecord): boolean {
  const mode = c.HostConfig.NetworkMode;
  return mode === 'none' || mode === 'host';
}

/** The container's endpoint while it runs. */
function live(c: ContainerRecord): ContainerRecord['Network'] {
  return c.State.Running || c.State.Paused ? c.Network : undefined;
}

/** `NetworkSettings.Networks` as Docker shows it: each network, with addresses while running. */
function networks(c: ContainerRecord): Record<string, EndpointSettings> {
  const mode = networkMode(c);
  if (mode.startsWith('container:')) return {};
  const ep = live(c);
  const running = c.State.Running || c.State.Paused;
  const cfgOf = (name: string, id?: string) => c.EndpointsConfig?.[name] ?? (id ? c.EndpointsConfig?.[id] : undefined);
  const entry = (e: NonNullable<ContainerRecord['Network']> | undefined, name: string): EndpointSettings => {
    const cfg = cfgOf(name, e?.networkId);
    const aliases = cfg?.Aliases?.length ? [...cfg.Aliases] : null;
    return {
      IPAMConfig: cfg?.IPAMConfig ?? null,
      Links: cfg?.Links ?? null,
      Aliases: aliases,
      MacAddress: e?.macAddress ?? '',
      NetworkID: e?.networkId ?? cfg?.NetworkID ?? '',
      EndpointID: e?.endpointId ?? '',
      Gateway: e?.gateway ?? '',
      IPAddress: e?.ipAddress ?? '',
      IPPrefixLen: e?.prefixLen ?? 0,
      IPv6Gateway: e?.ipv6Gateway ?? '',
      GlobalIPv6Address: e?.ipv6Address ?? '',
      GlobalIPv6PrefixLen: e?.ipv6PrefixLen ?? 0,
      DriverOpts: cfg?.DriverOpts ?? null,
      DNSNames:
        e && !['bridge', 'host', 'none'].includes(name) ? [c.Name, ...(aliases ?? []), c.Id.slice(0, 12)] : null,
    };
  };
  const out: Record<string, EndpointSettings> = {};
  if (!c.PrimaryDetached && (mode !== 'none' || !Object.keys(c.EndpointsConfig ?? {}).length))
    out[ep?.network ?? mode] = entry(ep, ep?.network ?? mode);
  for (const x of running ? (c.ExtraNetworks ?? []) : []) out[x.network] = entry(x, x.network);
  if (!running) {
    for (const k of Object.keys(c.EndpointsConfig ?? {}))
      if (!(k in out) && !['default'].includes(k)) out[k] = entry(undefined, k);
  }
  return out;
}

/** How `docker ps` shows health after "Up …": "(healthy)", "(health: starting)". */
function healthText(h: ContainerState['Health']): string | undefined {
  if (!h || h.Status === 'none') return undefined;
  return h.Status === 'starting' ? 'health: starting' : h.Status;
}

/**
 * The image as `docker ps` shows it: the name the container was created from while that name
 * still points at its image, else the image ID. `idOf` resolves a reference in the image store.
 */
export function imageNameOf(c: ContainerRecord, idOf: (ref: string) => string | undefined): string {
  const ref = c.Config.Image ?? '';
  try {
    if (idOf(ref) === c.Image)
      return ref.startsWith('sha256:')
        ? ref
        : familiarString(parseReference(ref)).replace(/:latest$/, (m) => (ref.includes(':') ? m : ''));
  } catch {
    // fall through
  }
  return c.Image;
}

/** `imageNameOf` for many containers at once (a list): each name and image looked up once. */
export function imageNamer(idOf: (ref: string) => string | undefined): (c: ContainerRecord) => string {
  const seen = new Map<string, string>();
  return (c) => {
    const key = `${c.Config.Image ?? ''}\0${c.Image}`;
    let name = seen.get(key);
    if (name === undefined) seen.set(key, (name = imageNameOf(c, idOf)));
    return name;
  };
}
