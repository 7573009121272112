/**
 * Dockerfile text → nodes: parser directives, comments, line continuations, heredocs,
 * instruction flags, and the JSON (exec) or shell form of the arguments.
 * Typed instructions are made from these nodes in instructions.ts.
 */

export interface Heredoc {
  /** the terminator word, e.g. EOF */
  name: string;
  /** the body, lines joined with "\n", ending with "\n" when non-empty */
  content: string;
  /** `<<-EOF`: leading tabs stripped */
  chomp: boolean;
  /** `<<"EOF"` or `<<'EOF'`: no variable expansion in the body */
  quoted: boolean;
}

export interface Node {
  /** lower-cased instruction name */
  cmd: string;
  /** 1-based first and last line of the instruction (heredoc bodies included) */
  startLine: number;
  endLine: number;
  /** the instruction as written, continuations joined */
  original: string;
  /** --name=value flags before the arguments, in order */
  flags: string[];
  /** the arguments after the flags, raw (not split), continuations joined */
  rest: string;
  /** exec form: the JSON array; undefined for the shell form */
  json?: string[];
  heredocs: Heredoc[];
}

export interface ParseResult {
  directives: Record<string, string>;
  escape: string;
  nodes: Node[];
  warnings: string[];
}

export class DockerfileParseError extends Error {
  line: number;
  reason: string;
  constructor(line: number, reason: string) {
    super(`dockerfile parse error on line ${line}: ${reason}`);
    this.line = line;
    this.reason = reason;
  }
}

export const KNOWN_INSTRUCTIONS = new Set([
  'add',
  'arg',
  'cmd',
  'copy',
  'entrypoint',
  'env',
  'expose',
  'from',
  'healthcheck',
  'label',
  'maintainer',
  'onbuild',
  'run',
  'shell',
  'stopsignal',
  'user',
  'volume',
  'workdir',
]);

const HEREDOC_INSTRUCTIONS = new Set(['run', 'copy', 'add']);
const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['escape', 'syntax', 'check']);

/** Parses a Dockerfile's text. Throws DockerfileParseError with a 1-based line number. */
export function parse(text: string): ParseResult {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const directives: Record<string, string> = {};
  const warnings: string[] = [];
  let i = 0;
  // parser directives: only at the very top, before any comment, blank line or instruction
  for (; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]!.trim());
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) break;
    if (key in directives) throw new DockerfileParseError(i + 1, `only one ${key} parser directive can be used`);
    directives[key] = m[2]!;
  }
  const escape = directives.escape ?? '\\';
  if (escape !== '\\' && escape !== '`') {
    throw new DockerfileParseError(1, `invalid escape token '${escape}' does not match ` + '` or \\');
  }
  const nodes: Node[] = [];
  for (; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const startLine = i + 1;
    // gather continuation lines
    let joined = '';
    let line = stripTrailing(raw);
    let first = true;
    for (;;) {
      const cont = endsWithEscape(line, escape);
      const piece = cont ? line.slice(0, line.length - 1) : line;
      joined += first ? piece.replace(/^\s+/, '') : piece;
      first = false;
      if (!cont) break;
      // find the next line that is not a comment; blank lines are skipped (with a warning)
      let next = i + 1;
      for (; next < lines.length; next++) {
        const t = lines[next]!.trim();
        if (t.startsWith('#')) continue;
        if (t === '') {
          warnings.push(`empty continuation line found in line ${next + 1}`);
          continue;
        }
        break;
      }
      if (next >= lines.length) {
        i = lines.length - 1;
        break;
      }
      i = next;
      line = stripTrailing(lines[i]!);
    }
    const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(joined);
    if (!m) continue;
    const word = m[1]!;
    const cmd = word.toLowerCase();
    let rest = (m[2] ?? '').trim();
    if (!KNOWN_INSTRUCTIONS.has(cmd))
      throw new DockerfileParseError(startLine, `unknown instruction: ${word.toUpperCase()}`);
    const flags: string[] = [];
    if (cmd !== 'onbuild') {
      for (;;) {
        const fm = /^(--[^\s=]+(?:=(?:"[^"]*"|'[^']*'|\S)*)?)(?:\s+|$)/.exec(rest);
        if (!fm || rest.startsWith('--') === false) break;
        if (fm[1] === '--') break;
        flags.push(fm[1]!);
        rest = rest.slice(fm[0].length);
      }
    }
    const node: Node = { cmd, startLine, endLine: i + 1, original: joined, flags, rest, heredocs: [] };
    if (HEREDOC_INSTRUCTIONS.has(cmd)) {
      const names = heredocNames(rest);
      for (const h of names) {
        const body: string[] = [];
        let found = false;
        for (i++; i < lines.length; i++) {
          const l = lines[i]!;
          const cmp = h.chomp ? l.replace(/^\t+/, '') : l;
          if (cmp === h.name) {
            found = true;
            break;
          }
          body.push(h.chomp ? l.replace(/^\t+/, '') : l);
        }
        if (!found) throw new DockerfileParseError(startLine, `unterminated heredoc ${h.name}`);
        node.heredocs.push({ ...h, content: body.length ? body.join('\n') + '\n' : '' });
      }
      node.endLine = Math.max(node.endLine, Math.min(i + 1, lines.length));
    }
    if (rest.startsWith('[') && node.heredocs.length === 0) {
      const arr = parseJsonArray(rest);
      if (arr) node.json = arr;
    }
    nodes.push(node);
  }
  return { directives, escape, nodes, warnings };
}

function stripTrailing(s: string): string {
  return s.replace(/\s+$/, '');
}

function endsWithEscape(line: string, escape: string): boolean {
  return line.endsWith(escape);
}

/** `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'` words in a RUN/COPY/ADD line, in order. */
export function heredocNames(rest: string): Omit<Heredoc, 'content'>[] {
  const out: Omit<Heredoc, 'content'>[] = [];
  // skip JSON forms
  if (rest.trimStart().startsWith('[')) return out;
  const re = /(^|[\s0-9])<<(-?)(?:"([^"\s]+)"|'([^'\s]+)'|([A-Za-z_][A-Za-z0-9_]*))/g;
  for (const m of rest.matchAll(re)) {
    const quotedName = m[3] ?? m[4];
    out.push({ name: quotedName ?? m[5]!, chomp: m[2] === '-', quoted: quotedName !== undefined });
  }
  return out;
}

function parseJsonArray(s: string): string[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return undefined;
  return v as string[];
}

/** Splits `--name=value` into [name, value]; value undefined for a bare `--name`. */
export function splitFlag(flag: string): [string, string | undefined] {
  const body = flag.slice(2);
  const eq = body.indexOf('=');
  if (eq < 0) return [body, undefined];
  let value = body.slice(eq + 1);
  if (value.length >= 2 && ((value[0] === '"' && value.endsWith('"')) || (value[0] === "'" && value.endsWith("'")))) {
    value = value.slice(1, -1);
  }
  return [body.slice(0, eq), value];
}
