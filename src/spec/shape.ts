/**
 * JSON shapes of Engine API request bodies, as Docker's Go types declare them, and the check
 * Go's decoder makes: a value of the wrong type is a 400 naming the field, not a failure
 * later. `null` decodes to the zero value in Go, so it is accepted everywhere; unknown fields
 * are ignored, as Go ignores them.
 *
 *   checkShape(body, { fields: { Name: 'string', Labels: { map: 'string' } } }, 'volume config');
 *   // {"Name": 5} → InvalidArgument "invalid volume config: Name must be a string"
 */
import { invalidArgument } from '../errdefs/index.ts';

export type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  | 'any'
  /** Docker's StrSlice: a string or a list of strings. */
  | 'stringOrStrings'
  | { fields: Record<string, Shape> }
  | { list: Shape }
  | { map: Shape };

const WANT: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  stringOrStrings: 'a string or a list of strings',
};

function describe(shape: Shape): string {
  if (typeof shape === 'string') return WANT[shape] ?? 'a value';
  if ('list' in shape) return shape.list === 'string' ? 'a list of strings' : 'a list';
  if ('map' in shape) return shape.map === 'string' ? 'an object of strings' : 'an object';
  return 'an object';
}

/** Throws InvalidArgument "invalid <what>: <field> must be <type>" at the first value of the wrong type. */
export function checkShape(value: unknown, shape: Shape, what: string): void {
  walk(value, shape, '', what);
}

function walk(v: unknown, shape: Shape, path: string, what: string): void {
  if (v === null || v === undefined || shape === 'any') return;
  const bad = () => invalidArgument(`invalid ${what}: ${path || 'the body'} must be ${describe(shape)}`);
  const isObject = typeof v === 'object' && !Array.isArray(v);
  if (shape === 'stringOrStrings') {
    if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw bad();
  } else if (typeof shape === 'string') {
    if (typeof v !== shape) throw bad();
  } else if ('list' in shape) {
    if (!Array.isArray(v)) throw bad();
    // A list of strings is named as a whole ("Env must be a list of strings"); other items by index.
    for (const [i, x] of v.entries()) {
      if (shape.list === 'string' && typeof x !== 'string') throw bad();
      walk(x, shape.list, `${path}[${i}]`, what);
    }
  } else if ('map' in shape) {
    if (!isObject) throw bad();
    for (const [k, x] of Object.entries(v as object)) {
      if (shape.map === 'string' && typeof x !== 'string') throw bad();
      walk(x, shape.map, `${path}.${k}`, what);
    }
  } else {
    if (!isObject) throw bad();
    for (const [k, sub] of Object.entries(shape.fields))
      walk((v as Record<string, unknown>)[k], sub, path ? `${path}.${k}` : k, what);
  }
}
