/**
 * The part of Go's text/template that docker users write in `--format`: `{{.Field.Sub}}`,
 * method calls with arguments (`{{.Label "com.x"}}`), pipelines (`{{.Names | upper}}`),
 * variables, `if`/`else`/`with`/`range`/`end`, trim markers (`{{-`/`-}}`), Go's builtins
 * (`and or not len index print printf println eq ne lt le gt ge`) and docker's
 * (`json split join title lower upper pad truncate`). Values print as Go's `%v` does.
 */
import { TemplateError } from './templateerror.ts';

export { TemplateError };

/** A value that marshals itself (docker's format contexts escape HTML, as json.Marshal does). */
export const MARSHAL = Symbol('marshal');

type Node =
  | { t: 'text'; s: string }
  | { t: 'out'; p: Pipeline }
  | { t: 'if'; p: Pipeline; then: Node[]; else: Node[] }
  | { t: 'with'; p: Pipeline; then: Node[]; else: Node[] }
  | { t: 'range'; vars: string[]; p: Pipeline; then: Node[]; else: Node[] };

interface Pipeline {
  decl: string[];
  assign: boolean; // `=` rather than `:=`
  cmds: Operand[][];
}

type Operand =
  | { k: 'dot'; chain: string[] }
  | { k: 'var'; name: string; chain: string[] }
  | { k: 'lit'; v: unknown }
  | { k: 'fn'; name: string }
  | { k: 'sub'; p: Pipeline; chain: string[] };

// ------------------------------------------------------------------ lexing and parsing

interface Tok {
  text?: string; // raw text segment
  action?: string; // inside {{ }}
}

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let j = open + 2;
    if (src.startsWith('- ', j) || src.startsWith('-\t', j) || src.startsWith('-\n', j)) {
      text = text.replace(/\s+$/, '');
      j += 1;
    }
    if (text) out.push({ text });
    // find the closing braces outside string literals
    let k = j;
    let q: string | null = null;
    for (; k < src.length; k++) {
      const c = src[k]!;
      if (q) {
        if (c === '\\' && q === '"') k++;
        else if (c === q) q = null;
      } else if (c === '"' || c === '`' || c === "'") q = c;
      else if (src.startsWith('}}', k)) break;
    }
    if (k >= src.length) throw new TemplateError('template: unclosed action');
    let action = src.slice(j, k);
    let next = k + 2;
    if (/\s-$/.test(action)) {
      action = action.slice(0, -1);
      const m = /^\s*/.exec(src.slice(next))!;
      next += m[0].length;
    }
    if (!/^\s*\/\*[\s\S]*\*\/\s*$/.test(action)) out.push({ action: action.trim() });
    i = next;
  }
  return out;
}

function tokenizeAction(s: string): string[] {
  const toks: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      toks.push(s.slice(i, j + 1));
      i = j + 1;
    } else if (c === '`') {
      const j = s.indexOf('`', i + 1);
      toks.push(s.slice(i, j + 1));
      i = j + 1;
    } else if (c === "'") {
      const j = s.indexOf("'", i + 1);
      toks.push(s.slice(i, j + 1));
      i = j + 1;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      // a ')' directly followed by a field chain: keep `.X` attached as its own token
      toks.push(c);
      i++;
    } else if (s.startsWith(':=', i)) {
      toks.push(':=');
      i += 2;
    } else if (c === '=') {
      toks.push('=');
      i++;
    } else {
      let j = i;
      while (j < s.length && !/[\s()|,]/.test(s[j]!) && !(s[j] === ':' && s[j + 1] === '=')) j++;
      toks.push(s.slice(i, j));
      i = j;
    }
  }
  return toks;
}

function parsePipeline(toks: string[]): Pipeline {
  let pos = 0;
  const decl: string[] = [];
  let assign = false;
  // `$x :=` / `$i, $v :=` / `$x =`
  const look = toks.findIndex((t) => t === ':=' || t === '=');
  if (look > 0 && toks.slice(0, look).every((t) => t.startsWith('$') || t === ',')) {
    for (const t of toks.slice(0, look)) if (t !== ',') decl.push(t);
    assign = toks[look] === '=';
    pos = look + 1;
  }
  const parseCmds = (): Operand[][] => {
    const cmds: Operand[][] = [[]];
    while (pos < toks.length) {
      const t = toks[pos]!;
      if (t === ')') break;
      pos++;
      if (t === '|') {
        cmds.push([]);
        continue;
      }
      cmds[cmds.length - 1]!.push(parseOperand(t));
    }
    if (cmds.some((c) => c.length === 0)) throw new TemplateError('template: missing command in pipeline');
    return cmds;
  };
  const parseOperand = (t: string): Operand => {
    if (t === '(') {
      const cmds = parseCmds();
      if (toks[pos] !== ')') throw new TemplateError('template: unclosed left paren');
      pos++;
      let chain: string[] = [];
      if (toks[pos]?.startsWith('.') && toks[pos] !== '.') chain = toks[pos++]!.slice(1).split('.');
      return { k: 'sub', p: { decl: [], assign: false, cmds }, chain };
    }
    if (t === '.') return { k: 'dot', chain: [] };
    if (t.startsWith('.')) return { k: 'dot', chain: t.slice(1).split('.') };
    if (t.startsWith('$')) {
      const [name, ...chain] = t.split('.');
      return { k: 'var', name: name!, chain };
    }
    if (t.startsWith('"')) return { k: 'lit', v: JSON.parse(t) as string };
    if (t.startsWith('`')) return { k: 'lit', v: t.slice(1, -1) };
    if (t.startsWith("'")) return { k: 'lit', v: t.slice(1, -1).codePointAt(0) };
    if (t === 'true' || t === 'false') return { k: 'lit', v: t === 'true' };
    if (t === 'nil') return { k: 'lit', v: null };
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) || /^0x[0-9a-fA-F]+$/.test(t))
      return { k: 'lit', v: Number(t) };
    if (/^[A-Za-z_]\w*$/.test(t)) return { k: 'fn', name: t };
    throw new TemplateError(`template: unexpected "${t}" in command`);
  };
  const cmds = parseCmds();
  if (pos < toks.length) throw new TemplateError(`template: unexpected "${toks[pos]}"`);
  return { decl, assign, cmds };
}

export function parseTemplate(src: string): Node[] {
  const toks = lex(src);
  let pos = 0;
  const parseList = (stop: Set<string>): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < toks.length) {
      const tk = toks[pos++]!;
      if (tk.text !== undefined) {
        nodes.push({ t: 'text', s: tk.text });
        continue;
      }
      const a = tk.action!;
      const word = a.split(/\s+/)[0]!;
      if (stop.has(word)) return { nodes, end: a };
      if (word === 'if' || word === 'with' || word === 'range') nodes.push(parseBlock(word, a.slice(word.length)));
      else if (word === 'end' || word === 'else') throw new TemplateError(`template: unexpected {{${word}}}`);
      else if (word === 'define' || word === 'template' || word === 'block')
        throw new TemplateError(`template: {{${word}}} is not supported`);
      else nodes.push({ t: 'out', p: parsePipeline(tokenizeAction(a)) });
    }
    if (stop.size) throw new TemplateError('template: unexpected EOF');
    return { nodes, end: '' };
  };
  const parseBlock = (kind: 'if' | 'with' | 'range', rest: string): Node => {
    const p = parsePipeline(tokenizeAction(rest));
    const body = parseList(new Set(['else', 'end']));
    let elseNodes: Node[] = [];
    if (body.end.startsWith('else')) {
      const after = body.end.slice(4).trim();
      if (after.startsWith('if ') || after.startsWith('with ')) {
        const w = after.split(/\s+/)[0] as 'if' | 'with';
        // `else if x` is sugar for `else`{{if x}}...{{end}} sharing the closing end
        elseNodes = [parseBlock(w, after.slice(w.length))];
      } else {
        elseNodes = parseList(new Set(['end'])).nodes;
      }
    }
    if (kind === 'range') {
      const vars = p.decl;
      return { t: 'range', vars, p: { ...p, decl: [] }, then: body.nodes, else: elseNodes };
    }
    return { t: kind, p, then: body.nodes, else: elseNodes };
  };
  return parseList(new Set()).nodes;
}

// ------------------------------------------------------------------ values

/** Go's `%v` for JSON-shaped values. */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return '<func>';
  if (Array.isArray(v)) return `[${v.map((x) => (x === null ? '<nil>' : goString(x))).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => typeof o[k] !== 'function')
      .sort();
    return `map[${keys.map((k) => `${k}:${o[k] === null ? '<nil>' : goString(o[k])}`).join(' ')}]`;
  }
  return String(v);
}

function goFloat(v: number): string {
  // strconv.FormatFloat(v, 'g', -1, 64): exponent form from 1e21 or below 1e-4
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    const [m, e] = v.toExponential().split('e') as [string, string];
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(v);
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function marshal(v: unknown): string {
  if (v && typeof v === 'object' && typeof (v as Record<symbol, unknown>)[MARSHAL] === 'function') {
    return (v as Record<symbol, () => string>)[MARSHAL]();
  }
  return JSON.stringify(v === undefined ? null : v, (_k, x: unknown) => (typeof x === 'function' ? undefined : x));
}

function toInt(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new TemplateError(`template: expected integer; found ${goString(v)}`);
  return Math.trunc(n);
}

function sprintf(format: string, args: unknown[]): string {
  let i = 0;
  return (
    format.replace(
      /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g,
      (m, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
        if (verb === '%') return '%';
        const a = args[i++];
        let s: string;
        switch (verb) {
          case 'd':
            s = String(Math.trunc(Number(a)));
            break;
          case 'f':
            s = Number(a).toFixed(prec === undefined ? 6 : Number(prec));
            break;
          case 'g':
            s = prec === undefined ? goString(Number(a)) : String(Number(Number(a).toPrecision(Number(prec))));
            break;
          case 'q':
            s = JSON.stringify(goString(a));
            break;
          case 'x':
            s = typeof a === 'number' ? a.toString(16) : Buffer.from(goString(a)).toString('hex');
            break;
          case 't':
            s = String(!!a);
            break;
          case 's':
          case 'v':
            s = goString(a);
            if (prec !== undefined) s = s.slice(0, Number(prec));
            break;
          default:
            return m;
        }
        if (width)
          s = flags.includes('-')
            ? s.padEnd(Number(width))
            : s.padStart(Number(width), flags.includes('0') && verb !== 's' ? '0' : ' ');
        return s;
      },
    ) + (i < args.length ? `%!(EXTRA ${args.slice(i).map(goString).join(', ')})` : '')
  );
}

function goPrint(args: unknown[]): string {
  // fmt.Sprint: spaces between operands when neither is a string
  let s = '';
  args.forEach((a, idx) => {
    if (idx > 0 && typeof a !== 'string' && typeof args[idx - 1] !== 'string') s += ' ';
    s += goString(a);
  });
  return s;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new TemplateError('template: incompatible types for comparison');
}

type Fn = (...args: unknown[]) => unknown;

const BUILTINS: Record<string, Fn> = {
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  not: (a) => !truthy(a),
  len: (a) => {
    if (typeof a === 'string' || Array.isArray(a)) return a.length;
    if (a && typeof a === 'object') return Object.keys(a).length;
    throw new TemplateError(`template: len of ${goString(a)}`);
  },
  index: (a, ...keys) => {
    let cur = a;
    for (const k of keys) {
      if (cur === null || cur === undefined) throw new TemplateError('template: index of untyped nil');
      if (Array.isArray(cur)) {
        const n = toInt(k);
        if (n < 0 || n >= cur.length)
          throw new TemplateError(`template: error calling index: index out of range: ${n}`);
        cur = cur[n];
      } else cur = (cur as Record<string, unknown>)[String(k)];
    }
    return cur;
  },
  print: (...a) => goPrint(a),
  println: (...a) => a.map(goString).join(' ') + '\n',
  printf: (f, ...a) => sprintf(String(f), a),
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  // docker's templates.basicFunctions
  json: (v) => marshal(v),
  split: (s, sep) => String(s).split(String(sep)),
  join: (a, sep) => (Array.isArray(a) ? a.map(goString).join(String(sep)) : goString(a)),
  title: (s) => String(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()),
  lower: (s) => String(s).toLowerCase(),
  upper: (s) => String(s).toUpperCase(),
  pad: (s, before, after) => ' '.repeat(toInt(before)) + goString(s) + ' '.repeat(toInt(after)),
  truncate: (s, n) => [...goString(s)].slice(0, toInt(n)).join(''),
};

/** In a table's header row docker's functions pass their argument through. */
const HEADER_FUNCS: Record<string, Fn> = {
  json: (v) => v,
  split: (v) => v,
  join: (v) => v,
  title: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  pad: (v) => v,
  truncate: (v) => v,
};

// ------------------------------------------------------------------ execution

interface Scope {
  vars: Map<string, unknown>[];
}

function lookupVar(scope: Scope, name: string): unknown {
  for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.has(name)) return scope.vars[i]!.get(name);
  throw new TemplateError(`template: undefined variable "${name}"`);
}

function field(v: unknown, name: string, args: unknown[], last: boolean): unknown {
  if (v === null || v === undefined) {
    if (v === null) throw new TemplateError(`template: nil pointer evaluating .${name}`);
    return undefined;
  }
  if (typeof v !== 'object') throw new TemplateError(`template: can't evaluate field ${name} in type ${typeof v}`);
  const x = (v as Record<string, unknown>)[name];
  if (typeof x === 'function') return (x as Fn).apply(v, last ? args : []);
  if (last && args.length) throw new TemplateError(`template: ${name} is not a method but has arguments`);
  return x;
}

function chainOf(base: unknown, chain: string[], args: unknown[]): unknown {
  let cur = base;
  chain.forEach((name, i) => {
    cur = field(cur, name, args, i === chain.length - 1);
  });
  return cur;
}

export interface RenderOptions {
  /** Render a table header: docker's functions become pass-through. */
  header?: boolean;
  funcs?: Record<string, Fn>;
}

function evalCommand(cmd: Operand[], dot: unknown, scope: Scope, funcs: Record<string, Fn>, piped: unknown[]): unknown {
  const [head, ...rest] = cmd as [Operand, ...Operand[]];
  const args = () => [...rest.map((o) => evalOperand(o, dot, scope, funcs, [])), ...piped];
  switch (head.k) {
    case 'fn': {
      const f = funcs[head.name];
      if (!f) throw new TemplateError(`template: function "${head.name}" not defined`);
      return f(...args());
    }
    case 'dot':
      return head.chain.length ? chainOf(dot, head.chain, args()) : dot;
    case 'var':
      return chainOf(lookupVar(scope, head.name), head.chain, args());
    case 'sub':
      return chainOf(evalPipeline(head.p, dot, scope, funcs), head.chain, args());
    case 'lit':
      if (rest.length || piped.length)
        throw new TemplateError(`template: can't give argument to non-function ${goString(head.v)}`);
      return head.v;
  }
}

function evalOperand(o: Operand, dot: unknown, scope: Scope, funcs: Record<string, Fn>, piped: unknown[]): unknown {
  if (o.k === 'fn') {
    const f = funcs[o.name];
    if (!f) throw new TemplateError(`template: function "${o.name}" not defined`);
    return f(...piped);
  }
  return evalCommand([o], dot, scope, funcs, piped);
}

function evalPipeline(p: Pipeline, dot: unknown, scope: Scope, funcs: Record<string, Fn>): unknown {
  let v: unknown;
  p.cmds.forEach((cmd, i) => {
    v = evalCommand(cmd, dot, scope, funcs, i === 0 ? [] : [v]);
  });
  if (p.decl.length) {
    if (p.assign) {
      for (let i = scope.vars.length - 1; i >= 0; i--) {
        if (scope.vars[i]!.has(p.decl[0]!)) {
          scope.vars[i]!.set(p.decl[0]!, v);
          break;
        }
      }
    } else scope.vars[scope.vars.length - 1]!.set(p.decl[0]!, v);
  }
  return v;
}

function exec(nodes: Node[], dot: unknown, scope: Scope, funcs: Record<string, Fn>, out: string[]): void {
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out.push(n.s);
        break;
      case 'out': {
        const v = evalPipeline(n.p, dot, scope, funcs);
        if (!n.p.decl.length) out.push(goString(v));
        break;
      }
      case 'if':
      case 'with': {
        scope.vars.push(new Map());
        const v = evalPipeline(n.p, dot, scope, funcs);
        if (truthy(v)) exec(n.then, n.t === 'with' ? v : dot, scope, funcs, out);
        else exec(n.else, dot, scope, funcs, out);
        scope.vars.pop();
        break;
      }
      case 'range': {
        const v = evalPipeline(n.p, dot, scope, funcs);
        let entries: Array<[unknown, unknown]> = [];
        if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
        else if (typeof v === 'number') entries = Array.from({ length: v }, (_x, i) => [i, i]);
        else if (v && typeof v === 'object')
          entries = Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]);
        if (!entries.length) {
          exec(n.else, dot, scope, funcs, out);
          break;
        }
        for (const [k, x] of entries) {
          const vars = new Map<string, unknown>();
          if (n.vars.length === 1) vars.set(n.vars[0]!, x);
          if (n.vars.length === 2) {
            vars.set(n.vars[0]!, k);
            vars.set(n.vars[1]!, x);
          }
          scope.vars.push(vars);
          exec(n.then, x, scope, funcs, out);
          scope.vars.pop();
        }
        break;
      }
    }
  }
}

/** A parsed template, executed once per value. */
export class Template {
  private readonly nodes: Node[];
  constructor(src: string) {
    this.nodes = parseTemplate(src);
  }

  execute(data: unknown, opts: RenderOptions = {}): string {
    const funcs = { ...BUILTINS, ...(opts.header ? HEADER_FUNCS : {}), ...opts.funcs };
    const out: string[] = [];
    exec(this.nodes, data, { vars: [new Map([['$', data]])] }, funcs, out);
    return out.join('');
  }
}

export function render(src: string, data: unknown, opts: RenderOptions = {}): string {
  return new Template(src).execute(data, opts);
}
