/**
 * berth-registry: Berth's own container registry (the distribution spec's /v2/ API), in the
 * foreground. SIGTERM or SIGINT stops it cleanly: requests in flight get a grace period, then
 * are cut off, and the storage rolls back any upload they left half-written.
 *
 * Over HTTPS with --tls-cert/--tls-key (and client certificates with --tls-client-ca), so it
 * can be reached from other machines; Basic auth is refused at start on a non-loopback address
 * without TLS, where passwords would cross the network merely base64-encoded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Htpasswd,
  RegistryServer,
  RegistryStorage,
  Notifier,
  acquireGcLock,
  acquireRootLock,
  collectGarbage,
  parseGoDuration,
  parseRegistryConfig,
  type NotificationEndpoint,
  type RootLock,
  type UploadPurging,
} from '../registry/index.ts';
import { fileWarnings, loadServerTls, type ServerTls } from '../tls/index.ts';
import { Logger, type Level } from './log.ts';
import { isLoopbackIp } from './remote.ts';

export const REGISTRY_USAGE = `Usage: berth-registry [OPTIONS]
       berth-registry garbage-collect [--root DIR | CONFIG] [--dry-run] [--delete-untagged]

Berth's container registry (OCI distribution spec v2, over HTTP, or HTTPS with --tls-cert).

Options:
      --config string      Read settings from this distribution-style config.yml (http, auth.htpasswd,
                           log, storage.filesystem, storage.delete, storage.maintenance,
                           notifications); flags given beside it override it
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
  config?: string;
  /** DELETE of manifests and blobs (`storage.delete.enabled`; Berth's default: allowed). */
  deleteEnabled: boolean;
  /** Refuse every write (`storage.maintenance.readonly.enabled`), so a garbage collection can run. */
  readOnly: boolean;
  uploadPurging: UploadPurging;
  endpoints: NotificationEndpoint[];
  /** `notifications.events.includereferences`: manifest events carry what the manifest references. */
  includeReferences: boolean;
  /** Keys of the config file Berth does not act on (logged at start). */
  ignored: string[];
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

export function parseRegistryFlags(
  argv: readonly string[],
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): RegistryConfig {
  const cfg: RegistryConfig = {
    host: '127.0.0.1',
    port: 5000,
    root: '/var/lib/berth-registry',
    realm: 'berth-registry',
    logLevel: 'info',
    help: false,
    deleteEnabled: true,
    readOnly: false,
    uploadPurging: { enabled: true, ageMs: 24 * 3600_000, intervalMs: 3600_000, dryRun: false },
    endpoints: [],
    includeReferences: false,
    ignored: [],
  };
  // The file first, then the flags over it, wherever --config stands among them.
  const at = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (at >= 0) {
    const path = argv[at]!.includes('=') ? argv[at]!.slice('--config='.length) : argv[at + 1];
    if (path === undefined) throw new Error(`berth-registry: flag needs an argument: --config`);
    applyConfigFile(cfg, path, readFile);
  }
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
      case '--config':
        cfg.config = value();
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

function applyConfigFile(cfg: RegistryConfig, path: string, readFile: (path: string) => string): void {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new Error(`berth-registry: read config "${path}": ${(e as Error).message}`);
  }
  let file;
  try {
    file = parseRegistryConfig(text);
  } catch (e) {
    throw new Error(`berth-registry: config "${path}": ${(e as Error).message}`);
  }
  if (file.listen !== undefined) Object.assign(cfg, parseListen(file.listen));
  if (file.root !== undefined) cfg.root = file.root;
  if (file.htpasswd !== undefined) cfg.htpasswd = file.htpasswd;
  if (file.realm !== undefined) cfg.realm = file.realm;
  if (file.tlsCert !== undefined) cfg.tlsCert = file.tlsCert;
  if (file.tlsKey !== undefined) cfg.tlsKey = file.tlsKey;
  if (file.tlsClientCa !== undefined) cfg.tlsClientCa = file.tlsClientCa;
  if (file.logLevel !== undefined) {
    if (!LEVELS.includes(file.logLevel))
      throw new Error(`berth-registry: config "${path}": invalid log.level "${file.logLevel}"`);
    cfg.logLevel = file.logLevel as Level;
  }
  if (file.deleteEnabled !== undefined) cfg.deleteEnabled = file.deleteEnabled;
  if (file.readOnly !== undefined) cfg.readOnly = file.readOnly;
  if (file.uploadPurging !== undefined) cfg.uploadPurging = file.uploadPurging;
  cfg.endpoints = file.endpoints;
  if (file.includeReferences !== undefined) cfg.includeReferences = file.includeReferences;
  cfg.ignored = file.ignored;
  cfg.config = path;
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

export interface GcFlags {
  root: string;
  dryRun: boolean;
  deleteUntagged: boolean;
  graceMs: number;
  help: boolean;
}

export const GC_USAGE = `Usage: berth-registry garbage-collect [--root DIR | CONFIG] [OPTIONS]

Removes the blobs no manifest references (and, with --delete-untagged, the manifests no tag
reaches), as distribution's registry garbage-collect. Run it with the registry stopped, or
beside one in read-only mode (storage.maintenance.readonly.enabled: true).

Options:
      --root string        Root directory of the registry's storage (default "/var/lib/berth-registry")
  -d, --dry-run            Only say what would be removed
  -m, --delete-untagged    Also delete manifests that are not tagged, nor reached from a tagged one
      --grace duration     Keep blobs linked or stored this recently: a push may be in progress (default 10m)
  -h, --help               Print usage
`;

/** `garbage-collect`'s flags; a positional CONFIG file gives the root as distribution's does. */
export function parseGcFlags(
  argv: readonly string[],
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): GcFlags {
  const out: GcFlags = {
    root: '/var/lib/berth-registry',
    dryRun: false,
    deleteUntagged: false,
    graceMs: 600_000,
    help: false,
  };
  let config: string | undefined;
  let root: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('-') && eq >= 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq >= 0 && arg.startsWith('-') ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new Error(`berth-registry garbage-collect: flag needs an argument: ${flag}`);
      return v;
    };
    if (flag === '--root') root = value();
    else if (flag === '-d' || flag === '--dry-run') out.dryRun = true;
    else if (flag === '-m' || flag === '--delete-untagged') out.deleteUntagged = true;
    else if (flag === '--grace') out.graceMs = parseGoDuration(value(), 'berth-registry garbage-collect: --grace');
    else if (flag === '-h' || flag === '--help') out.help = true;
    else if (!flag.startsWith('-') && config === undefined) config = flag;
    else throw new Error(`berth-registry garbage-collect: unknown flag: ${flag}`);
  }
  if (config !== undefined) {
    const file = parseRegistryConfig(readFile(config));
    if (file.root !== undefined) out.root = file.root;
  }
  if (root !== undefined) out.root = root;
  return out;
}

async function gcMain(argv: readonly string[]): Promise<void> {
  let flags: GcFlags;
  try {
    flags = parseGcFlags(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(125);
  }
  if (flags.help) {
    process.stdout.write(GC_USAGE);
    return;
  }
  let lock: RootLock;
  try {
    lock = await acquireGcLock(flags.root);
  } catch (e) {
    process.stderr.write(`berth-registry garbage-collect: ${(e as Error).message}\n`);
    process.exit(1);
  }
  try {
    const report = await collectGarbage(flags.root, {
      dryRun: flags.dryRun,
      deleteUntagged: flags.deleteUntagged,
      graceMs: flags.graceMs,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    if (!flags.dryRun)
      process.stdout.write(
        `removed ${report.blobs.length} blobs (${report.bytes} bytes) and ${report.manifests.length} manifests\n`,
      );
  } catch (e) {
    process.stderr.write(`berth-registry garbage-collect: ${(e as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await lock.release();
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'garbage-collect') return gcMain(process.argv.slice(3));
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
  let notifier: Notifier | undefined;
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
    lock = await acquireRootLock(cfg.root, process.pid, { readOnly: cfg.readOnly });
    const purge = cfg.uploadPurging;
    const storage = await RegistryStorage.open(cfg.root, {
      uploadTtlMs: purge.ageMs,
      purgeUploads: purge.enabled && !purge.dryRun && !cfg.readOnly,
    });
    // Each endpoint's queue is kept on disk, so what was not delivered goes out after a restart.
    if (cfg.endpoints.length > 0) notifier = await Notifier.open(join(cfg.root, 'notifications'), cfg.endpoints, log);
    server = new RegistryServer(storage, {
      notifier,
      log,
      htpasswd,
      realm: cfg.realm,
      tls,
      expireIntervalMs: purge.intervalMs,
      purgeUploads: purge.enabled && !cfg.readOnly,
      purgeDryRun: purge.dryRun,
      handler: { deleteEnabled: cfg.deleteEnabled, readOnly: cfg.readOnly, includeReferences: cfg.includeReferences },
    });
    if (cfg.config) log.info(`configuration from ${cfg.config}`);
    for (const key of cfg.ignored) log.warn(`config: "${key}" is not a setting berth-registry acts on; ignored`);
    const addr = await server.listen(cfg.port, cfg.host);
    const shown = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
    log.info(`berth-registry listening on ${tls ? 'https' : 'http'}://${shown}, storage in ${cfg.root}`);
    if (tls?.verifiesClients) log.info(`client certificates required, signed by ${cfg.tlsClientCa}`);
    for (const e of cfg.endpoints)
      log.info(`notifications: endpoint ${e.name} -> ${e.url}${e.disabled ? ' (disabled)' : ''}`);
    if (cfg.readOnly) log.info('read-only mode: writes are refused (storage.maintenance.readonly)');
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
        .then(() => notifier?.close())
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
