/**
 * Parsers for single flag values, in the docker CLI's syntax and words: sizes in 1024 units, Go
 * durations, env and label files, `-p` port specs, ulimits, restart policies, devices and
 * `--mount`. Shared by `run`/`create` (runopts.ts), `update`, `build`, pods and the timestamps
 * of `logs`/`events`, so they are apart from any one command.
 */
import { readFileSync } from 'node:fs';
import type { PortBinding, Ulimit, DeviceMapping, RestartPolicy } from '../client/index.ts';
import { FlagValueError } from './flags.ts';

/** A bad flag value: docker prints `invalid argument "<v>" for "<flag>" flag: <why>` and exits 125. */
export function badValue(value: string, flag: string, why: string): FlagValueError {
  return new FlagValueError(`invalid argument "${value}" for "${flag}" flag: ${why}`);
}

/** go-units RAMInBytes: "512m", "1.5g", "1024" (units of 1024). */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new Error(`invalid size: '${s}'`);
  const mult: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  const n = Number(m[1]);
  if (!Number.isFinite(n)) throw new Error(`invalid size: '${s}'`);
  return Math.floor(n * (m[2] ? mult[m[2].toLowerCase()]! : 1));
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let sign = 1;
  let rest = s;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (!rest) throw new Error(`time: invalid duration "${s}"`);
  let total = 0;
  re.lastIndex = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while (pos < rest.length && (m = re.exec(rest)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== rest.length) throw new Error(`time: invalid duration "${s}"`);
  return Math.round(sign * total);
}

/** `-e`/`--env-file` semantics: `NAME` alone takes the local value when set. */
export function expandEnv(entry: string, env: NodeJS.ProcessEnv = process.env): string {
  if (entry.includes('=')) return entry;
  const v = env[entry];
  return v === undefined ? entry : `${entry}=${v}`;
}

/** docker's env/label files: one entry a line, `#` comments, blank lines skipped. */
export function readKeyValueFile(path: string, env: NodeJS.ProcessEnv = process.env, expand = true): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(
      `open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    );
  }
  const out: string[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
      if (!line || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const name = eq >= 0 ? line.slice(0, eq) : line;
      if (!name) throw new Error(`no variable name on line '${line}'`);
      if (/\s/.test(name)) throw new Error(`variable '${name}' contains whitespaces`);
      void i;
      out.push(expand ? expandEnv(eq >= 0 ? line : name, env) : line);
    });
  return out;
}

export interface PortSpec {
  exposed: string[];
  bindings: Record<string, PortBinding[]>;
}

/** A port or a `first-last` range (`-p`, `--expose`); `what` names it in the error. */
export function portRange(s: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid ${what}: ${s}`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 0 || b > 65535 || b < a) throw new Error(`invalid ${what}: ${s}`);
  return [a, b];
}

/** nat.ParsePortSpec: `[ip:][hostPort:]containerPort[/proto]`, ranges allowed. */
export function parsePublish(spec: string, into: PortSpec = { exposed: [], bindings: {} }): PortSpec {
  let rest = spec;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new Error(`invalid proto: ${proto}`);
  }
  let ip = '';
  let hostPart = '';
  let containerPart: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (v6) {
    ip = v6[1]!;
    const [h, c] = splitLast(v6[2]!);
    hostPart = h ?? '';
    containerPart = c;
  } else {
    const parts = rest.split(':');
    if (parts.length === 1) containerPart = parts[0]!;
    else if (parts.length === 2) [hostPart, containerPart] = parts as [string, string];
    else {
      containerPart = parts.pop()!;
      hostPart = parts.pop()!;
      ip = parts.join(':');
    }
  }
  if (!containerPart) throw new Error(`no port specified: ${spec}<empty>`);
  const [c0, c1] = portRange(containerPart, 'containerPort');
  let h0 = 0;
  let h1 = 0;
  if (hostPart) [h0, h1] = portRange(hostPart, 'hostPort');
  const hostRangeSize = h1 - h0;
  if (hostPart && c1 - c0 !== hostRangeSize && c1 !== c0) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
  }
  for (let p = c0; p <= c1; p++) {
    const key = `${p}/${proto}`;
    if (!into.exposed.includes(key)) into.exposed.push(key);
    let hostPort = '';
    if (hostPart) hostPort = c1 === c0 && hostRangeSize > 0 ? `${h0}-${h1}` : String(h0 + (p - c0));
    (into.bindings[key] ??= []).push({ HostIp: ip, HostPort: hostPort });
  }
  return into;
}

function splitLast(s: string): [string | undefined, string] {
  const i = s.lastIndexOf(':');
  return i < 0 ? [undefined, s] : [s.slice(0, i), s.slice(i + 1)];
}

export function parseUlimit(s: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid ulimit argument: ${s}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard && hard !== -1)
    throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1]!, Soft: soft, Hard: hard };
}

export function parseRestart(s: string): Required<RestartPolicy> {
  const [name, count] = s.split(':') as [string, string | undefined];
  if (!['no', 'always', 'unless-stopped', 'on-failure', ''].includes(name))
    throw new Error(`invalid restart policy format: ${s}`);
  if (count !== undefined && name !== 'on-failure')
    throw new Error(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  if (count !== undefined && !/^\d+$/.test(count))
    throw new Error(`invalid restart policy format: maximum retry count must be an integer: ${count}`);
  return { Name: (name || 'no') as RestartPolicy['Name'], MaximumRetryCount: count === undefined ? 0 : Number(count) };
}

export function parseDevice(s: string): DeviceMapping {
  const parts = s.split(':');
  let perms = 'rwm';
  let src = parts[0]!;
  let dst = src;
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1]!)) perms = parts[1]!;
    else dst = parts[1]!;
  } else if (parts.length === 3) {
    dst = parts[1]!;
    perms = parts[2]!;
  } else if (parts.length > 3) throw new Error(`invalid device specification: ${s}`);
  if (!/^[rwm]+$/.test(perms)) throw new Error(`invalid device mode: ${perms}`);
  src = src || dst;
  return { PathOnHost: src, PathInContainer: dst, CgroupPermissions: perms };
}

/** `--mount type=bind,source=/a,target=/b,readonly` as an API mount. */
export function parseMount(s: string): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: 'volume' };
  const bind: Record<string, unknown> = {};
  const vol: Record<string, unknown> = {};
  const tmpfs: Record<string, unknown> = {};
  for (const field of s.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    switch (key) {
      case 'type':
        m.Type = val;
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = val === undefined || ['1', 'true'].includes(val);
        break;
      case 'consistency':
        m.Consistency = val;
        break;
      case 'bind-propagation':
        bind.Propagation = val;
        break;
      case 'volume-nocopy':
        vol.NoCopy = val === undefined || ['1', 'true'].includes(val);
        break;
      case 'volume-driver':
        vol.DriverConfig = { Name: val };
        break;
      case 'volume-label': {
        const [k, v] = (val ?? '').split('=');
        vol.Labels = { ...(vol.Labels as object), [k!]: v ?? '' };
        break;
      }
      case 'tmpfs-size':
        tmpfs.SizeBytes = parseBytes(val ?? '');
        break;
      case 'tmpfs-mode':
        tmpfs.Mode = parseInt(val ?? '', 8);
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Target) throw new Error('target is required');
  if (Object.keys(bind).length) m.BindOptions = bind;
  if (Object.keys(vol).length) m.VolumeOptions = vol;
  if (Object.keys(tmpfs).length) m.TmpfsOptions = tmpfs;
  return m;
}
