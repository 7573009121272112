/**
 * Checking a parsed YAML document against a declared shape, so that every field Berth does not
 * act on is refused by its path and line instead of being silently dropped (a Kubernetes file
 * that half runs is worse than one refused). The shapes of the supported kinds are in
 * `schema.ts`; this file only walks them.
 *
 * Terms: a path is the list of keys and indices from the document's root; it prints as
 * Kubernetes prints field paths (`spec.template.spec.containers[0].image`).
 */
import { LineCounter, isMap, isScalar, type Document } from 'yaml';
import { KubeError } from './model.ts';

export type Path = readonly (string | number)[];

export type Shape =
  | { readonly t: 'string'; readonly pattern?: RegExp; readonly what?: string }
  | { readonly t: 'int'; readonly min?: number; readonly max?: number }
  | { readonly t: 'bool'; readonly only?: boolean }
  | { readonly t: 'intOrString' }
  /** A Kubernetes quantity (`128Mi`, `0.5`, `500m`): a string or a number. */
  | { readonly t: 'quantity' }
  | { readonly t: 'enum'; readonly values: readonly string[] }
  | { readonly t: 'object'; readonly fields: Readonly<Record<string, Shape>>; readonly required?: readonly string[] }
  | { readonly t: 'map'; readonly values: Shape }
  | { readonly t: 'list'; readonly items: Shape }
  /** Accepted and not used: output-only fields (status, server-set metadata) and no-ops here. */
  | { readonly t: 'ignored' }
  /** A field Berth does not support, accepted only when it says nothing (null, {}, [], false, ''). */
  | { readonly t: 'unsupported' };

export const str = (pattern?: RegExp, what?: string): Shape => ({ t: 'string', pattern, what });
export const int = (min?: number, max?: number): Shape => ({ t: 'int', min, max });
export const bool: Shape = { t: 'bool' };
export const intOrString: Shape = { t: 'intOrString' };
export const quantity: Shape = { t: 'quantity' };
export const ignored: Shape = { t: 'ignored' };
export const unsupported: Shape = { t: 'unsupported' };
export const oneOf = (...values: string[]): Shape => ({ t: 'enum', values });
export const obj = (fields: Record<string, Shape>, required?: string[]): Shape => ({ t: 'object', fields, required });
export const mapOf = (values: Shape): Shape => ({ t: 'map', values });
export const listOf = (items: Shape): Shape => ({ t: 'list', items });
export const stringMap: Shape = mapOf(str());
export const stringList: Shape = listOf(str());

/** `spec.containers[0].image` */
export function formatPath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Says nothing: what an unsupported field may hold. */
export function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

/** One YAML document of a file: its line numbers, and errors that carry them. */
export class DocContext {
  readonly file: string;
  private readonly doc: Document;
  private readonly lc: LineCounter;

  constructor(file: string, doc: Document, lc: LineCounter) {
    this.file = file;
    this.doc = doc;
    this.lc = lc;
  }

  /** The line of a field's key (or of the value, for a list item); the nearest known ancestor's else. */
  line(path: Path): number {
    for (let p = [...path]; ; p = p.slice(0, -1)) {
      if (p.length === 0) {
        const r = (this.doc.contents as { range?: [number, number, number] } | null)?.range;
        return r ? this.lc.linePos(r[0]).line : 1;
      }
      const parent = p.length > 1 ? this.doc.getIn(p.slice(0, -1), true) : this.doc.contents;
      const last = p[p.length - 1];
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === String(last));
        const r = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (r) return this.lc.linePos(r[0]).line;
      }
      const r = (this.doc.getIn(p, true) as { range?: [number, number, number] } | undefined)?.range;
      if (r) return this.lc.linePos(r[0]).line;
    }
  }

  error(path: Path, msg: string): KubeError {
    return new KubeError(`${this.file}: line ${this.line(path)}: ${path.length ? `${formatPath(path)}: ` : ''}${msg}`);
  }

  fail(path: Path, msg: string): never {
    throw this.error(path, msg);
  }
}

/** Checks `v` (at `path` of the document) against `shape`; throws the first problem found. */
export function check(ctx: DocContext, v: unknown, shape: Shape, path: Path): void {
  if (v === null || v === undefined) return; // absent or null: the default, as the API server reads it
  switch (shape.t) {
    case 'ignored':
      return;
    case 'unsupported':
      if (!isEmpty(v)) ctx.fail(path, 'not supported by berth kube play');
      return;
    case 'string':
      if (typeof v !== 'string') ctx.fail(path, `must be a string, not ${describe(v)}`);
      if (shape.pattern && !shape.pattern.test(v as string))
        ctx.fail(path, `invalid value "${v as string}": ${shape.what ?? `must match ${shape.pattern}`}`);
      return;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) ctx.fail(path, `must be an integer, not ${describe(v)}`);
      if (shape.min !== undefined && (v as number) < shape.min)
        ctx.fail(path, `invalid value ${v as number}: must be at least ${shape.min}`);
      if (shape.max !== undefined && (v as number) > shape.max)
        ctx.fail(path, `invalid value ${v as number}: must be at most ${shape.max}`);
      return;
    case 'bool':
      if (typeof v !== 'boolean') ctx.fail(path, `must be a boolean, not ${describe(v)}`);
      if (shape.only !== undefined && v !== shape.only)
        ctx.fail(path, `${String(v)}: not supported by berth kube play`);
      return;
    case 'intOrString':
      if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))))
        ctx.fail(path, `must be an integer or a string, not ${describe(v)}`);
      return;
    case 'quantity':
      if (typeof v !== 'string' && typeof v !== 'number') ctx.fail(path, `must be a quantity, not ${describe(v)}`);
      return;
    case 'enum':
      if (typeof v !== 'string' || !shape.values.includes(v))
        ctx.fail(
          path,
          `${typeof v === 'string' ? `"${v}"` : describe(v)}: supported values: ${shape.values.map((x) => `"${x}"`).join(', ')}`,
        );
      return;
    case 'list':
      if (!Array.isArray(v)) ctx.fail(path, `must be a list, not ${describe(v)}`);
      (v as unknown[]).forEach((x, i) => check(ctx, x, shape.items, [...path, i]));
      return;
    case 'map':
      if (!isObject(v)) ctx.fail(path, `must be a mapping, not ${describe(v)}`);
      for (const [k, x] of Object.entries(v as object)) check(ctx, x, shape.values, [...path, k]);
      return;
    case 'object': {
      if (!isObject(v)) ctx.fail(path, `must be a mapping, not ${describe(v)}`);
      const o = v as Record<string, unknown>;
      for (const [k, x] of Object.entries(o)) {
        const f = shape.fields[k];
        if (!f) {
          // an unknown key that says nothing is still a typo or a newer field: refuse it all the same
          ctx.fail([...path, k], 'not supported by berth kube play');
        }
        check(ctx, x, f, [...path, k]);
      }
      for (const r of shape.required ?? [])
        if (o[r] === undefined || o[r] === null) ctx.fail([...path, r], 'required value');
      return;
    }
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isObject(v)) return 'a mapping';
  if (typeof v === 'string') return `"${v}"`;
  return String(v);
}
