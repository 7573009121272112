/**
 * Canonical forms: every way the compose-spec lets a service, network or volume be written
 * (short and long port and volume syntax, lists or maps, strings or numbers) becomes the one
 * long form of the model, with host paths resolved against the project directory. Errors are
 * plain messages with the key; the loader adds the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { parseEnvFile } from './interpolate.ts';
import {
  ComposeError,
  type BuildConfig,
  type Dependency,
  type Healthcheck,
  type NetworkConfig,
  type PortConfig,
  type Service,
  type ServiceNetwork,
  type ServiceVolume,
  type VolumeConfig,
} from './model.ts';
import { isObj } from './schema.ts';
import { parseBytes, parseDuration, splitShell } from './units.ts';

const toBool = (v: unknown): boolean => v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
const toInt = (v: unknown): number => (typeof v === 'number' ? v : parseInt(String(v), 10));

function listOrMap(v: unknown, sep = '='): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const i = s.indexOf(sep);
      if (i < 0) out[s] = null;
      else out[s.slice(0, i)] = s.slice(i + 1);
    }
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) out[k] = x === null || x === undefined ? null : String(x);
  }
  return out;
}

function strList(v: unknown): string[] {
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** A relative host path of a bind mount or build context, resolved against the project directory. */
function hostPath(p: string, workingDir: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(workingDir, p);
}

/** Short port syntax: `[[host_ip:]published:]target[/protocol]`, ranges expanded per target. */
export function parsePort(spec: string | number, where = 'ports'): PortConfig[] {
  let s = String(spec);
  let protocol = 'tcp';
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    protocol = s.slice(slash + 1);
    s = s.slice(0, slash);
  }
  let hostIp: string | undefined;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(s);
  if (v6) {
    hostIp = v6[1];
    s = v6[2]!;
  }
  const parts = s.split(':');
  if (!hostIp && parts.length === 3) hostIp = parts.shift();
  if (parts.length > 2) throw new Error(`${where}: invalid port "${spec}"`);
  const [pub, tgt] = parts.length === 2 ? [parts[0], parts[1]!] : [undefined, parts[0]!];
  const range = (r: string): [number, number] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(r);
    if (!m) throw new Error(`${where}: invalid port "${spec}"`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (b < a || b > 65535) throw new Error(`${where}: invalid port range "${r}"`);
    return [a, b];
  };
  const [t0, t1] = range(tgt);
  const published = pub ? range(pub) : undefined;
  const out: PortConfig[] = [];
  for (let t = t0; t <= t1; t++) {
    let p: string | undefined;
    if (published) {
      if (published[1] - published[0] === t1 - t0) p = String(published[0] + (t - t0));
      else if (t0 === t1) p = published[0] === published[1] ? String(published[0]) : `${published[0]}-${published[1]}`;
      else throw new Error(`${where}: port ranges don't match in "${spec}"`);
    }
    out.push({
      target: t,
      ...(p !== undefined ? { published: p } : {}),
      ...(hostIp ? { host_ip: hostIp } : {}),
      protocol,
      mode: 'ingress',
    });
  }
  return out;
}

/** Short volume syntax: `[source:]target[:mode]`; named vs bind as compose decides it. */
export function parseVolume(spec: string, workingDir: string): ServiceVolume {
  const parts = splitVolume(spec);
  if (parts.length === 1) return { type: 'volume', target: parts[0]! };
  if (parts.length > 3) throw new Error(`invalid volume specification "${spec}"`);
  const [src, target, mode = ''] = parts as [string, string, string?];
  const opts = mode.split(',').filter(Boolean);
  const ro = opts.includes('ro');
  const bindLike = src.startsWith('.') || src.startsWith('/') || src.startsWith('~');
  if (bindLike) {
    const propagation = opts.find((x) => /^r?(shared|slave|private)$/.test(x));
    const selinux = opts.find((x) => x === 'z' || x === 'Z');
    return {
      type: 'bind',
      source: hostPath(src, workingDir),
      target,
      ...(ro ? { read_only: true } : {}),
      bind: { create_host_path: true, ...(propagation ? { propagation } : {}), ...(selinux ? { selinux } : {}) },
    };
  }
  return {
    type: 'volume',
    source: src,
    target,
    ...(ro ? { read_only: true } : {}),
    ...(opts.includes('nocopy') ? { volume: { nocopy: true } } : {}),
  };
}

function splitVolume(spec: string): string[] {
  // Linux paths only: every `:` separates (Windows drive letters are not handled)
  return spec.split(':');
}

function longVolume(v: Record<string, unknown>, workingDir: string, where: string): ServiceVolume {
  const type = String(v.type ?? 'volume');
  if (!['volume', 'bind', 'tmpfs'].includes(type)) throw new Error(`${where}.type: unsupported volume type "${type}"`);
  if (typeof v.target !== 'string') throw new Error(`${where}.target: must be a string`);
  const out: Record<string, unknown> = { type, target: v.target };
  if (v.source !== undefined && v.source !== null && v.source !== '')
    out.source = type === 'bind' ? hostPath(String(v.source), workingDir) : String(v.source);
  if (type === 'bind' && !out.source) throw new Error(`${where}: a bind mount needs a source`);
  if (v.read_only !== undefined) out.read_only = toBool(v.read_only);
  if (isObj(v.bind))
    out.bind = {
      ...(v.bind.propagation ? { propagation: String(v.bind.propagation) } : {}),
      create_host_path: v.bind.create_host_path === undefined ? true : toBool(v.bind.create_host_path),
    };
  else if (type === 'bind') out.bind = { create_host_path: true };
  if (isObj(v.volume) && v.volume.nocopy !== undefined) out.volume = { nocopy: toBool(v.volume.nocopy) };
  if (isObj(v.tmpfs)) {
    out.tmpfs = {
      ...(v.tmpfs.size !== undefined ? { size: parseBytes(v.tmpfs.size as string | number) } : {}),
      ...(v.tmpfs.mode !== undefined ? { mode: toInt(v.tmpfs.mode) } : {}),
    };
  }
  return out as unknown as ServiceVolume;
}

export function normalizeService(
  name: string,
  raw: Record<string, unknown>,
  workingDir: string,
  env: Record<string, string>,
  file: string,
): Partial<Service> {
  const s: Record<string, unknown> = {};
  try {
    for (const [k, v] of Object.entries(raw)) {
      if (k.startsWith('x-') || v === undefined) continue;
      switch (k) {
        case 'build': {
          const b = typeof v === 'string' ? { context: v } : (v as Record<string, unknown>);
          const out: Record<string, unknown> = { context: hostPath(String(b.context ?? '.'), workingDir) };
          if (b.dockerfile !== undefined) out.dockerfile = String(b.dockerfile);
          if (b.args !== undefined) out.args = listOrMap(b.args);
          if (b.target !== undefined) out.target = String(b.target);
          if (b.labels !== undefined) out.labels = listOrMap(b.labels);
          // An image name, or buildx's `type=registry,ref=NAME` (the image as this daemon has it).
          if (Array.isArray(b.cache_from))
            out.cache_from = b.cache_from.map((x) => /(?:^|,)ref=([^,]+)/.exec(String(x))?.[1] ?? String(x));
          if (b.no_cache !== undefined) out.no_cache = toBool(b.no_cache);
          if (b.network !== undefined) out.network = String(b.network);
          if (b.shm_size !== undefined) out.shm_size = parseBytes(b.shm_size as string | number);
          if (b.extra_hosts !== undefined)
            out.extra_hosts = Array.isArray(b.extra_hosts)
              ? b.extra_hosts.map((x) => String(x).replace(/^([^=:]+)=/, '$1:'))
              : Object.entries(b.extra_hosts as Record<string, unknown>).map(([h, ip]) => `${h}:${String(ip)}`);
          s.build = out as unknown as BuildConfig;
          break;
        }
        case 'command':
        case 'entrypoint':
          s[k] = v === null ? null : typeof v === 'string' ? splitShell(v) : (v as unknown[]).map(String);
          break;
        case 'environment':
          s.environment = { ...(s.environment as object), ...listOrMap(v) };
          break;
        case 'env_file': {
          // the files' variables come first; `environment` wins over them
          const fromFiles: Record<string, string | null> = {};
          for (const item of Array.isArray(v) ? v : [v]) {
            const path = isObj(item) ? String(item.path) : String(item);
            const required = isObj(item) ? item.required !== false && item.required !== 'false' : true;
            const abs = hostPath(path, workingDir);
            if (!existsSync(abs)) {
              if (required) throw new Error(`env file ${abs} not found`);
              continue;
            }
            for (const [ek, ev] of Object.entries(parseEnvFile(readFileSync(abs, 'utf8'))))
              fromFiles[ek] = ev ?? env[ek] ?? null;
          }
          s.environment = { ...fromFiles, ...(s.environment as object) };
          break;
        }
        case 'ports':
          s.ports = (v as unknown[]).flatMap((p, i): PortConfig[] => {
            if (!isObj(p)) return parsePort(p as string | number, `ports[${i}]`);
            if (p.target === undefined) throw new Error(`ports[${i}].target: required`);
            return [
              {
                target: toInt(p.target),
                ...(p.published !== undefined && p.published !== '' ? { published: String(p.published) } : {}),
                ...(p.host_ip ? { host_ip: String(p.host_ip) } : {}),
                protocol: String(p.protocol ?? 'tcp'),
                mode: String(p.mode ?? 'ingress'),
              },
            ];
          });
          break;
        case 'expose':
          s.expose = (v as unknown[]).map(String);
          break;
        case 'volumes':
          s.volumes = (v as unknown[]).map((x, i) =>
            typeof x === 'string'
              ? parseVolume(x, workingDir)
              : longVolume(x as Record<string, unknown>, workingDir, `volumes[${i}]`),
          );
          break;
        case 'tmpfs':
        case 'dns':
        case 'dns_search':
          s[k] = strList(v);
          break;
        case 'networks': {
          const out: Record<string, ServiceNetwork | null> = {};
          if (Array.isArray(v)) for (const n of v) out[String(n)] = null;
          else {
            for (const [n, c] of Object.entries(v as Record<string, unknown>)) {
              if (!isObj(c)) {
                out[n] = null;
                continue;
              }
              out[n] = {
                ...(c.aliases !== undefined ? { aliases: strList(c.aliases) } : {}),
                ...(c.ipv4_address !== undefined ? { ipv4_address: String(c.ipv4_address) } : {}),
                ...(c.priority !== undefined ? { priority: toInt(c.priority) } : {}),
              };
            }
          }
          s.networks = out;
          break;
        }
        case 'depends_on': {
          const out: Record<string, Dependency> = {};
          if (Array.isArray(v))
            for (const d of v) out[String(d)] = { condition: 'service_started', restart: false, required: true };
          else {
            for (const [d, c] of Object.entries(v as Record<string, Record<string, unknown> | null>)) {
              out[d] = {
                condition: (c?.condition ?? 'service_started') as Dependency['condition'],
                restart: c?.restart !== undefined ? toBool(c.restart) : false,
                required: c?.required !== undefined ? toBool(c.required) : true,
              };
            }
          }
          s.depends_on = out;
          break;
        }
        case 'healthcheck': {
          const h = v as Record<string, unknown>;
          const out: Record<string, unknown> = {};
          if (h.test !== undefined)
            out.test = typeof h.test === 'string' ? ['CMD-SHELL', h.test] : (h.test as unknown[]).map(String);
          for (const d of ['interval', 'timeout', 'start_period', 'start_interval']) {
            if (h[d] !== undefined) {
              parseDuration(String(h[d]));
              out[d] = String(h[d]);
            }
          }
          if (h.retries !== undefined) out.retries = toInt(h.retries);
          if (h.disable !== undefined) out.disable = toBool(h.disable);
          s.healthcheck = out as Healthcheck;
          break;
        }
        case 'deploy': {
          const d = v as Record<string, unknown>;
          const out: Record<string, unknown> = {};
          if (d.replicas !== undefined) out.replicas = toInt(d.replicas);
          if (isObj(d.restart_policy)) {
            const rp = d.restart_policy;
            out.restart_policy = {
              ...(rp.condition !== undefined ? { condition: String(rp.condition) } : {}),
              ...(rp.max_attempts !== undefined ? { max_attempts: toInt(rp.max_attempts) } : {}),
            };
          }
          const lim = isObj(d.resources) && isObj(d.resources.limits) ? d.resources.limits : undefined;
          if (lim) {
            out.resources = {
              limits: {
                ...(lim.memory !== undefined ? { memory: parseBytes(lim.memory as string) } : {}),
                ...(lim.cpus !== undefined ? { cpus: Number(lim.cpus) } : {}),
                ...(lim.pids !== undefined ? { pids: toInt(lim.pids) } : {}),
              },
            };
          }
          s.deploy = out;
          break;
        }
        case 'scale':
        case 'pids_limit':
          s[k] = toInt(v);
          break;
        case 'mem_limit':
        case 'memswap_limit':
        case 'shm_size':
          s[k] = parseBytes(v as string | number);
          break;
        case 'cpus':
          s.cpus = Number(v);
          break;
        case 'init':
        case 'privileged':
        case 'read_only':
        case 'tty':
        case 'stdin_open':
          s[k] = toBool(v);
          break;
        case 'labels':
          s.labels = Object.fromEntries(Object.entries(listOrMap(v)).map(([a, b]) => [a, b ?? '']));
          break;
        case 'sysctls':
          s.sysctls = Object.fromEntries(Object.entries(listOrMap(v)).map(([a, b]) => [a, b ?? '']));
          break;
        case 'extra_hosts':
          // `host:ip` and `host=ip` lists and `host: ip` maps all become `host:ip`
          s.extra_hosts = Array.isArray(v)
            ? v.map((x) => String(x).replace(/^([^=:]+)=/, '$1:'))
            : Object.entries(v as object).map(([h, ip]) => `${h}:${ip}`);
          break;
        case 'ulimits': {
          const out: Record<string, { soft: number; hard: number }> = {};
          for (const [n, l] of Object.entries(v as Record<string, unknown>)) {
            out[n] = isObj(l) ? { soft: toInt(l.soft), hard: toInt(l.hard) } : { soft: toInt(l), hard: toInt(l) };
          }
          s.ulimits = out;
          break;
        }
        case 'logging': {
          const l = v as Record<string, unknown>;
          s.logging = {
            ...(l.driver ? { driver: String(l.driver) } : {}),
            ...(l.options ? { options: listOrMap(l.options) } : {}),
          };
          break;
        }
        case 'stop_grace_period':
          parseDuration(String(v));
          s[k] = String(v);
          break;
        case 'pull_policy':
          s.pull_policy = v === 'if_not_present' ? 'missing' : v;
          break;
        case 'profiles':
        case 'cap_add':
        case 'cap_drop':
        case 'security_opt':
        case 'group_add':
        case 'dns_opt':
          s[k] = (v as unknown[]).map(String);
          break;
        default:
          s[k] = typeof v === 'number' ? String(v) : v;
      }
    }
  } catch (e) {
    if (e instanceof ComposeError) throw e;
    const msg = (e as Error).message;
    throw new ComposeError(msg.startsWith(file) ? msg : `${file}: services.${name}: ${msg}`);
  }
  return s as Partial<Service>;
}

/**
 * The name of a top-level network or volume on the host: `name:` when given, else an external
 * one's own (`external.name`, or its key), else the key under the project's prefix.
 */
function resourceName(project: string, key: string, v: Record<string, unknown>): { name: string; external: boolean } {
  const external = v.external === true || isObj(v.external);
  const extName = isObj(v.external) && v.external.name ? String(v.external.name) : undefined;
  const name = v.name !== undefined ? String(v.name) : (extName ?? (external ? key : `${project}_${key}`));
  return { name, external };
}

export function normalizeNetwork(project: string, key: string, v: Record<string, unknown>): NetworkConfig {
  const { name, external } = resourceName(project, key, v);
  const out: Record<string, unknown> = { name };
  if (v.driver) out.driver = String(v.driver);
  if (v.internal !== undefined) out.internal = toBool(v.internal);
  if (external) out.external = true;
  if (isObj(v.ipam)) {
    const cfg = Array.isArray(v.ipam.config)
      ? (v.ipam.config as Record<string, unknown>[]).map((c) =>
          Object.fromEntries(
            ['subnet', 'gateway', 'ip_range'].filter((k) => c[k] !== undefined).map((k) => [k, String(c[k])]),
          ),
        )
      : undefined;
    out.ipam = { ...(v.ipam.driver ? { driver: String(v.ipam.driver) } : {}), ...(cfg ? { config: cfg } : {}) };
  }
  if (v.driver_opts) out.driver_opts = listOrMap(v.driver_opts);
  if (v.labels) out.labels = listOrMap(v.labels);
  return out as unknown as NetworkConfig;
}

export function normalizeVolume(project: string, key: string, v: Record<string, unknown>): VolumeConfig {
  const { name, external } = resourceName(project, key, v);
  const out: Record<string, unknown> = { name };
  if (v.driver) out.driver = String(v.driver);
  if (v.driver_opts) out.driver_opts = listOrMap(v.driver_opts);
  if (external) out.external = true;
  if (v.labels) out.labels = listOrMap(v.labels);
  return out as unknown as VolumeConfig;
}
