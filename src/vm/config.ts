/**
 * An OCI bundle's `config.json`, parsed at the edge into what berth-vm acts on (a frozen
 * `VmSpec`), so the rest of berth-vm never reads raw JSON. berth-vm is its own program, driven
 * by any runc-style caller with any bundle, so it checks the file itself rather than trusting
 * Berth's spec generator; a field it cannot honour in a VM is refused here, by name.
 *
 * @example
 *   const spec = parseConfig(await fs.readFile(join(bundle, 'config.json'), 'utf8'));
 *   spec.process.args; // ['sh', '-c', 'echo hi']
 */
import { invalidArgument } from '../errdefs/index.ts';

export interface VmProcess {
  args: readonly string[];
  env: readonly string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: readonly number[];
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  noNewPrivileges: boolean;
  /** `RLIMIT_*` name, soft and hard as decimal text (2^64-1 for unlimited). */
  rlimits: ReadonlyArray<{ type: string; soft: string; hard: string }>;
  capabilities?: {
    bounding: readonly string[];
    effective: readonly string[];
    permitted: readonly string[];
    inheritable: readonly string[];
    ambient: readonly string[];
  };
}

export interface VmMount {
  destination: string;
  type: string;
  source: string;
  options: readonly string[];
}

export interface VmSpec {
  process: VmProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: readonly VmMount[];
  /** `new` for a namespace of its own, a path to join one, undefined for the host's. */
  netns: string | undefined;
  memoryLimit?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  cgroupsPath?: string;
  maskedPaths: readonly string[];
  readonlyPaths: readonly string[];
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function strings(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw invalidArgument(`${what}: not a list of strings`);
  return v as string[];
}

function num(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArgument(`${what}: not a number`);
  return v;
}

/** A limit as exact decimal text; JSON numbers past 2^53 (RLIM_INFINITY) lose digits, so they mean unlimited. */
function limitText(v: unknown, what: string): string {
  const n = num(v, what);
  if (n === undefined || n < 0) throw invalidArgument(`${what}: not a limit`);
  return n > Number.MAX_SAFE_INTEGER ? '18446744073709551615' : String(Math.floor(n));
}

/** The process part (also what `exec --process` reads). */
export function parseProcess(raw: unknown, what = 'process'): VmProcess {
  if (!isObj(raw)) throw invalidArgument(`${what}: missing`);
  const args = strings(raw.args, `${what}.args`);
  if (!args.length) throw invalidArgument(`${what}.args must not be empty`);
  const user = isObj(raw.user) ? raw.user : {};
  const caps = isObj(raw.capabilities) ? raw.capabilities : undefined;
  const size = isObj(raw.consoleSize) ? raw.consoleSize : undefined;
  const rlimits = (Array.isArray(raw.rlimits) ? raw.rlimits : []).map((r, i) => {
    if (!isObj(r) || typeof r.type !== 'string') throw invalidArgument(`${what}.rlimits[${i}]: no type`);
    return {
      type: r.type,
      soft: limitText(r.soft, `${what}.rlimits[${i}].soft`),
      hard: limitText(r.hard, `${what}.rlimits[${i}].hard`),
    };
  });
  return Object.freeze({
    args,
    env: strings(raw.env, `${what}.env`),
    cwd: typeof raw.cwd === 'string' && raw.cwd ? raw.cwd : '/',
    uid: num(user.uid, `${what}.user.uid`) ?? 0,
    gid: num(user.gid, `${what}.user.gid`) ?? 0,
    additionalGids: (Array.isArray(user.additionalGids) ? user.additionalGids : []).map((g, i) => {
      const n = num(g, `${what}.user.additionalGids[${i}]`);
      return n ?? 0;
    }),
    terminal: raw.terminal === true,
    consoleSize:
      size && typeof size.height === 'number' && typeof size.width === 'number'
        ? { height: size.height, width: size.width }
        : undefined,
    noNewPrivileges: raw.noNewPrivileges === true,
    rlimits,
    capabilities: caps
      ? {
          bounding: strings(caps.bounding, `${what}.capabilities.bounding`),
          effective: strings(caps.effective, `${what}.capabilities.effective`),
          permitted: strings(caps.permitted, `${what}.capabilities.permitted`),
          inheritable: strings(caps.inheritable, `${what}.capabilities.inheritable`),
          ambient: strings(caps.ambient, `${what}.capabilities.ambient`),
        }
      : undefined,
  });
}

function parseMount(raw: unknown, i: number): VmMount {
  if (!isObj(raw) || typeof raw.destination !== 'string' || !raw.destination.startsWith('/'))
    throw invalidArgument(`mounts[${i}]: destination must be an absolute path`);
  const options = strings(raw.options, `mounts[${i}].options`);
  const type = typeof raw.type === 'string' && raw.type ? raw.type : options.some(isBindOption) ? 'bind' : 'none';
  return Object.freeze({
    destination: raw.destination,
    type,
    source: typeof raw.source === 'string' ? raw.source : '',
    options,
  });
}

export const isBindOption = (o: string) => o === 'bind' || o === 'rbind';

/** Parses and checks a bundle's config.json. */
export function parseConfig(text: string): VmSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`config.json: ${(e as Error).message}`, e);
  }
  if (!isObj(raw)) throw invalidArgument('config.json: not an object');
  const root = isObj(raw.root) ? raw.root : undefined;
  if (!root || typeof root.path !== 'string' || !root.path) throw invalidArgument('config.json: root.path is missing');
  const linux = isObj(raw.linux) ? raw.linux : {};
  const namespaces = Array.isArray(linux.namespaces) ? linux.namespaces.filter(isObj) : [];
  const net = namespaces.find((n) => n.type === 'network');
  const resources = isObj(linux.resources) ? linux.resources : {};
  const memory = isObj(resources.memory) ? resources.memory : {};
  const cpu = isObj(resources.cpu) ? resources.cpu : {};
  const hostname = typeof raw.hostname === 'string' && raw.hostname ? raw.hostname : undefined;
  return Object.freeze({
    process: parseProcess(raw.process),
    root: { path: root.path, readonly: root.readonly === true },
    hostname,
    mounts: (Array.isArray(raw.mounts) ? raw.mounts : []).map(parseMount),
    netns: net ? (typeof net.path === 'string' && net.path ? net.path : 'new') : undefined,
    memoryLimit: num(memory.limit, 'linux.resources.memory.limit'),
    cpuQuota: num(cpu.quota, 'linux.resources.cpu.quota'),
    cpuPeriod: num(cpu.period, 'linux.resources.cpu.period'),
    cpusetCpus: typeof cpu.cpus === 'string' && cpu.cpus ? cpu.cpus : undefined,
    cgroupsPath: typeof linux.cgroupsPath === 'string' && linux.cgroupsPath ? linux.cgroupsPath : undefined,
    maskedPaths: strings(linux.maskedPaths, 'linux.maskedPaths'),
    readonlyPaths: strings(linux.readonlyPaths, 'linux.readonlyPaths'),
  });
}
