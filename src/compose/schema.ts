/**
 * One compose file's shape: its YAML parsed (keeping a line counter), interpolated, and its
 * keys and value types checked against the compose-spec as far as berth compose implements it.
 * An error names the file, the line and the key path (`services.web.ports[0]`); a spec key
 * Berth does not implement is refused by name rather than ignored.
 */
import { LineCounter, isMap as isYamlMap, isScalar, parseDocument } from 'yaml';
import { InterpolationError, interpolateTree } from './interpolate.ts';
import { ComposeError } from './model.ts';

export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

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
/** A mapping (not null, not a list). */
export const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
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

/** Parses one file into its interpolated top-level mapping, after checking its shape. */
export function parseFile(src: SourceFile, env: (k: string) => string | undefined): Record<string, unknown> {
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
