/**
 * berthd's flags, named as dockerd's so several daemons can run side by side.
 */
import { invalidArgument } from '../errdefs/index.ts';
import { goParseBool } from '../spec/index.ts';
import { checkRegistryConfig } from '../registry/index.ts';
import { DEFAULT_CERTS_DIRS } from '../tls/index.ts';
import { DEFAULT_CNI_BIN_DIRS, DEFAULT_CNI_CONF_DIR } from '../cni/index.ts';
import { normalizeHosts, resolveApiTls, type ApiTls, type ApiTlsFlags } from './apitls.ts';

export interface DaemonConfig {
  dataRoot: string;
  execRoot: string;
  hosts: string[];
  pidfile: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  liveRestore: boolean;
  bridge: string;
  bip?: string;
  /** `--ipv6`: IPv6 on the default bridge, from `--fixed-cidr-v6` (user networks ask for it each). */
  ipv6: boolean;
  fixedCidrV6?: string;
  defaultRuntime: string;
  /** `--monitor`: each container's monitor, Berth's own (build/berth-monitor) or conmon. */
  monitor: 'conmon' | 'berth';
  /** `--warm-pool N`: sandboxes of the most started image made ahead (services/containers/pool.ts); 0 turns it off. */
  warmPool: number;
  /** `--add-runtime name=path`: runtimes with runc's command line offered beside the built-in ones. */
  addedRuntimes: RuntimeEntry[];
  group: string;
  iptables: boolean;
  icc: boolean;
  ipForward: boolean;
  userlandProxy: boolean;
  dns: string[];
  /** `--insecure-registry`: CIDRs or host[:port] spoken to over plain HTTP. */
  insecureRegistries: string[];
  /** `--registry-mirror`: where docker.io pulls go. */
  registryMirrors: string[];
  /** `--registry-certs-dir`: where registry CAs, client certificates and hosts.toml files are looked up, by host. */
  registryCertsDirs: string[];
  /** `--tls`, `--tlsverify`, `--tlscacert`, `--tlscert`, `--tlskey` as given. */
  tlsFlags: ApiTlsFlags;
  /** What they mean (set by parseFlags). */
  apiTls: ApiTls;
  /** `--default-ulimit name=soft[:hard]`: for containers that do not set that limit themselves. */
  defaultUlimits: Array<{ Name: string; Soft: number; Hard: number }>;
  /** `--no-new-privileges`: containers get no_new_privs unless they opt out. */
  noNewPrivileges: boolean;
  /** `--registries-conf`: a containers-registries.conf(5) file; empty for none. */
  registriesConf: string;
  /** `--cri`: serve the Kubernetes CRI on `<exec-root>/cri.sock`. */
  cri: boolean;
  /** `--cni-conf-dir`: where the pods' CNI network configuration is read. */
  cniConfDir: string;
  /** `--cni-bin-dir`: where CNI plugins are looked up, in order. */
  cniBinDirs: string[];
  /** `--cni-default-network`: write Berth's pod network into the conf dir when it has none. */
  cniDefaultNetwork: boolean;
  /** `--sandbox-image`: the CRI sandboxes' pause image (containerd's `sandbox_image`); empty for Berth's own berth-pause. */
  sandboxImage: string;
  /** `--signature-policy`: a containers-policy.json(5) file pulls must satisfy; none accepts anything. */
  signaturePolicy?: string;
  /** `--experimental`: dockerd's experimental features (checkpoints) offered to the CLI. */
  experimental: boolean;
  /** `--userns-remap default|USER[:GROUP]`: containers' root is that user's subordinate ids; empty for none. */
  usernsRemap: string;
  /**
   * Under `--userns-remap`, idmapped layers where the kernel can (a new store's choice, see
   * snapshots/owners.ts); `BERTH_USERNS_IDMAP=0` forces the chowned copy, dockerd's way.
   */
  usernsIdmap: boolean;
}

/** An OCI runtime by name: the program and the global flags it gets before every command. */
export interface RuntimeEntry {
  name: string;
  path: string;
  args: string[];
}

/** `--add-runtime name=path` (dockerd's flag): a runtime with runc's command line, by name. */
export function parseAddRuntime(v: string): RuntimeEntry {
  const eq = v.indexOf('=');
  const name = eq > 0 ? v.slice(0, eq) : '';
  const path = eq > 0 ? v.slice(eq + 1) : '';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) || !path)
    throw invalidArgument(`berthd: invalid runtime "${v}": expected name=path`);
  return { name, path, args: [] };
}

export function defaultConfig(): DaemonConfig {
  return {
    dataRoot: '/var/lib/berth',
    execRoot: '/run/berth',
    hosts: [],
    pidfile: '',
    logLevel: 'info',
    liveRestore: false,
    bridge: 'berth0',
    ipv6: false,
    // Empty: crun when it is installed (much faster to create a container), else runc.
    defaultRuntime: '',
    // Berth's own: about a fourth of conmon's memory per container, and a cheaper start.
    monitor: 'berth',
    // Two: a script's burst of `docker run` finds its first two warm, and the refills keep up behind.
    warmPool: 2,
    addedRuntimes: [],
    group: 'berth',
    iptables: true,
    icc: true,
    ipForward: true,
    userlandProxy: true,
    dns: [],
    insecureRegistries: [],
    registryMirrors: [],
    registryCertsDirs: [...DEFAULT_CERTS_DIRS],
    tlsFlags: {},
    apiTls: { enabled: false, verifyClients: false, explicit: false, ca: '', cert: '', key: '' },
    defaultUlimits: [],
    noNewPrivileges: false,
    registriesConf: '',
    cri: true,
    cniConfDir: DEFAULT_CNI_CONF_DIR,
    cniBinDirs: [...DEFAULT_CNI_BIN_DIRS],
    experimental: false,
    cniDefaultNetwork: false,
    sandboxImage: '',
    usernsRemap: '',
    usernsIdmap: true,
  };
}

const VALUE_FLAGS = new Set([
  'data-root',
  'exec-root',
  'host',
  'pidfile',
  'log-level',
  'bridge',
  'bip',
  'fixed-cidr-v6',
  'default-runtime',
  'monitor',
  'warm-pool',
  'add-runtime',
  'group',
  'dns',
  'insecure-registry',
  'registry-mirror',
  'registry-certs-dir',
  'tlscacert',
  'tlscert',
  'tlskey',
  'default-ulimit',
  'registries-conf',
  'cni-conf-dir',
  'sandbox-image',
  'cni-bin-dir',
  'signature-policy',
  'userns-remap',
]);
const BOOL_FLAGS = new Set([
  'live-restore',
  'iptables',
  'icc',
  'ip-forward',
  'ipv6',
  'userland-proxy',
  'cri',
  'cni-default-network',
  'debug',
  'D',
  'tls',
  'tlsverify',
  'no-new-privileges',
  'experimental',
]);

export const USAGE = `Usage: berthd [OPTIONS]

A Docker-compatible container engine daemon.

Options:
      --data-root string        Root directory of persistent state (default "/var/lib/berth")
      --exec-root string        Root directory for execution state files (default "/run/berth")
  -H, --host list               Daemon socket(s) to connect to (default unix:///run/berth/berth.sock)
  -p, --pidfile string          Path to use for daemon PID file (default "<exec-root>/berthd.pid")
  -l, --log-level string        Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
  -D, --debug                   Enable debug mode
      --live-restore            Keep containers running while the daemon is down
  -b, --bridge string           Attach containers to a network bridge (default "berth0")
      --bip string              Network bridge IP
      --ipv6                    Enable IPv6 networking on the default bridge
      --fixed-cidr-v6 string    IPv6 subnet for the default bridge's containers (needed with --ipv6)
      --default-runtime string  Default OCI runtime for containers: crun, runc or a path (default crun if installed, else runc)
      --monitor string          Each container's monitor: berth, Berth's own, or conmon (default "berth")
      --warm-pool int           Sandboxes of the most started image kept ready for docker run; 0 turns it off (default 2)
      --add-runtime runtime     Register an additional OCI runtime (name=path); runsc and berth-vm are offered when installed
  -G, --group string            Group for the unix socket (default "berth")
      --iptables                Enable addition of iptables/nftables rules (default true)
      --icc                     Enable inter-container communication (default true)
      --dns list                DNS server to use
      --insecure-registry list  Registries spoken to over plain HTTP (CIDR or host[:port]; loopback always is)
      --registry-mirror list    Registry mirror for docker.io (the only way to pull docker.io images here)
      --registry-certs-dir list Where registry certificates and hosts.toml files are looked up by host (default /etc/berth/certs.d and /etc/docker/certs.d)
      --registries-conf string  A containers-registries.conf(5) file: [[registry]] locations and mirrors
      --default-ulimit ulimit   Default ulimits for containers (default nofile=1024:524288, capped at berthd's own hard limit)
      --no-new-privileges       Set no-new-privileges by default for new containers
      --experimental            Enable experimental features (docker checkpoint)
      --tls                     Use TLS; implied by --tlsverify
      --tlscacert string        Trust certs signed only by this CA (default "~/.docker/ca.pem")
      --tlscert string          Path to TLS certificate file (default "~/.docker/cert.pem")
      --tlskey string           Path to TLS key file (default "~/.docker/key.pem")
      --tlsverify               Use TLS and verify the remote
      --cri                     Serve the Kubernetes CRI (v1) on unix://<exec-root>/cri.sock (default true; --cri=false turns it off)
      --cni-conf-dir string     Where the pods' CNI network configuration is read (default "/etc/cni/net.d")
      --cni-bin-dir list        Where CNI plugins are looked up, in order (default /usr/lib/cni and /opt/cni/bin)
      --cni-default-network     Write Berth's pod network (10-berth-cni0.conflist) into the CNI conf dir when it has none
      --sandbox-image string    The CRI sandboxes' pause image, pulled if missing (default: berth-pause, made locally)
      --signature-policy string Signature policy for pulls, in containers-policy.json(5) format (default: accept anything)
      --userns-remap string     User/Group setting for user namespaces ("default" makes and uses the user dockremap)
  -v, --version                 Print version information and quit
`;

/**
 * The open-files limit containers get unless `--default-ulimit nofile=` or their own `--ulimit`
 * says otherwise: 1024 soft, 524288 hard, what Docker 25+ containers get on systemd hosts.
 * Without it they would inherit berthd's own limits, whatever started berthd left them at
 * (docker-bench-security 2.8 asks for a configured default).
 */
export const DEFAULT_NOFILE = { soft: 1024, hard: 524288 };

/**
 * berthd's defaults for containers: the `--default-ulimit`s, nofile's default when not among
 * them (capped at `nofileHard`, berthd's own hard limit: without CAP_SYS_RESOURCE no container
 * can be given more), and `--no-new-privileges`.
 */
export function containerDefaults(
  cfg: Pick<DaemonConfig, 'defaultUlimits' | 'noNewPrivileges'>,
  nofileHard: number,
): { ulimits: Array<{ Name: string; Soft: number; Hard: number }>; noNewPrivileges: boolean } {
  const ulimits = [...cfg.defaultUlimits];
  if (!ulimits.some((u) => u.Name === 'nofile')) {
    const hard = Math.min(DEFAULT_NOFILE.hard, nofileHard);
    ulimits.push({ Name: 'nofile', Soft: Math.min(DEFAULT_NOFILE.soft, hard), Hard: hard });
  }
  return { ulimits, noNewPrivileges: cfg.noNewPrivileges };
}

/** Go's strconv.ParseBool, which dockerd's boolean flags use, with dockerd's words for a refusal. */
function parseBool(name: string, value: string): boolean {
  const on = goParseBool(value);
  if (on !== undefined) return on;
  throw invalidArgument(
    `berthd: invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

/** `nofile=1024:2048` or `nofile=1024` (soft = hard), as dockerd's --default-ulimit. */
export function parseUlimit(s: string): { Name: string; Soft: number; Hard: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(s);
  if (!m) throw invalidArgument(`berthd: invalid ulimit argument: ${s}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard && hard >= 0)
    throw invalidArgument(`berthd: ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1]!, Soft: soft, Hard: hard };
}

export function parseFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): DaemonConfig & { help?: boolean; version?: boolean } {
  const cfg: DaemonConfig & { help?: boolean; version?: boolean } = defaultConfig();
  const short: Record<string, string> = {
    H: 'host',
    p: 'pidfile',
    l: 'log-level',
    b: 'bridge',
    G: 'group',
    D: 'debug',
    h: 'help',
    v: 'version',
  };
  const certsDirs: string[] = [];
  const cniBinDirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let value: string | undefined;
    if (!arg.startsWith('-')) throw invalidArgument(`berthd: unexpected argument "${arg}"\nSee 'berthd --help'.`);
    arg = arg.replace(/^--?/, '');
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const name = short[arg] ?? arg;
    if (name === 'help' || name === 'version') {
      cfg[name] = true;
      continue;
    }
    if (BOOL_FLAGS.has(name)) {
      const on = value === undefined ? true : parseBool(name, value);
      switch (name) {
        case 'tls':
          cfg.tlsFlags.tls = on;
          break;
        case 'tlsverify':
          cfg.tlsFlags.tlsVerify = on;
          break;
        case 'no-new-privileges':
          cfg.noNewPrivileges = on;
          break;
        case 'experimental':
          cfg.experimental = on;
          break;
        case 'live-restore':
          cfg.liveRestore = on;
          break;
        case 'iptables':
          cfg.iptables = on;
          break;
        case 'icc':
          cfg.icc = on;
          break;
        case 'ip-forward':
          cfg.ipForward = on;
          break;
        case 'ipv6':
          cfg.ipv6 = on;
          break;
        case 'userland-proxy':
          cfg.userlandProxy = on;
          break;
        case 'cri':
          cfg.cri = on;
          break;
        case 'cni-default-network':
          cfg.cniDefaultNetwork = on;
          break;
        case 'debug':
        case 'D':
          cfg.logLevel = on ? 'debug' : cfg.logLevel;
          break;
      }
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw invalidArgument(`berthd: unknown flag: --${name}\nSee 'berthd --help'.`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw invalidArgument(`berthd: flag needs an argument: --${name}`);
    }
    switch (name) {
      case 'data-root':
        cfg.dataRoot = value;
        break;
      case 'exec-root':
        cfg.execRoot = value;
        break;
      case 'host':
        cfg.hosts.push(value);
        break;
      case 'pidfile':
        cfg.pidfile = value;
        break;
      case 'log-level':
        if (!['debug', 'info', 'warn', 'error', 'fatal'].includes(value))
          throw invalidArgument(`berthd: unable to parse logging level: ${value}`);
        cfg.logLevel = value as DaemonConfig['logLevel'];
        break;
      case 'bridge':
        cfg.bridge = value;
        break;
      case 'bip':
        cfg.bip = value;
        break;
      case 'fixed-cidr-v6':
        cfg.fixedCidrV6 = value;
        break;
      case 'default-runtime':
        cfg.defaultRuntime = value;
        break;
      case 'monitor':
        if (value !== 'conmon' && value !== 'berth')
          throw invalidArgument(`berthd: invalid monitor "${value}": conmon or berth`);
        cfg.monitor = value;
        break;
      case 'warm-pool':
        if (!/^\d+$/.test(value) || Number(value) > 64)
          throw invalidArgument(`berthd: invalid --warm-pool "${value}": a number of sandboxes from 0 to 64`);
        cfg.warmPool = Number(value);
        break;
      case 'add-runtime': {
        const r = parseAddRuntime(value);
        cfg.addedRuntimes = [...cfg.addedRuntimes.filter((x) => x.name !== r.name), r];
        break;
      }
      case 'group':
        cfg.group = value;
        break;
      case 'dns':
        cfg.dns.push(value);
        break;
      case 'insecure-registry':
        cfg.insecureRegistries.push(value);
        break;
      case 'registry-mirror':
        cfg.registryMirrors.push(value);
        break;
      case 'registry-certs-dir':
        certsDirs.push(value);
        break;
      case 'tlscacert':
        cfg.tlsFlags.tlsCaCert = value;
        break;
      case 'tlscert':
        cfg.tlsFlags.tlsCert = value;
        break;
      case 'tlskey':
        cfg.tlsFlags.tlsKey = value;
        break;
      case 'default-ulimit': {
        const u = parseUlimit(value);
        cfg.defaultUlimits = [...cfg.defaultUlimits.filter((x) => x.Name !== u.Name), u];
        break;
      }
      case 'registries-conf':
        cfg.registriesConf = value;
        break;
      case 'cni-conf-dir':
        cfg.cniConfDir = value;
        break;
      case 'sandbox-image':
        cfg.sandboxImage = value;
        break;
      case 'cni-bin-dir':
        // Repeated, or one colon-separated list as CNI_PATH spells it.
        cniBinDirs.push(...value.split(':').filter(Boolean));
        break;
      case 'signature-policy':
        cfg.signaturePolicy = value;
        break;
      case 'userns-remap':
        cfg.usernsRemap = value;
        break;
      default:
        throw invalidArgument(`berthd: unknown flag: --${name}\nSee 'berthd --help'.`);
    }
  }
  checkRegistryConfig({ insecure: cfg.insecureRegistries, mirrors: cfg.registryMirrors });
  if (certsDirs.length) cfg.registryCertsDirs = certsDirs;
  if (cniBinDirs.length) cfg.cniBinDirs = cniBinDirs;
  cfg.apiTls = resolveApiTls(cfg.tlsFlags, env);
  if (env.BERTH_USERNS_IDMAP === '0') cfg.usernsIdmap = false;
  cfg.hosts = normalizeHosts(cfg.hosts, cfg.apiTls.enabled, `${cfg.execRoot}/berth.sock`);
  if (!cfg.pidfile) cfg.pidfile = `${cfg.execRoot}/berthd.pid`;
  return cfg;
}
