/**
 * `RUN --mount=...` (BuildKit's syntax, which today's Dockerfiles use), parsed into what the RUN
 * step mounts: a persistent cache directory (`type=cache`, one per id, kept between builds), a
 * path of the build context (`type=bind`, read-only) or an empty tmpfs. The kinds that need
 * what the legacy /build API cannot carry (`secret`, `ssh`) or another stage's files
 * (`from=`) are refused rather than silently dropped.
 *
 * @example
 *   parseRunMount('type=cache,target=/root/.cache,id=pip'); // { type: 'cache', target: '/root/.cache', id: 'pip', readonly: false }
 */
import { posix } from 'node:path';

export interface RunMount {
  type: 'cache' | 'bind' | 'tmpfs';
  /** Absolute path in the RUN container. */
  target: string;
  /** bind: the path in the build context (default its root). */
  source?: string;
  /** cache: which cache (default the target), shared by every build on this daemon. */
  id?: string;
  readonly: boolean;
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
  if (type === 'secret' || type === 'ssh')
    throw new Error(
      `RUN --mount=type=${type} is not supported by this builder: the legacy build API has no way to carry ${type}s`,
    );
  if (type !== 'cache' && type !== 'bind' && type !== 'tmpfs') throw new Error(`unsupported mount type "${type}"`);
  const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
  if (!target) throw new Error('mount destination not set');
  if (fields.get('from') !== undefined)
    throw new Error(`RUN --mount=type=${type},from=... is not supported by this builder`);
  const flag = (k: string) => fields.has(k) && fields.get(k) !== 'false';
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
