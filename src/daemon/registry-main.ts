/**
 * berth-registry: Berth's own container registry (the distribution spec's /v2/ API), in the
 * foreground. SIGTERM or SIGINT stops it cleanly: requests in flight get a grace period, then
 * are cut off, and the storage rolls back any upload they left half-written.
 *
 * Over HTTPS with --tls-cert/--tls-key (and client certificates with --tls-client-ca), so it
 * can be reached from other machines; Basic auth is refused at start on a non-loopback address
 * without TLS, where passwords would cross the network merely base64-encoded.
 */
import { Htpasswd, RegistryServer, RegistryStorage, acquireRootLock, type RootLock } from '../registry/index.ts';
import { fileWarnings, loadServerTls, type ServerTls } from '../tls/index.ts';
import { Logger, type Level } from './log.ts';
import { isLoopbackIp } from './remote.ts';

export const REGISTRY_USAGE = `Usage: berth-registry [OPTIONS]

Berth's container registry (OCI distribution spec v2, over HTTP, or HTTPS with --tls-cert).

Options:
      --listen string      Address to listen on, host:port (default "127.0.0.1:5000")
      --root string        Root directory of the registry's storage (default "/var/lib/berth-registry")
      --htpasswd string    Require HTTP Basic auth from users of this htpasswd file (bcrypt, htpasswd -B);
                           the file is re-read when it changes
      --realm string       Realm of the Basic auth challenge (default "berth-registry")
      --tls-cert string    Serve HTTPS with this certificate (PEM; with --tls-key)
      --tls-key string     The certificate's private key (PEM)
      --tls-client-ca string
                           Also require client certificates signed by this CA
  -l, --log-level string   Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
  -h, --help               Print usage
`;

export interface RegistryConfig {
  host: string;
  port: number;
  root: string;
  htpasswd?: string;
  realm: string;
  logLevel: Level;
  help: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error', 'fatal'];

/** Splits `host:port`, `[v6]:port` or `:port` (all addresses). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`berth-registry: invalid --listen address "${value}": want host:port`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function parseRegistryFlags(argv: readonly string[]): RegistryConfig {
  const cfg: RegistryConfig = {
    host: '127.0.0.1',
    port: 5000,
    root: '/var/lib/berth-registry',
    realm: 'berth-registry',
    logLevel: 'info',
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (eq >= 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined)
        throw new Error(`berth-registry: flag needs an argument: ${flag}\nSee 'berth-registry --help'.`);
      return v;
    };
    switch (flag) {
      case '--listen':
        Object.assign(cfg, parseListen(value()));
        break;
      case '--root':
        cfg.root = value();
        break;
      case '--htpasswd':
        cfg.htpasswd = value();
        break;
      case '--realm':
        cfg.realm = value();
        break;
      case '--tls-cert':
        cfg.tlsCert = value();
        break;
      case '--tls-key':
        cfg.tlsKey = value();
        break;
      case '--tls-client-ca':
        cfg.tlsClientCa = value();
        break;
      case '-l':
      case '--log-level': {
        const level = value();
        if (!LEVELS.includes(level)) throw new Error(`berth-registry: invalid log level "${level}"`);
        cfg.logLevel = level as Level;
        break;
      }
      case '-h':
      case '--help':
        cfg.help = true;
        break;
      default:
        throw new Error(`berth-registry: unknown flag: ${flag}\nSee 'berth-registry --help'.`);
    }
  }
  checkRegistryTls(cfg);
  return cfg;
}

function isLoopbackListen(host: string): boolean {
  return host === 'localhost' || isLoopbackIp(host);
}

/** The flags' combinations that cannot work or would expose passwords. */
export function checkRegistryTls(cfg: RegistryConfig): void {
  if ((cfg.tlsCert === undefined) !== (cfg.tlsKey === undefined))
    throw new Error('berth-registry: --tls-cert and --tls-key go together');
  if (cfg.tlsClientCa !== undefined && cfg.tlsCert === undefined)
    throw new Error('berth-registry: --tls-client-ca needs --tls-cert and --tls-key');
  if (cfg.htpasswd !== undefined && cfg.tlsCert === undefined && !isLoopbackListen(cfg.host))
    throw new Error(
      `berth-registry: refusing Basic auth over plain HTTP on ${cfg.host}:${cfg.port}: passwords would cross the network merely base64-encoded; ` +
        'give --tls-cert and --tls-key, or listen on a loopback address',
    );
}

async function main(): Promise<void> {
  let cfg: RegistryConfig;
  try {
    cfg = parseRegistryFlags(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(125);
  }
  if (cfg.help) {
    process.stdout.write(REGISTRY_USAGE);
    return;
  }
  const log = new Logger(cfg.logLevel);
  process.on('uncaughtException', (e) => log.error(`uncaught exception: ${e.stack ?? e}`));
  process.on('unhandledRejection', (e) => log.error(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  let server: RegistryServer;
  let lock: RootLock | undefined;
  try {
    const htpasswd = cfg.htpasswd
      ? await Htpasswd.load(cfg.htpasswd, {
          onReloadError: (e) => log.error(`reload htpasswd: ${e.message}; keeping the users read before`),
        })
      : undefined;
    let tls: ServerTls | undefined;
    if (cfg.tlsCert !== undefined) {
      tls = loadServerTls({ cert: cfg.tlsCert, key: cfg.tlsKey!, clientCa: cfg.tlsClientCa });
      const files = [
        { path: cfg.tlsCert, kind: 'cert' as const },
        { path: cfg.tlsKey!, kind: 'key' as const },
        ...(cfg.tlsClientCa !== undefined ? [{ path: cfg.tlsClientCa, kind: 'ca' as const }] : []),
      ];
      for (const w of fileWarnings(files)) log.warn(w);
    }
    // Before the storage opens: opening empties ingest/, which another server may be using.
    lock = await acquireRootLock(cfg.root);
    const storage = await RegistryStorage.open(cfg.root);
    server = new RegistryServer(storage, { log, htpasswd, realm: cfg.realm, tls });
    const addr = await server.listen(cfg.port, cfg.host);
    const shown = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
    log.info(`berth-registry listening on ${tls ? 'https' : 'http'}://${shown}, storage in ${cfg.root}`);
    if (tls?.verifiesClients) log.info(`client certificates required, signed by ${cfg.tlsClientCa}`);
    if (htpasswd) log.info(`basic auth: ${htpasswd.size} user(s) from ${cfg.htpasswd}, realm "${cfg.realm}"`);
  } catch (e) {
    log.error(`failed to start registry: ${(e as Error).message}`);
    await lock?.release();
    process.exit(1);
  }
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals === 1) {
      log.info(`received ${sig}, shutting down`);
      server
        .close()
        .catch((e) => log.error(`shutdown: ${(e as Error).message}`))
        .then(() => lock?.release())
        .finally(() => process.exit(0));
    } else if (signals >= 3) {
      log.warn(`forcing shutdown: ${signals} signals received`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

if (import.meta.main) void main();
