/**
 * Compose's variable interpolation (compose-spec "Interpolation"): `$VAR`, `${VAR}`,
 * `${VAR:-default}` / `${VAR-default}` (empty-or-unset / unset), `${VAR:?err}` / `${VAR?err}`
 * (required), `${VAR:+alt}` / `${VAR+alt}`, and `$$` for a literal `$`. Defaults may themselves
 * hold variables, as compose-go allows. Applied to every string value of a file, never to keys.
 */

export type Lookup = (name: string) => string | undefined;

/** A failed interpolation; `path` is the dotted key it happened under. */
export class InterpolationError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Interpolates one string; `where` names the key for error messages. */
export function interpolate(s: string, env: Lookup, where = ''): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = matchBrace(s, i + 1);
      if (end < 0) throw bad(s, where);
      out += substitute(s.slice(i + 2, end), env, s, where);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(s.slice(i + 1));
    if (!m) {
      // a lone `$` (before a space, a digit, the end) stays as it is, as compose-go does
      out += '$';
      i++;
      continue;
    }
    out += env(m[0]) ?? '';
    i += 1 + m[0].length;
  }
  return out;
}

/** Index of the `}` closing the `{` at `open`, counting nested `${`. */
function matchBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function bad(s: string, where: string): InterpolationError {
  return new InterpolationError(
    `invalid interpolation format for ${where || 'value'}: "${s}"; you may need to escape any $ with another $`,
  );
}

function substitute(body: string, env: Lookup, whole: string, where: string): string {
  const m = NAME.exec(body);
  if (!m) throw bad(whole, where);
  const name = m[0];
  const rest = body.slice(name.length);
  const value = env(name);
  if (rest === '') return value ?? '';
  const op = /^(:?[-?+])/.exec(rest);
  if (!op) throw bad(whole, where);
  const arg = () => interpolate(rest.slice(op[1]!.length), env, where);
  const colon = op[1]!.startsWith(':');
  const unset = value === undefined || (colon && value === '');
  switch (op[1]!.slice(-1)) {
    case '-':
      return unset ? arg() : value!;
    case '+':
      return unset ? '' : arg();
    default: {
      if (!unset) return value!;
      const msg = arg();
      throw new InterpolationError(`required variable ${name} is missing a value${msg ? `: ${msg}` : ''}`);
    }
  }
}

/** Interpolates every string in a parsed YAML tree (values only), returning a new tree. */
export function interpolateTree(v: unknown, env: Lookup, path: string[] = []): unknown {
  if (typeof v === 'string') return interpolate(v, env, path.join('.'));
  if (Array.isArray(v)) return v.map((x, i) => interpolateTree(x, env, [...path, String(i)]));
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = interpolateTree(x, env, [...path, k]);
    return o;
  }
  return v;
}

/** A `.env` / `env_file` file: `KEY=VALUE` lines, `#` comments, optional `export `, quotes. */
export function parseEnvFile(text: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const l = line.startsWith('export ') ? line.slice(7).trim() : line;
    const eq = l.indexOf('=');
    if (eq < 0) {
      out[l] = undefined;
      continue;
    }
    const key = l.slice(0, eq).trim();
    let val = l.slice(eq + 1).trim();
    const q = val[0];
    if ((q === '"' || q === "'") && val.lastIndexOf(q) > 0) {
      val = val.slice(1, val.lastIndexOf(q));
      if (q === '"') val = val.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else {
      // an unquoted value ends at ` #`
      const hash = val.search(/\s#/);
      if (hash >= 0) val = val.slice(0, hash).trimEnd();
    }
    out[key] = val;
  }
  return out;
}
