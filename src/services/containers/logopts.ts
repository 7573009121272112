/**
 * `--log-driver` and `--log-opt`. The json-file driver (on disk conmon's k8s-file) takes
 * `max-size` (Docker's units: 10k, 10m, 1g) and `max-file`. Without `max-size`, a log is still
 * capped (DEFAULT_MAX_SIZE), so that a chatty container never fills the disk unasked; Docker's
 * json-file driver has no cap by default.
 *
 * The `none` driver keeps no logs to read (`docker logs` is refused, as Docker refuses it), but
 * attached clients still get the output, which reaches them through the log file here: the
 * file is kept to NONE_ATTACH_BUFFER bytes.
 *
 * The k8s-file driver (Podman's name for the same format) also takes `path`: the log is written
 * there instead of beside the container's bundle. The CRI uses it for the log path kubelet
 * names, which kubelet and `crictl logs` read directly.
 */
import { invalidArgument } from '../../errdefs/index.ts';
import type { HostConfig } from '../../api/types/index.ts';

export const DEFAULT_MAX_SIZE = 64 * 1024 * 1024;
export const NONE_ATTACH_BUFFER = 1024 * 1024;
const KNOWN = new Set([
  'max-size',
  'max-file',
  'compress',
  'labels',
  'labels-regex',
  'env',
  'env-regex',
  'tag',
  'mode',
  'max-buffer-size',
]);
const DRIVERS = new Set(['', 'json-file', 'k8s-file', 'local', 'none']);

export interface LogLimits {
  maxSize: number;
  maxFiles: number;
}

/** Docker's RAMInBytes: a number with an optional b, k, m, g, t (binary multiples). */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw invalidArgument(`invalid size: '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[m[2]!.toLowerCase()]!;
  return Math.floor(Number(m[1]) * mult);
}

/** The limits of a host config's LogConfig; InvalidArgument in Docker's words for a bad one. */
export function logLimits(h: HostConfig): LogLimits {
  const type = h.LogConfig?.Type ?? '';
  if (!DRIVERS.has(type)) throw invalidArgument(`logger: no log driver named '${type}' is registered`);
  // As moby: the none driver takes any options and ignores them.
  if (type === 'none') return { maxSize: NONE_ATTACH_BUFFER, maxFiles: 1 };
  const opts = h.LogConfig?.Config ?? {};
  for (const k of Object.keys(opts)) {
    if (k === 'path' && type === 'k8s-file') {
      if (!opts.path!.startsWith('/')) throw invalidArgument(`log path must be absolute: "${opts.path}"`);
      continue;
    }
    if (!KNOWN.has(k)) throw invalidArgument(`unknown log opt '${k}' for ${type || 'json-file'} log driver`);
  }
  let maxSize = -1;
  if (opts['max-size'] !== undefined && opts['max-size'] !== '') {
    maxSize = parseSize(opts['max-size']);
    if (maxSize <= 0) throw invalidArgument('max-size must be a positive number');
  }
  let maxFiles = 1;
  if (opts['max-file'] !== undefined && opts['max-file'] !== '') {
    if (!/^-?\d+$/.test(opts['max-file']))
      throw invalidArgument(`strconv.Atoi: parsing "${opts['max-file']}": invalid syntax`);
    maxFiles = Number(opts['max-file']);
    if (maxFiles < 1) throw invalidArgument('max-file cannot be less than 1');
    // dockerd 20.10's json-file takes max-file alone (moby's "can only be set when max-size is
    // set" is older): the files then rotate at Berth's default cap.
  }
  return { maxSize: maxSize === -1 ? DEFAULT_MAX_SIZE : maxSize, maxFiles };
}

/** Where the log is written when the k8s-file driver's `path` says so; otherwise undefined. */
export function logPathOption(h: HostConfig): string | undefined {
  return h.LogConfig?.Type === 'k8s-file' ? h.LogConfig.Config?.path || undefined : undefined;
}

/** Whether `docker logs` can read what the container wrote (not with the none driver). */
export function logsReadable(h: HostConfig): boolean {
  return h.LogConfig?.Type !== 'none';
}

/**
 * What `docker logs --details` puts before each line: the attributes moby's log drivers record
 * from `--log-opt labels=`, `labels-regex=`, `env=` and `env-regex=` (the container's labels
 * and environment variables they name or match), as `key=value` pairs sorted by key, escaped
 * as URL query values and joined by commas; empty when none are asked for. They are worked
 * out from the container's configuration, which is what moby records with each line.
 */
export function logAttributes(c: {
  Config: { Labels?: Record<string, string> | null; Env?: string[] | null };
  HostConfig: HostConfig;
}): string {
  const opts = c.HostConfig.LogConfig?.Config ?? {};
  const attrs = new Map<string, string>();
  const names = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : []);
  const pattern = (v: string | undefined) => {
    if (!v) return undefined;
    try {
      return new RegExp(v);
    } catch {
      return undefined;
    }
  };
  const labels = c.Config.Labels ?? {};
  for (const k of names(opts.labels)) if (k in labels) attrs.set(k, labels[k]!);
  const labelsRe = pattern(opts['labels-regex']);
  if (labelsRe) for (const [k, v] of Object.entries(labels)) if (labelsRe.test(k)) attrs.set(k, v);
  // As moby's: a variable without a value is not an attribute.
  const env = new Map(
    (c.Config.Env ?? [])
      .filter((e) => e.includes('='))
      .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  for (const k of names(opts.env)) if (env.has(k)) attrs.set(k, env.get(k)!);
  const envRe = pattern(opts['env-regex']);
  if (envRe) for (const [k, v] of env) if (envRe.test(k)) attrs.set(k, v);
  // Go's url.QueryEscape: spaces become +, the rest as encodeURIComponent (plus its !'()*).
  const esc = (s: string) =>
    encodeURIComponent(s)
      .replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+');
  return [...attrs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${esc(k)}=${esc(v)}`)
    .join(',');
}
