import { invalidArgument } from '../../errdefs/index.ts';
import type { Filters } from '../../api/types/index.ts';

/** Reads Docker's `filters` query parameter: `{"key":{"value":true}}` or the old `{"key":["value"]}`. */
export function parseFilters(raw: string | null): Filters {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw invalidArgument(`invalid filter: ${(e as Error).message}`, e);
  }
  // JSON null is no filter; an array or a scalar is refused, as Go's decoding into a map does.
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument('invalid filter: not an object');
  const out: Filters = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (typeof v === 'object' && v !== null)
      out[k] = Object.entries(v)
        .filter(([, on]) => on)
        .map(([x]) => x);
    else throw invalidArgument(`invalid filter "${k}"`);
  }
  return out;
}

export function assertKnownFilters(f: Filters, known: readonly string[]): void {
  for (const k of Object.keys(f)) if (!known.includes(k)) throw invalidArgument(`invalid filter '${k}'`);
}

export function boolFilter(f: Filters, key: string): boolean | undefined {
  const v = f[key];
  if (!v?.length) return undefined;
  if (v.some((x) => x !== 'true' && x !== 'false' && x !== '1' && x !== '0'))
    throw invalidArgument(`invalid filter '${key}=${v.join(',')}'`);
  return v.includes('true') || v.includes('1');
}
