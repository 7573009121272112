/**
 * Loading a project: find the files, read `.env`, parse each file's YAML, interpolate, check
 * its shape against the compose-spec (errors name the file, the key path and the line), turn
 * each service into the canonical model, merge the files in order, and check the whole
 * (references, dependency cycles). The result is frozen; nothing here talks to the daemon.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { LineCounter, isMap as isYamlMap, isScalar, parseDocument } from 'yaml';
import { InterpolationError, interpolateTree, parseEnvFile } from './interpolate.ts';
import {
  ComposeError,
  deepFreeze,
  type BuildConfig,
  type Dependency,
  type Healthcheck,
  type NetworkConfig,
  type PortConfig,
  type Project,
  type Service,
  type ServiceNetwork,
  type ServiceVolume,
  type VolumeConfig,
} from './model.ts';
import { dependencyOrder } from './graph.ts';
import { parseBytes, parseDuration, splitShell } from './units.ts';

/** The names compose looks for, in its order of preference. */
export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const OVERRIDE_FILES: Record<string, string[]> = {
  'compose.yaml': ['compose.override.yaml', 'compose.override.yml'],
  'compose.yml': ['compose.override.yml', 'compose.override.yaml'],
  'docker-compose.yaml': ['docker-compose.override.yaml', 'docker-compose.override.yml'],
  'docker-compose.yml': ['docker-compose.override.yml', 'docker-compose.override.yaml'],
};

export interface LoadOptions {
  /** `-f` files (`-` is not supported); empty: look in the working directory. */
  readonly files?: readonly string[];
  readonly projectName?: string;
  readonly projectDirectory?: string;
  readonly envFiles?: readonly string[];
  readonly profiles?: readonly string[];
  /** Services named on the command line: enabled whatever their profiles. */
  readonly services?: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

/** compose's project name rule: lower case, only [a-z0-9_-], starting with a letter or digit. */
export function normalizeProjectName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[^a-z0-9]+/, '');
}

function findFiles(dir: string): string[] {
  for (const name of DEFAULT_FILES) {
    const p = join(dir, name);
    if (existsSync(p)) {
      const over = OVERRIDE_FILES[name]!.map((n) => join(dir, n)).find((o) => existsSync(o));
      return over ? [p, over] : [p];
    }
  }
  throw new NoConfigError(`no configuration file provided: not found`);
}

/**
 * A project known only by name (`-p` without a file): no services, so every container, network
 * and volume labelled with the name is the project's (what down/ps/logs/stop need).
 */
export function emptyProject(name: string, workingDir: string): Project {
  return deepFreeze({
    name: normalizeProjectName(name),
    workingDir,
    configFiles: [],
    services: {},
    disabled: [],
    networks: {},
    volumes: {},
    environment: {},
  });
}

/** Loads the project from disk as `docker compose` would with the same flags. */
export function loadProject(o: LoadOptions): Project {
  const files = o.files?.length
    ? o.files.map((f) => resolve(o.cwd, f))
    : findFiles(o.projectDirectory ? resolve(o.cwd, o.projectDirectory) : o.cwd);
  const sources = files.map((path) => {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch (e) {
      throw new ComposeError(
        `open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
      );
    }
  });
  const workingDir = o.projectDirectory ? resolve(o.cwd, o.projectDirectory) : dirname(files[0]!);
  let dotenv: Record<string, string | undefined> = {};
  const envFiles = o.envFiles?.length ? o.envFiles.map((f) => resolve(o.cwd, f)) : [join(workingDir, '.env')];
  for (const f of envFiles) {
    if (!existsSync(f)) {
      if (o.envFiles?.length) throw new ComposeError(`couldn't find env file: ${f}`);
      continue;
    }
    dotenv = { ...dotenv, ...parseEnvFile(readFileSync(f, 'utf8')) };
  }
  return parseProject(sources, { ...o, workingDir, dotenv });
}

interface ParseOptions extends LoadOptions {
  readonly workingDir: string;
  readonly dotenv?: Readonly<Record<string, string | undefined>>;
}

/** Parses, merges and validates already-read files (loadProject's core; tests call it directly). */
export function parseProject(sources: readonly SourceFile[], o: ParseOptions): Project {
  // the process environment wins over .env, as in compose v2
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...o.dotenv, ...o.env })) if (v !== undefined) environment[k] = v;
  const lookup = (k: string) => environment[k];
  let topName: string | undefined;
  let merged: Record<string, Partial<Service>> = {};
  const networks: Record<string, Record<string, unknown> | null> = {};
  const volumes: Record<string, Record<string, unknown> | null> = {};
  for (const src of sources) {
    const file = parseFile(src, lookup);
    if (typeof file.name === 'string') topName = file.name;
    for (const [name, raw] of Object.entries((file.services ?? {}) as Record<string, Record<string, unknown>>)) {
      const svc = normalizeService(name, raw ?? {}, o.workingDir, environment, src.path);
      merged[name] = merged[name] ? mergeService(merged[name]!, svc) : svc;
    }
    for (const [k, v] of Object.entries((file.networks ?? {}) as Record<string, Record<string, unknown> | null>))
      networks[k] = { ...networks[k], ...v };
    for (const [k, v] of Object.entries((file.volumes ?? {}) as Record<string, Record<string, unknown> | null>))
      volumes[k] = { ...volumes[k], ...v };
  }
  const where = sources.map((s) => s.path).join(', ');
  const rawName = o.projectName ?? environment.COMPOSE_PROJECT_NAME ?? topName ?? basename(o.workingDir);
  const name = normalizeProjectName(rawName);
  if (!name)
    throw new ComposeError(
      `project name "${rawName}" must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit`,
    );
  if (o.projectName !== undefined && name !== o.projectName)
    throw new ComposeError(
      `invalid project name "${o.projectName}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
    );

  // profiles: a service with none is always on; named services are on, and what they need
  const active = new Set(
    [...(o.profiles ?? []), ...(environment.COMPOSE_PROFILES ? environment.COMPOSE_PROFILES.split(',') : [])]
      .map((p) => p.trim())
      .filter(Boolean),
  );
  const named = new Set(o.services ?? []);
  const on = new Set<string>();
  const enable = (s: string) => {
    if (on.has(s) || !merged[s]) return;
    on.add(s);
    for (const d of Object.keys(merged[s]!.depends_on ?? {})) enable(d);
  };
  for (const [n, s] of Object.entries(merged)) {
    if (!s.profiles?.length || s.profiles.some((p) => active.has(p) || active.has('*')) || named.has(n)) enable(n);
  }
  for (const n of named) if (!merged[n]) throw new ComposeError(`no such service: ${n}`);

  const services: Record<string, Service> = {};
  for (const n of Object.keys(merged).sort()) {
    if (!on.has(n)) continue;
    const s = { ...merged[n]!, name: n } as Service & Record<string, unknown>;
    if (s.network_mode === undefined && s.networks === undefined)
      (s as Record<string, unknown>).networks = { default: null };
    services[n] = s;
  }

  const nets: Record<string, NetworkConfig> = {};
  const usesDefault = Object.values(services).some((s) => s.networks && 'default' in s.networks);
  if (usesDefault && !('default' in networks)) networks.default = null;
  for (const [k, v] of Object.entries(networks)) nets[k] = normalizeNetwork(name, k, v ?? {});
  const vols: Record<string, VolumeConfig> = {};
  for (const [k, v] of Object.entries(volumes)) vols[k] = normalizeVolume(name, k, v ?? {});

  // references between the parts
  for (const s of Object.values(services)) {
    if (!s.image && !s.build)
      throw new ComposeError(
        `${where}: service "${s.name}" has neither an image nor a build context specified: invalid compose project`,
      );
    for (const n of Object.keys(s.networks ?? {})) {
      if (!nets[n])
        throw new ComposeError(
          `${where}: service "${s.name}" refers to undefined network ${n}: invalid compose project`,
        );
    }
    for (const v of s.volumes ?? []) {
      if (v.type === 'volume' && v.source && !vols[v.source])
        throw new ComposeError(
          `${where}: service "${s.name}" refers to undefined volume ${v.source}: invalid compose project`,
        );
    }
    for (const [d, dep] of Object.entries(s.depends_on ?? {})) {
      if (!merged[d] && dep.required)
        throw new ComposeError(
          `${where}: service "${s.name}" depends on undefined service "${d}": invalid compose project`,
        );
    }
    const mode = s.network_mode;
    if (mode?.startsWith('service:') && !merged[mode.slice(8)])
      throw new ComposeError(
        `${where}: service "${s.name}" refers to undefined service "${mode.slice(8)}" in network_mode`,
      );
    const replicas = s.scale ?? s.deploy?.replicas ?? 1;
    if (s.container_name && replicas > 1)
      throw new ComposeError(
        `${where}: service "${s.name}": container_name "${s.container_name}" cannot be used with more than one replica`,
      );
  }
  try {
    dependencyOrder(services);
  } catch (e) {
    throw new ComposeError(`${where}: depends_on: ${(e as Error).message}`);
  }
  return deepFreeze({
    name,
    workingDir: o.workingDir,
    configFiles: sources.map((s) => s.path),
    services,
    disabled: Object.keys(merged)
      .filter((n) => !on.has(n))
      .sort(),
    networks: nets,
    volumes: vols,
    environment,
  });
}

/** No compose file in the directory: commands that can work from labels alone fall back. */
export class NoConfigError extends ComposeError {}

// ---------------------------------------------------------------------------------------------
// One file: YAML, interpolation, shape

type Check = (v: unknown) => string | undefined;

const isStr: Check = (v) => (typeof v === 'string' ? undefined : 'must be a string');
const isBool: Check = (v) =>
  typeof v === 'boolean' || (typeof v === 'string' && /^(true|false)$/i.test(v)) ? undefined : 'must be a boolean';
const isInt: Check = (v) =>
  (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))
    ? undefined
    : 'must be an integer';
const isStrOrNum: Check = (v) =>
  typeof v === 'string' || typeof v === 'number' ? undefined : 'must be a string or number';
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isList: Check = (v) => (Array.isArray(v) ? undefined : 'must be a list');
const isStrOrList: Check = (v) =>
  typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number'))
    ? undefined
    : 'must be a string or a list of strings';
const isListOrMap: Check = (v) => (Array.isArray(v) || isObj(v) ? undefined : 'must be a list or a mapping');
const isMap: Check = (v) => (isObj(v) ? undefined : 'must be a mapping');
const anyOf =
  (...cs: Check[]): Check =>
  (v) =>
    cs.some((c) => c(v) === undefined) ? undefined : cs.map((c) => c(v)).join(' or ');
const isNull: Check = (v) => (v === null ? undefined : 'must be null');

/** compose-spec service keys Berth does not implement: refused by name rather than ignored. */
const UNSUPPORTED_SERVICE_KEYS = new Set([
  'annotations',
  'attach',
  'blkio_config',
  'cgroup',
  'cgroup_parent',
  'configs',
  'cpu_count',
  'cpu_percent',
  'cpu_period',
  'cpu_quota',
  'cpu_rt_period',
  'cpu_rt_runtime',
  'cpu_shares',
  'cpuset',
  'credential_spec',
  'develop',
  'device_cgroup_rules',
  'devices',
  'extends',
  'external_links',
  'gpus',
  'isolation',
  'links',
  'mac_address',
  'mem_reservation',
  'mem_swappiness',
  'oom_kill_disable',
  'oom_score_adj',
  'post_start',
  'pre_stop',
  'runtime',
  'secrets',
  'storage_opt',
  'userns_mode',
  'uts',
  'volumes_from',
  'provider',
  'models',
  'label_file',
  'use_api_socket',
]);

/** The service keys berth compose understands (and checks the type of). */
const SERVICE_KEYS: Record<string, Check> = {
  image: isStr,
  build: anyOf(isStr, isMap),
  command: anyOf(isStrOrList, isNull),
  entrypoint: anyOf(isStrOrList, isNull),
  environment: isListOrMap,
  env_file: anyOf(isStr, isList),
  ports: isList,
  expose: isList,
  volumes: isList,
  tmpfs: isStrOrList,
  networks: isListOrMap,
  network_mode: isStr,
  depends_on: isListOrMap,
  healthcheck: isMap,
  restart: isStr,
  deploy: isMap,
  scale: isInt,
  mem_limit: isStrOrNum,
  memswap_limit: isStrOrNum,
  cpus: isStrOrNum,
  pids_limit: isInt,
  user: isStr,
  working_dir: isStr,
  hostname: isStr,
  domainname: isStr,
  init: isBool,
  labels: isListOrMap,
  stop_signal: isStr,
  stop_grace_period: isStr,
  extra_hosts: isListOrMap,
  dns: isStrOrList,
  dns_search: isStrOrList,
  dns_opt: isList,
  cap_add: isList,
  cap_drop: isList,
  privileged: isBool,
  read_only: isBool,
  shm_size: isStrOrNum,
  ulimits: isMap,
  sysctls: isListOrMap,
  logging: isMap,
  tty: isBool,
  stdin_open: isBool,
  container_name: isStr,
  pull_policy: (v) =>
    typeof v === 'string' && ['always', 'never', 'missing', 'build', 'if_not_present'].includes(v)
      ? undefined
      : 'must be one of always, never, missing, build',
  profiles: isList,
  platform: isStr,
  security_opt: isList,
  group_add: isList,
  ipc: isStr,
  pid: isStr,
};

const BUILD_KEYS = new Set([
  'context',
  'dockerfile',
  'args',
  'target',
  'labels',
  'network',
  'shm_size',
  'extra_hosts',
  'cache_from',
  'no_cache',
  'pull',
]);
const HEALTH_KEYS = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable']);
const NETWORK_KEYS = new Set([
  'driver',
  'driver_opts',
  'internal',
  'external',
  'name',
  'ipam',
  'labels',
  'attachable',
  'enable_ipv6',
]);
const VOLUME_KEYS = new Set(['driver', 'driver_opts', 'external', 'name', 'labels']);
const PORT_KEYS = new Set(['target', 'published', 'host_ip', 'protocol', 'mode', 'name', 'app_protocol']);
const VOLUME_MOUNT_KEYS = new Set(['type', 'source', 'target', 'read_only', 'bind', 'volume', 'tmpfs', 'consistency']);
const SERVICE_NETWORK_KEYS = new Set([
  'aliases',
  'ipv4_address',
  'ipv6_address',
  'priority',
  'link_local_ips',
  'mac_address',
  'driver_opts',
  'gw_priority',
]);
const DEPLOY_KEYS = new Set([
  'replicas',
  'resources',
  'restart_policy',
  'mode',
  'labels',
  'update_config',
  'rollback_config',
  'placement',
  'endpoint_mode',
]);
const LOGGING_KEYS = new Set(['driver', 'options']);
const TOP_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include']);

function parseFile(src: SourceFile, env: (k: string) => string | undefined): Record<string, unknown> {
  const lc = new LineCounter();
  const doc = parseDocument(src.text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new ComposeError(
      `${src.path}: ${line ? `line ${line}: ` : ''}yaml: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  // the line of a key (or of the value when the key is an index), for error messages
  const lineOf = (path: (string | number)[]): string => {
    for (let p = path; p.length; p = p.slice(0, -1)) {
      const parent = p.length > 1 ? doc.getIn(p.slice(0, -1), true) : doc.contents;
      const last = p[p.length - 1];
      if (isYamlMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === String(last));
        const node = pair?.key as { range?: [number, number, number] } | undefined;
        if (node?.range) return `line ${lc.linePos(node.range[0]).line}: `;
      }
      const node = doc.getIn(p, true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return `line ${lc.linePos(node.range[0]).line}: `;
    }
    return '';
  };
  const fail = (path: (string | number)[], msg: string, key?: string): never => {
    throw new ComposeError(
      `${src.path}: ${lineOf(key !== undefined ? [...path, key] : path)}${path.length ? `${path.join('.')}: ` : ''}${msg}`,
    );
  };
  const onlyKeys = (path: (string | number)[], o: Record<string, unknown>, keys: Set<string>) => {
    for (const k of Object.keys(o))
      if (!keys.has(k) && !k.startsWith('x-')) fail(path, `additional property "${k}" is not allowed`, k);
  };
  let top: unknown;
  try {
    top = interpolateTree(doc.toJS({ maxAliasCount: 1000 }), env);
  } catch (e) {
    if (e instanceof InterpolationError) throw new ComposeError(`${src.path}: ${e.message}`);
    throw e;
  }
  if (top === null || top === undefined) top = {};
  if (!isObj(top)) return fail([], 'top-level object must be a mapping');
  for (const k of Object.keys(top))
    if (!TOP_KEYS.has(k) && !k.startsWith('x-')) fail([], `additional property "${k}" is not allowed`, k);
  if (top.include !== undefined) fail([], '"include" is not supported by berth compose', 'include');
  if (top.services !== undefined && top.services !== null && !isObj(top.services))
    fail(['services'], 'must be a mapping');
  for (const [name, svc] of Object.entries((top.services ?? {}) as Record<string, unknown>)) {
    const path = ['services', name];
    if (!/^[a-zA-Z0-9._-]+$/.test(name))
      fail(path, `service name "${name}" must contain only letters, digits, "_", "-" and "."`);
    if (svc === null) continue;
    if (!isObj(svc)) fail(path, 'must be a mapping');
    for (const [k, v] of Object.entries(svc as Record<string, unknown>)) {
      if (k.startsWith('x-')) continue;
      const check = SERVICE_KEYS[k];
      if (!check && UNSUPPORTED_SERVICE_KEYS.has(k)) fail(path, `"${k}" is not supported by berth compose`, k);
      if (!check) fail(path, `additional property "${k}" is not allowed`, k);
      const msg = check!(v);
      if (msg) fail([...path, k], msg);
      if (k === 'build' && isObj(v))
        for (const bk of Object.keys(v))
          if (!BUILD_KEYS.has(bk) && !bk.startsWith('x-'))
            fail([...path, k], `additional property "${bk}" is not allowed`, bk);
      if (k === 'healthcheck' && isObj(v))
        for (const hk of Object.keys(v))
          if (!HEALTH_KEYS.has(hk) && !hk.startsWith('x-'))
            fail([...path, k], `additional property "${hk}" is not allowed`, hk);
      if (k === 'depends_on' && isObj(v)) {
        for (const [d, dv] of Object.entries(v)) {
          if (dv !== null && !isObj(dv)) fail([...path, k, d], 'must be a mapping');
          const cond = isObj(dv) ? dv.condition : undefined;
          if (
            cond !== undefined &&
            !['service_started', 'service_healthy', 'service_completed_successfully'].includes(String(cond))
          ) {
            fail(
              [...path, k, d, 'condition'],
              `must be one of service_started, service_healthy, service_completed_successfully`,
            );
          }
        }
      }
      if (k === 'ports') {
        (v as unknown[]).forEach((p, i) => {
          if (typeof p !== 'string' && typeof p !== 'number' && !isObj(p))
            fail([...path, k, i], 'must be a string, number or mapping');
          if (isObj(p)) onlyKeys([...path, k, i], p, PORT_KEYS);
        });
      }
      if (k === 'volumes') {
        (v as unknown[]).forEach((p, i) => {
          if (typeof p !== 'string' && !isObj(p)) fail([...path, k, i], 'must be a string or mapping');
          if (isObj(p)) onlyKeys([...path, k, i], p, VOLUME_MOUNT_KEYS);
        });
      }
      if (k === 'networks' && isObj(v))
        for (const [n, nv] of Object.entries(v)) if (isObj(nv)) onlyKeys([...path, k, n], nv, SERVICE_NETWORK_KEYS);
      if (k === 'deploy' && isObj(v)) onlyKeys([...path, k], v, DEPLOY_KEYS);
      if (k === 'logging' && isObj(v)) onlyKeys([...path, k], v, LOGGING_KEYS);
    }
  }
  for (const [section, keys] of [
    ['networks', NETWORK_KEYS],
    ['volumes', VOLUME_KEYS],
  ] as const) {
    const sec = top[section];
    if (sec === undefined || sec === null) continue;
    if (!isObj(sec)) fail([section], 'must be a mapping');
    for (const [n, v] of Object.entries(sec as Record<string, unknown>)) {
      if (v === null) continue;
      if (!isObj(v)) fail([section, n], 'must be a mapping');
      for (const k of Object.keys(v as object))
        if (!keys.has(k) && !k.startsWith('x-')) fail([section, n], `additional property "${k}" is not allowed`, k);
    }
  }
  return top;
}

// ---------------------------------------------------------------------------------------------
// One service: canonical forms

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

function normalizeService(
  name: string,
  raw: Record<string, unknown>,
  workingDir: string,
  env: Record<string, string>,
  file: string,
): Partial<Service> {
  const where = (k: string) => `${file}: services.${name}.${k}`;
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
  void where;
  return s as Partial<Service>;
}

// ---------------------------------------------------------------------------------------------
// Merging an override file's service into the base (compose-spec "Merge and override")

const UNION_KEYS = new Set([
  'expose',
  'dns',
  'dns_search',
  'cap_add',
  'cap_drop',
  'extra_hosts',
  'tmpfs',
  'profiles',
  'security_opt',
  'group_add',
  'dns_opt',
]);
const MAP_KEYS = new Set(['environment', 'labels', 'sysctls', 'ulimits', 'networks', 'depends_on']);

export function mergeService(base: Partial<Service>, over: Partial<Service>): Partial<Service> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    if (cur === undefined || v === null || cur === null) out[k] = v;
    else if (MAP_KEYS.has(k)) out[k] = { ...(cur as object), ...(v as object) };
    else if (UNION_KEYS.has(k)) out[k] = [...new Set([...(cur as string[]), ...(v as string[])])];
    else if (k === 'ports') {
      const seen = new Set((cur as PortConfig[]).map((p) => JSON.stringify(p)));
      out[k] = [...(cur as PortConfig[]), ...(v as PortConfig[]).filter((p) => !seen.has(JSON.stringify(p)))];
    } else if (k === 'volumes') {
      const byTarget = new Map((cur as ServiceVolume[]).map((x) => [x.target, x]));
      for (const x of v as ServiceVolume[]) byTarget.set(x.target, x);
      out[k] = [...byTarget.values()];
    } else if (k === 'build' || k === 'healthcheck' || k === 'logging') {
      const b = cur as Record<string, unknown>;
      const o = v as Record<string, unknown>;
      out[k] = {
        ...b,
        ...o,
        ...(b.args || o.args ? { args: { ...(b.args as object), ...(o.args as object) } } : {}),
        ...(b.options || o.options ? { options: { ...(b.options as object), ...(o.options as object) } } : {}),
      };
    } else if (k === 'deploy') {
      const b = cur as Record<string, Record<string, unknown>>;
      const o = v as Record<string, Record<string, unknown>>;
      out[k] = {
        ...b,
        ...o,
        ...(b.resources || o.resources
          ? { resources: { limits: { ...(b.resources?.limits as object), ...(o.resources?.limits as object) } } }
          : {}),
      };
    } else out[k] = v;
  }
  return out as Partial<Service>;
}

function normalizeNetwork(project: string, key: string, v: Record<string, unknown>): NetworkConfig {
  const external = v.external === true || isObj(v.external);
  const extName = isObj(v.external) && v.external.name ? String(v.external.name) : undefined;
  const name = v.name !== undefined ? String(v.name) : (extName ?? (external ? key : `${project}_${key}`));
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

function normalizeVolume(project: string, key: string, v: Record<string, unknown>): VolumeConfig {
  const external = v.external === true || isObj(v.external);
  const extName = isObj(v.external) && v.external.name ? String(v.external.name) : undefined;
  const name = v.name !== undefined ? String(v.name) : (extName ?? (external ? key : `${project}_${key}`));
  const out: Record<string, unknown> = { name };
  if (v.driver) out.driver = String(v.driver);
  if (v.driver_opts) out.driver_opts = listOrMap(v.driver_opts);
  if (external) out.external = true;
  if (v.labels) out.labels = listOrMap(v.labels);
  return out as unknown as VolumeConfig;
}
