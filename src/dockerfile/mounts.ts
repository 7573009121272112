/**
 * `RUN --mount=...` (BuildKit's syntax, which today's Dockerfiles use), parsed into what the RUN
 * step mounts: a persistent cache directory (`type=cache`, one per id, kept between builds), a
 * path of the build context (`type=bind`, read-only), an empty tmpfs, or a secret the client
 * sent with the build (`type=secret`, a read-only file, `/run/secrets/<id>` by default). What
 * needs a BuildKit session (`ssh`) or another stage's files (`from=`) is refused rather than
 * silently dropped.
 *
 * @example
 *   parseRunMount('type=cache,target=/root/.cache,id=pip'); // { type: 'cache', target: '/root/.cache', id: 'pip', readonly: false }
 */
import { posix } from 'node:path';

export interface RunMount {
  type: 'cache' | 'bind' | 'tmpfs' | 'secret';
  /** Absolute path in the RUN container. */
  target: string;
  /** bind: the path in the build context (default its root). */
  source?: string;
  /**
   * cache: which cache (default the target), shared by every build on this daemon; secret:
   * which of the build's secrets (default the target's base name).
   */
  id?: string;
  readonly: boolean;
  /** secret: the build fails when the client sent no such secret (else the mount is skipped). */
  required?: boolean;
  /** secret: the file's mode (default 0400) and owner (default root). */
  mode?: number;
  uid?: number;
  gid?: number;
}

const KEYS = new Set([
  'type',
  'target',
  'dst',
  'destination',
  'source',
  'src',
  'id',
  'from',
  'readonly',
  'ro',
  'rw',
  'readwrite',
  'sharing',
  'mode',
  'uid',
  'gid',
  'size',
  'required',
]);

/** One `--mount` value; throws an Error with BuildKit's words (the caller adds the line). */
export function parseRunMount(value: string): RunMount {
  const fields = new Map<string, string | undefined>();
  for (const part of value.split(',')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    if (!KEYS.has(k)) throw new Error(`unexpected key '${k}' in '${part}'`);
    fields.set(k, eq < 0 ? undefined : part.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'bind';
  if (type === 'ssh')
    throw new Error(
      'RUN --mount=type=ssh is not supported by this builder: forwarding an SSH agent needs a BuildKit session',
    );
  if (type !== 'cache' && type !== 'bind' && type !== 'tmpfs' && type !== 'secret')
    throw new Error(`unsupported mount type "${type}"`);
  const flag = (k: string) => fields.has(k) && fields.get(k) !== 'false';
  if (type === 'secret') return secretMount(fields, flag('required'));
  const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
  if (!target) throw new Error('mount destination not set');
  if (fields.get('from') !== undefined)
    throw new Error(`RUN --mount=type=${type},from=... is not supported by this builder`);
  const dest = posix.resolve('/', target);
  if (type === 'bind')
    return {
      type,
      target: dest,
      source: fields.get('source') ?? fields.get('src') ?? '.',
      // BuildKit's binds are read-only unless rw (whose writes are then thrown away).
      readonly: !(flag('rw') || flag('readwrite')),
    };
  if (type === 'cache')
    return { type, target: dest, id: fields.get('id') || dest, readonly: flag('readonly') || flag('ro') };
  return { type, target: dest, readonly: false };
}

/** BuildKit's secret mount: id and target each default from the other; mode 0400, owned by root. */
function secretMount(fields: Map<string, string | undefined>, required: boolean): RunMount {
  const given = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
  const id = fields.get('id') || (given ? posix.basename(given) : '');
  if (!id) throw new Error('secret ID missing from mount options');
  const num = (k: string, base: number, fallback: number) => {
    const v = fields.get(k);
    if (v === undefined) return fallback;
    const n = Number.parseInt(v, base);
    if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n)) throw new Error(`invalid ${k} "${v}" in secret mount`);
    return n;
  };
  return {
    type: 'secret',
    target: posix.resolve('/', given ?? `/run/secrets/${id}`),
    id,
    readonly: true,
    required,
    mode: num('mode', 8, 0o400),
    uid: num('uid', 10, 0),
    gid: num('gid', 10, 0),
  };
}
