/**
 * berthd's flags, named as dockerd's so several daemons can run side by side.
 */
import { invalidArgument } from '../errdefs/index.ts';
import { checkRegistryConfig } from '../registry/index.ts';

export interface DaemonConfig {
  dataRoot: string;
  execRoot: string;
  hosts: string[];
  pidfile: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  liveRestore: boolean;
  bridge: string;
  bip?: string;
  defaultRuntime: string;
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
    // Empty: crun when it is installed (much faster to create a container), else runc.
    defaultRuntime: '',
    group: 'berth',
    iptables: true,
    icc: true,
    ipForward: true,
    userlandProxy: true,
    dns: [],
    insecureRegistries: [],
    registryMirrors: [],
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
  'default-runtime',
  'group',
  'dns',
  'insecure-registry',
  'registry-mirror',
]);
const BOOL_FLAGS = new Set(['live-restore', 'iptables', 'icc', 'ip-forward', 'userland-proxy', 'debug', 'D']);

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
      --default-runtime string  Default OCI runtime for containers: crun, runc or a path (default crun if installed, else runc)
  -G, --group string            Group for the unix socket (default "berth")
      --iptables                Enable addition of iptables/nftables rules (default true)
      --icc                     Enable inter-container communication (default true)
      --dns list                DNS server to use
      --insecure-registry list  Registries spoken to over plain HTTP (CIDR or host[:port]; loopback always is)
      --registry-mirror list    Registry mirror for docker.io (the only way to pull docker.io images here)
  -v, --version                 Print version information and quit
`;

export function parseFlags(argv: readonly string[]): DaemonConfig & { help?: boolean; version?: boolean } {
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
      const on = value === undefined ? true : value === 'true' || value === '1';
      switch (name) {
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
        case 'userland-proxy':
          cfg.userlandProxy = on;
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
      case 'default-runtime':
        cfg.defaultRuntime = value;
        break;
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
      default:
        throw invalidArgument(`berthd: unknown flag: --${name}\nSee 'berthd --help'.`);
    }
  }
  checkRegistryConfig({ insecure: cfg.insecureRegistries, mirrors: cfg.registryMirrors });
  if (cfg.hosts.length === 0)
    cfg.hosts.push(`unix://${cfg.execRoot === '/run/berth' ? '/run/berth' : cfg.execRoot}/berth.sock`);
  if (!cfg.pidfile) cfg.pidfile = `${cfg.execRoot}/berthd.pid`;
  return cfg;
}
