/**
 * berth-registry's configuration file, in distribution's `config.yml` shape, so an operator's
 * registry:2 file works here for the parts Berth has: `http` (addr, tls), `auth.htpasswd`,
 * `log.level`, `storage.filesystem.rootdirectory`, `storage.delete`, `storage.maintenance`
 * (`uploadpurging`, `readonly`) and `notifications.endpoints`. Parsed once at the edge into a
 * plain value; keys Berth does not know are reported, not silently ignored, so a typo does
 * not pass for a setting. Flags given beside `--config` override what the file says.
 */
import { parse } from 'yaml';

export interface UploadPurging {
  enabled: boolean;
  /** Uploads untouched this long are removed. */
  ageMs: number;
  /** How often they are looked for. */
  intervalMs: number;
  /** Only log what would be removed. */
  dryRun: boolean;
}

/** One webhook endpoint, as distribution's `notifications.endpoints[]`. */
export interface NotificationEndpoint {
  name: string;
  url: string;
  headers: Record<string, string[]>;
  timeoutMs: number;
  /** Failures in a row before the endpoint counts as down (logged), as distribution's. */
  threshold: number;
  /** The pause after a failed delivery before the next try. */
  backoffMs: number;
  disabled: boolean;
  ignoredMediaTypes: string[];
  ignore: { mediaTypes: string[]; actions: string[] };
}

export interface RegistryFileConfig {
  listen?: string;
  root?: string;
  logLevel?: string;
  htpasswd?: string;
  realm?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  /** `storage.delete.enabled`: DELETE of manifests and blobs (Berth's default: allowed). */
  deleteEnabled?: boolean;
  /** `storage.maintenance.readonly.enabled`: every write is refused (for garbage collection). */
  readOnly?: boolean;
  uploadPurging?: UploadPurging;
  endpoints: NotificationEndpoint[];
  /** `notifications.events.includereferences`: manifest events carry the manifest's references. */
  includeReferences?: boolean;
  /** Keys present in the file that Berth does not act on, as dotted paths. */
  ignored: string[];
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`168h`, `1h30m`, `500ms`) or a bare number of nanoseconds, in milliseconds. */
export function parseGoDuration(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v / 1e6;
  const s = typeof v === 'string' ? v.trim() : '';
  if (/^\d+$/.test(s)) return Number(s) / 1e6;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  if (s === '' || end !== s.length) throw new Error(`${where}: invalid duration ${JSON.stringify(v)}`);
  return total;
}

type Node = Record<string, unknown>;

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a config file's text; throws naming the key for anything malformed. */
export function parseRegistryConfig(text: string): RegistryFileConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`invalid configuration: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isNode(doc)) throw new Error('invalid configuration: the file must be a YAML mapping');
  const out: RegistryFileConfig = { endpoints: [], ignored: [] };
  const known = new Set<string>();
  const get = (path: string): unknown => {
    known.add(path);
    let v: unknown = doc;
    for (const part of path.split('.')) v = isNode(v) ? v[part] : undefined;
    return v;
  };
  const str = (path: string): string | undefined => {
    const v = get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new Error(`${path}: want a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (path: string): boolean | undefined => {
    const v = get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new Error(`${path}: want true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  get('version');
  out.listen = str('http.addr');
  out.tlsCert = str('http.tls.certificate');
  out.tlsKey = str('http.tls.key');
  const cas = get('http.tls.clientcas');
  if (Array.isArray(cas)) {
    if (cas.length > 1) throw new Error('http.tls.clientcas: Berth takes one client CA file');
    if (cas.length === 1) out.tlsClientCa = String(cas[0]);
  } else if (cas !== undefined && cas !== null) throw new Error('http.tls.clientcas: want a list of files');
  out.htpasswd = str('auth.htpasswd.path');
  out.realm = str('auth.htpasswd.realm');
  out.logLevel = str('log.level');
  out.root = str('storage.filesystem.rootdirectory');
  out.deleteEnabled = bool('storage.delete.enabled');
  out.readOnly = bool('storage.maintenance.readonly.enabled');
  const purging = get('storage.maintenance.uploadpurging');
  if (isNode(purging)) {
    for (const k of ['enabled', 'age', 'interval', 'dryrun']) known.add(`storage.maintenance.uploadpurging.${k}`);
    out.uploadPurging = {
      enabled: bool('storage.maintenance.uploadpurging.enabled') ?? true,
      ageMs: parseGoDuration(purging.age ?? '168h', 'storage.maintenance.uploadpurging.age'),
      intervalMs: parseGoDuration(purging.interval ?? '24h', 'storage.maintenance.uploadpurging.interval'),
      dryRun: bool('storage.maintenance.uploadpurging.dryrun') ?? false,
    };
    if (out.uploadPurging.intervalMs <= 0) throw new Error('storage.maintenance.uploadpurging.interval: must be > 0');
  }
  out.includeReferences = bool('notifications.events.includereferences');
  const endpoints = get('notifications.endpoints');
  if (endpoints !== undefined && endpoints !== null) {
    if (!Array.isArray(endpoints)) throw new Error('notifications.endpoints: want a list');
    endpoints.forEach((e, i) => out.endpoints.push(parseEndpoint(e, `notifications.endpoints[${i}]`)));
    const names = out.endpoints.map((e) => e.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new Error(`notifications.endpoints: two endpoints are named "${dup}"`);
  }
  // distribution's `storage.filesystem` is the only driver here; other drivers are refused.
  const storage = get('storage');
  if (isNode(storage)) {
    for (const k of Object.keys(storage)) {
      if (!['filesystem', 'delete', 'maintenance', 'cache', 'redirect'].includes(k))
        throw new Error(`storage.${k}: Berth's registry stores on the local file system only (storage.filesystem)`);
    }
  }
  out.ignored = unknownKeys(doc, '', known);
  return out;
}

function parseEndpoint(e: unknown, where: string): NotificationEndpoint {
  if (!isNode(e)) throw new Error(`${where}: want a mapping`);
  const name = e.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name))
    throw new Error(`${where}.name: want a name of letters, digits, "_", "." or "-"`);
  const url = e.url;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new Error(`${where}.url: want an http(s) URL`);
  const headers: Record<string, string[]> = {};
  if (e.headers !== undefined && e.headers !== null) {
    if (!isNode(e.headers)) throw new Error(`${where}.headers: want a mapping of header to list of values`);
    for (const [k, v] of Object.entries(e.headers)) headers[k] = (Array.isArray(v) ? v : [v]).map(String);
  }
  const list = (v: unknown, key: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new Error(`${where}.${key}: want a list`);
    return v.map(String);
  };
  const ignore = isNode(e.ignore) ? e.ignore : {};
  const threshold = e.threshold ?? 10;
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1)
    throw new Error(`${where}.threshold: want a whole number of at least 1`);
  return {
    name,
    url,
    headers,
    timeoutMs: parseGoDuration(e.timeout ?? '1s', `${where}.timeout`),
    threshold,
    backoffMs: parseGoDuration(e.backoff ?? '1s', `${where}.backoff`),
    disabled: e.disabled === true,
    ignoredMediaTypes: list(e.ignoredmediatypes, 'ignoredmediatypes'),
    ignore: {
      mediaTypes: list(ignore.mediatypes, 'ignore.mediatypes'),
      actions: list(ignore.actions, 'ignore.actions'),
    },
  };
}

/** Dotted paths in `doc` under none of the `known` paths (a known mapping covers its children). */
function unknownKeys(doc: Node, prefix: string, known: Set<string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    if (known.has(path) || path === 'notifications.endpoints') continue;
    if (isNode(v) && [...known].some((p) => p.startsWith(`${path}.`))) out.push(...unknownKeys(v, path, known));
    else out.push(path);
  }
  return out;
}
