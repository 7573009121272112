/**
 * The JSON shape of the requests that make or change a container (create's body, `docker
 * update`'s), checked as Go's decoder checks Docker's types — a wrong type is a 400 when the
 * request comes, not a failure at start — and what Docker checks of the values before anything
 * is made (ulimit names, port specifications). Split from spec.ts, which builds the runtime spec.
 */
import { invalidArgument } from '../../errdefs/index.ts';
import { checkShape, type Shape } from '../../spec/index.ts';
import { parsePortKey } from '../../network/index.ts';

const ULIMIT_NAMES = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
  'as',
];

const strings: Shape = { list: 'string' };
const stringMap: Shape = { map: 'string' };
const shapeFields = (names: string[], shape: Shape) => Object.fromEntries(names.map((n) => [n, shape]));

/** The JSON shape of a create request's HostConfig, as Docker's Go types declare it. */
const HOST_CONFIG: { fields: Record<string, Shape> } = {
  fields: {
    ...shapeFields(
      [
        'Binds',
        'CapAdd',
        'CapDrop',
        'SecurityOpt',
        'Dns',
        'DnsSearch',
        'DnsOptions',
        'ExtraHosts',
        'Links',
        'VolumesFrom',
        'GroupAdd',
        'DeviceCgroupRules',
        'MaskedPaths',
        'ReadonlyPaths',
      ],
      strings,
    ),
    ...shapeFields(
      [
        'Memory',
        'MemorySwap',
        'MemoryReservation',
        'MemorySwappiness',
        'KernelMemory',
        'NanoCpus',
        'CpuShares',
        'CpuPeriod',
        'CpuQuota',
        'CpuRealtimePeriod',
        'CpuRealtimeRuntime',
        'CpuCount',
        'CpuPercent',
        'PidsLimit',
        'OomScoreAdj',
        'ShmSize',
        'BlkioWeight',
      ],
      'number',
    ),
    ...shapeFields(
      ['AutoRemove', 'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'OomKillDisable', 'Init'],
      'boolean',
    ),
    ...shapeFields(
      [
        'NetworkMode',
        'IpcMode',
        'PidMode',
        'UTSMode',
        'UsernsMode',
        'CgroupnsMode',
        'Cgroup',
        'CgroupParent',
        'Runtime',
        'VolumeDriver',
        'ContainerIDFile',
        'Isolation',
        'CpusetCpus',
        'CpusetMems',
      ],
      'string',
    ),
    ...shapeFields(['Sysctls', 'StorageOpt', 'Tmpfs', 'Annotations'], stringMap),
    LogConfig: { fields: { Type: 'string', Config: stringMap } },
    RestartPolicy: { fields: { Name: 'string', MaximumRetryCount: 'number' } },
    PortBindings: { map: { list: { fields: { HostIp: 'string', HostPort: 'string' } } } },
    Devices: { list: { fields: { PathOnHost: 'string', PathInContainer: 'string', CgroupPermissions: 'string' } } },
    Ulimits: { list: { fields: { Name: 'string', Soft: 'number', Hard: 'number' } } },
    Mounts: {
      list: {
        fields: { Type: 'string', Source: 'string', Target: 'string', ReadOnly: 'boolean', Consistency: 'string' },
      },
    },
    DeviceRequests: {
      list: {
        fields: {
          Driver: 'string',
          Count: 'number',
          DeviceIDs: strings,
          Capabilities: { list: strings },
          Options: stringMap,
        },
      },
    },
    ConsoleSize: { list: 'number' },
  },
};

/**
 * Go's JSON decoding matches field names without regard to case, and clients rely on it: the
 * Python SDK sends `CPURealtimePeriod` for `CpuRealtimePeriod`. The object with each key that
 * differs from a declared field only in case renamed to the field's spelling.
 */
function foldFieldCase(
  obj: Record<string, unknown>,
  shape: { fields: Record<string, Shape> },
): Record<string, unknown> {
  const byLower = new Map(Object.keys(shape.fields).map((f) => [f.toLowerCase(), f]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const name = k in shape.fields ? k : (byLower.get(k.toLowerCase()) ?? k);
    if (!(name in out) || name === k) out[name] = v;
  }
  return out;
}

/** A create request: the container's config with HostConfig and NetworkingConfig beside it. */
const CREATE_REQUEST: Shape = {
  fields: {
    ...shapeFields(['Hostname', 'Domainname', 'User', 'WorkingDir', 'StopSignal', 'Image', 'MacAddress'], 'string'),
    ...shapeFields(
      [
        'AttachStdin',
        'AttachStdout',
        'AttachStderr',
        'Tty',
        'OpenStdin',
        'StdinOnce',
        'NetworkDisabled',
        'ArgsEscaped',
      ],
      'boolean',
    ),
    Cmd: 'stringOrStrings',
    Entrypoint: 'stringOrStrings',
    Env: strings,
    OnBuild: strings,
    Shell: strings,
    Labels: stringMap,
    ExposedPorts: { map: 'any' },
    Volumes: { map: 'any' },
    StopTimeout: 'number',
    Healthcheck: {
      fields: {
        Test: strings,
        Interval: 'number',
        Timeout: 'number',
        StartPeriod: 'number',
        StartInterval: 'number',
        Retries: 'number',
      },
    },
    HostConfig: HOST_CONFIG,
    NetworkingConfig: {
      fields: {
        EndpointsConfig: {
          map: {
            fields: {
              IPAMConfig: { fields: { IPv4Address: 'string', IPv6Address: 'string', LinkLocalIPs: strings } },
              Links: strings,
              Aliases: strings,
              DNSNames: strings,
              MacAddress: 'string',
              DriverOpts: stringMap,
              NetworkID: 'string',
              EndpointID: 'string',
              Gateway: 'string',
              IPAddress: 'string',
              IPPrefixLen: 'number',
              GwPriority: 'number',
            },
          },
        },
      },
    },
  },
};

/**
 * Checks the JSON types of a create request the way Go's decoder does for Docker, so a wrong
 * type is a 400 at create time rather than a failure at start; then what Docker checks of the
 * values before anything is made (ulimit names, port specifications).
 */
export function validateCreateTypes(req: Record<string, unknown>): void {
  if (req.HostConfig && typeof req.HostConfig === 'object' && !Array.isArray(req.HostConfig))
    req.HostConfig = foldFieldCase(req.HostConfig as Record<string, unknown>, HOST_CONFIG);
  checkShape(req, CREATE_REQUEST, 'container config');
  const hc = (req.HostConfig ?? {}) as Record<string, unknown>;
  for (const u of (hc.Ulimits ?? []) as Array<Record<string, unknown> | null>) {
    if (typeof u?.Name !== 'string' || !ULIMIT_NAMES.includes(u.Name))
      throw invalidArgument(`invalid ulimit type: ${String(u?.Name)}`);
  }
  for (const key of [
    ...Object.keys((req.ExposedPorts ?? {}) as object),
    ...Object.keys((hc.PortBindings ?? {}) as object),
  ])
    parsePortKey(key);
}

/** `docker update`'s body: resources and a restart policy, typed as in a HostConfig. */
export function validateUpdateTypes(u: unknown): void {
  checkShape(u, HOST_CONFIG, 'update config');
}
