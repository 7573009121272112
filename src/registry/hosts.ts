/**
 * containerd's registry hosts files, read from the same certs directories as Docker's
 * certificates (`--registry-certs-dir`: /etc/berth/certs.d, /etc/docker/certs.d), as containerd
 * reads its `config_path` (`/etc/containerd/certs.d:/etc/docker/certs.d`):
 * `<dir>/<registry>/hosts.toml` names, in order, the hosts that serve a registry — mirrors,
 * plain-HTTP endpoints — and then its `server`, the registry itself unless the file says
 * otherwise. `_default/hosts.toml` applies to registries without a hosts.toml of their own.
 * Docker's certificate files beside it (`*.crt`, `*.cert` + `*.key`) are read by tls/certsd.ts.
 *
 *   # <dir>/registry.k8s.io/hosts.toml
 *   server = "https://registry.k8s.io"
 *   [host."http://127.0.0.1:5000"]
 *     capabilities = ["pull", "resolve"]
 *
 * `parseHostsToml` is pure (text in, hosts out, file names still unread); `readHostsDirs` finds
 * and reads a registry's hosts file. Files are read again on every pull, as containerd does, so
 * an edit takes effect without restarting the daemon.
 */
import { promises as fs } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { invalidArgument } from '../errdefs/index.ts';

export type Capability = 'pull' | 'resolve' | 'push';
export const ALL_CAPABILITIES: readonly Capability[] = ['pull', 'resolve', 'push'];

/** One host of a hosts.toml, its files named but not yet read. */
export interface HostEntry {
  /** `scheme://host[:port]`; undefined for a `server` the file leaves out (the registry itself). */
  base?: string;
  /** The API root's path: `/v2`, or the URL's own path with `override_path`. */
  apiRoot: string;
  capabilities: readonly Capability[];
  /** CA certificate files (absolute). */
  ca?: readonly string[];
  /** Client certificate files: [cert, key]; an empty key means the key is in the cert's file. */
  client?: ReadonlyArray<readonly [string, string]>;
  skipVerify?: boolean;
  headers?: Readonly<Record<string, string | readonly string[]>>;
  dialTimeoutMs?: number;
}

const KNOWN_KEYS = new Set(['capabilities', 'ca', 'client', 'skip_verify', 'header', 'override_path', 'dial_timeout']);

/** Go's duration syntax as hosts.toml uses it: `500ms`, `1s`, `1m30s`. */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  if (!s || end !== s.length) throw invalidArgument(`invalid duration "${s}"`);
  return total;
}

function strings(v: unknown, what: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw invalidArgument(`${what}: want a string or a list of strings`);
}

function entry(server: string | undefined, t: Record<string, unknown>, dir: string, where: string): HostEntry {
  for (const k of Object.keys(t)) if (!KNOWN_KEYS.has(k)) throw invalidArgument(`${where}: unknown key "${k}"`);
  const abs = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const override = t.override_path === true;
  let base: string | undefined;
  let apiRoot = '/v2';
  if (server !== undefined) {
    if (server.includes('://') && !/^https?:\/\//.test(server))
      throw invalidArgument(`${where}: "${server}": only http and https hosts are supported`);
    let u: URL;
    try {
      u = new URL(server.includes('://') ? server : `https://${server}`);
    } catch (e) {
      throw invalidArgument(`${where}: "${server}" is not a URL`, e);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw invalidArgument(`${where}: "${server}": only http and https hosts are supported`);
    base = `${u.protocol}//${u.host}`;
    const path = u.pathname.replace(/\/+$/, '');
    if (override) apiRoot = path;
    else apiRoot = path.endsWith('/v2') ? path : `${path}/v2`;
  }
  let capabilities: Capability[] = [...ALL_CAPABILITIES];
  if (t.capabilities !== undefined) {
    capabilities = strings(t.capabilities, `${where}: capabilities`).map((c) => {
      const l = c.toLowerCase();
      if (l !== 'pull' && l !== 'resolve' && l !== 'push')
        throw invalidArgument(`${where}: unknown capability "${c}" (pull, resolve or push)`);
      return l;
    });
  }
  const out: HostEntry = { base, apiRoot, capabilities };
  if (t.ca !== undefined) out.ca = strings(t.ca, `${where}: ca`).map(abs);
  if (t.client !== undefined) {
    const pairs: Array<[string, string]> = [];
    for (const c of typeof t.client === 'string' ? [t.client] : Array.isArray(t.client) ? t.client : [null]) {
      if (typeof c === 'string') pairs.push([abs(c), '']);
      else if (Array.isArray(c) && c.length === 2 && c.every((x) => typeof x === 'string'))
        pairs.push([abs(c[0] as string), c[1] ? abs(c[1] as string) : '']);
      else throw invalidArgument(`${where}: client: want a file, a list of files or of [cert, key] pairs`);
    }
    out.client = pairs;
  }
  if (t.skip_verify !== undefined) {
    if (typeof t.skip_verify !== 'boolean') throw invalidArgument(`${where}: skip_verify: want true or false`);
    out.skipVerify = t.skip_verify;
  }
  if (t.header !== undefined) {
    if (typeof t.header !== 'object' || t.header === null || Array.isArray(t.header))
      throw invalidArgument(`${where}: header: want a table`);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(t.header)) {
      const vs = strings(v, `${where}: header "${k}"`);
      headers[k] = vs.length === 1 ? vs[0]! : vs;
    }
    out.headers = headers;
  }
  if (t.dial_timeout !== undefined) {
    if (typeof t.dial_timeout !== 'string') throw invalidArgument(`${where}: dial_timeout: want a duration ("1s")`);
    out.dialTimeoutMs = parseGoDuration(t.dial_timeout);
  }
  return out;
}

/**
 * A hosts.toml's hosts in the order they are tried: each `[host."..."]` as the file lists them,
 * then the server (`base` undefined when the file names none). `dir` resolves relative paths.
 */
export function parseHostsToml(text: string, dir: string, file = join(dir, 'hosts.toml')): HostEntry[] {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    const line = e instanceof TomlError ? ` line ${e.line}` : '';
    throw invalidArgument(`registry hosts file "${file}"${line}: ${(e as Error).message.split('\n')[0]}`, e);
  }
  const { server, host, ...root } = doc;
  if (server !== undefined && typeof server !== 'string')
    throw invalidArgument(`registry hosts file "${file}": server: want a URL`);
  const hosts: HostEntry[] = [];
  if (host !== undefined) {
    if (typeof host !== 'object' || host === null || Array.isArray(host))
      throw invalidArgument(`registry hosts file "${file}": host: want tables [host."https://..."]`);
    for (const [url, t] of Object.entries(host)) {
      if (typeof t !== 'object' || t === null || Array.isArray(t))
        throw invalidArgument(`registry hosts file "${file}": host "${url}": want a table`);
      hosts.push(entry(url, t as Record<string, unknown>, dir, `registry hosts file "${file}": host "${url}"`));
    }
  }
  hosts.push(entry(server as string | undefined, root, dir, `registry hosts file "${file}"`));
  return hosts;
}

/** The directories tried for a registry, in containerd's order. */
export function hostDirNames(registry: string): string[] {
  const i = registry.lastIndexOf(':');
  const names = i > 0 && !registry.endsWith(']') ? [`${registry.slice(0, i)}_${registry.slice(i + 1)}_`] : [];
  return [...names, registry, '_default'];
}

/** The hosts.toml in `dir`, parsed; undefined when there is none, or an empty one. */
export async function readHostsFile(dir: string): Promise<HostEntry[] | undefined> {
  let text: string;
  try {
    text = await fs.readFile(join(dir, 'hosts.toml'), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw invalidArgument(`registry hosts file "${join(dir, 'hosts.toml')}": ${(e as Error).message}`, e);
  }
  return text.trim() === '' ? undefined : parseHostsToml(text, dir);
}

/**
 * A registry's hosts from the certs directories `roots`: the first hosts.toml under one of its
 * own names, in any root, else the first `_default/hosts.toml`; undefined when there is
 * neither. `isDefault` says `_default` answered. A directory without hosts.toml says nothing
 * about hosts: its certificate files are certs.d's (tls/certsd.ts), used for that host
 * wherever it is reached.
 */
export async function readHostsDirs(
  roots: readonly string[],
  registry: string,
): Promise<{ hosts: HostEntry[]; isDefault: boolean } | undefined> {
  const names = hostDirNames(registry);
  for (const name of names.slice(0, -1))
    for (const root of roots) {
      const hosts = await readHostsFile(join(root, name));
      if (hosts) return { hosts, isDefault: false };
    }
  for (const root of roots) {
    const hosts = await readHostsFile(join(root, '_default'));
    if (hosts) return { hosts, isDefault: true };
  }
  return undefined;
}
