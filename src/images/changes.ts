/**
 * Dockerfile instructions applied to an image config: the `changes` of `docker import -c` and
 * `docker commit -c`. The accepted set is Docker's (`CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`,
 * `HEALTHCHECK`, `LABEL`, `ONBUILD`, `STOPSIGNAL`, `USER`, `VOLUME`, `WORKDIR`), with its
 * grammar: JSON (exec) and shell forms, `key=value` pairs with quotes and backslash escapes,
 * the legacy `ENV key value` form, `$VAR` / `${VAR:-default}` expansion from the environment
 * set so far, line continuations with a trailing backslash.
 *
 * Parsing is pure: the input config is never modified, a bad line fails the whole set with
 * InvalidArgument before anything is written.
 *
 *     applyChanges({}, ['ENV A=1', 'CMD echo $A']).Cmd  // ['/bin/sh', '-c', 'echo $A']
 */
import { invalidArgument } from '../errdefs/index.ts';
import type { HealthConfig, ImageRunConfig } from '../spec/index.ts';

const VALID = new Set([
  'CMD',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'HEALTHCHECK',
  'LABEL',
  'ONBUILD',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);

/** One instruction: its keyword (upper case), its text after the keyword, and the whole line. */
export interface Instruction {
  keyword: string;
  rest: string;
  line: string;
}

/**
 * Splits change strings into instructions. As Docker does, all changes are joined with
 * newlines and read as one Dockerfile: a line ending in `\` continues on the next; blank and
 * `#` comment lines are skipped.
 */
export function parseInstructions(changes: readonly string[]): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  const flush = () => {
    const line = pending.trim();
    pending = '';
    if (!line) return;
    const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(line)!;
    out.push({ keyword: m[1]!.toUpperCase(), rest: (m[2] ?? '').trim(), line });
  };
  for (const raw of changes.join('\n').split(/\r?\n/)) {
    if (!pending && /^\s*#/.test(raw)) continue;
    const trimmed = raw.replace(/\s+$/, '');
    if (trimmed.endsWith('\\') && !trimmed.endsWith('\\\\')) {
      pending += trimmed.slice(0, -1);
      continue;
    }
    pending += raw;
    flush();
  }
  flush();
  return out;
}

/** Applies Dockerfile-style changes to a run config; returns a new config. */
export function applyChanges(cfg: ImageRunConfig, changes: readonly string[]): ImageRunConfig {
  const out: ImageRunConfig = structuredClone(cfg);
  // As in a Dockerfile, an ENTRYPOINT drops the Cmd unless a CMD came before it among the
  // changes: dockerd commits `-c 'ENTRYPOINT ["echo"]'` with Cmd null, not the container's.
  let cmdSet = false;
  for (const ins of parseInstructions(changes)) {
    const bad = (why: string) => invalidArgument(`invalid change "${ins.line}": ${why}`);
    if (!VALID.has(ins.keyword)) throw invalidArgument(`${ins.keyword.toLowerCase()} is not a valid change command`);
    const env = envMap(out.Env ?? []);
    const expand = (word: string) => processWord(word, env, bad);
    switch (ins.keyword) {
      case 'CMD':
        if (!ins.rest) throw bad('CMD needs a command');
        out.Cmd = commandForm(ins.rest);
        cmdSet = true;
        break;
      case 'ENTRYPOINT':
        // An empty ENTRYPOINT resets it, as in a Dockerfile.
        out.Entrypoint = ins.rest ? commandForm(ins.rest) : null;
        if (!cmdSet) out.Cmd = null;
        break;
      case 'ENV': {
        const pairs = nameValuePairs(ins.rest, 'ENV', bad);
        const list = [...(out.Env ?? [])];
        for (const [rawKey, rawValue] of pairs) {
          // As in a Dockerfile, one instruction sees the environment from before it throughout:
          // `ENV abc=bye def=$abc` sets def to the old abc.
          const k = expand(rawKey);
          const v = expand(rawValue);
          if (!k) throw bad('ENV names cannot be empty');
          const i = list.findIndex((e) => e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')) === k);
          if (i >= 0) list[i] = `${k}=${v}`;
          else list.push(`${k}=${v}`);
        }
        out.Env = list;
        break;
      }
      case 'LABEL': {
        const labels = { ...(out.Labels ?? {}) };
        for (const [rawKey, rawValue] of nameValuePairs(ins.rest, 'LABEL', bad)) {
          const k = expand(rawKey);
          if (!k) throw bad('LABEL names cannot be empty');
          labels[k] = expand(rawValue);
        }
        out.Labels = labels;
        break;
      }
      case 'EXPOSE': {
        const ports = { ...(out.ExposedPorts ?? {}) };
        const words = splitWords(ins.rest, bad).map(expand).filter(Boolean);
        if (!words.length) throw bad('EXPOSE needs at least one port');
        for (const w of words) for (const p of expandPortSpec(w, bad)) ports[p] = {};
        out.ExposedPorts = ports;
        break;
      }
      case 'USER': {
        const u = expand(ins.rest);
        if (!u) throw bad('USER needs a user name or ID');
        out.User = u;
        break;
      }
      case 'WORKDIR': {
        const w = expand(ins.rest);
        if (!w) throw bad('WORKDIR needs a path');
        // A relative WORKDIR continues from the previous one.
        out.WorkingDir = w.startsWith('/') ? normalizeAbs(w) : normalizeAbs(`${out.WorkingDir || '/'}/${w}`);
        break;
      }
      case 'STOPSIGNAL': {
        const s = expand(ins.rest);
        if (!/^(?:\d{1,2}|(?:SIG)?[A-Z][A-Z0-9]*(?:[+-]\d{1,2})?)$/i.test(s)) throw bad(`invalid signal "${s}"`);
        out.StopSignal = s;
        break;
      }
      case 'VOLUME': {
        const json = jsonArray(ins.rest);
        const list = (json ?? splitWords(ins.rest, bad)).map(expand);
        if (!list.length || list.some((v) => !v.trim())) throw bad('VOLUME specified can not be an empty string');
        out.Volumes = { ...(out.Volumes ?? {}) };
        for (const v of list) out.Volumes[v] = {};
        break;
      }
      case 'ONBUILD': {
        const inner = /^(\S+)/.exec(ins.rest)?.[1]?.toUpperCase();
        if (!inner) throw bad('ONBUILD needs an instruction');
        if (inner === 'ONBUILD') throw bad("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (inner === 'FROM' || inner === 'MAINTAINER') throw bad(`${inner} isn't allowed as an ONBUILD trigger`);
        out.OnBuild = [...(out.OnBuild ?? []), ins.rest];
        break;
      }
      case 'HEALTHCHECK':
        out.Healthcheck = healthcheck(ins.rest, bad);
        break;
    }
  }
  return out;
}

/** `["a","b"]` is the exec form; anything else runs through `/bin/sh -c`. */
function commandForm(rest: string): string[] {
  return jsonArray(rest) ?? ['/bin/sh', '-c', rest];
}

/** A JSON array of strings, or undefined if `s` is not one (Docker then falls back to the shell form). */
function jsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(s) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: the shell form
  }
  return undefined;
}

function envMap(env: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
    else m.set(e, '');
  }
  return m;
}

type Bad = (why: string) => Error;

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words (they are processed
 * later, per word, by `processWord`).
 */
export function splitWords(s: string, bad: Bad): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else if (c === quote) quote = undefined;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    cur += c;
    if (c === '\\' && i + 1 < s.length) cur += s[++i];
    else if (c === '"' || c === "'") quote = c;
  }
  if (quote) throw bad(`unmatched ${quote === '"' ? 'double' : 'single'} quote`);
  if (inWord) words.push(cur);
  return words;
}

/** `k=v k2="v 2"` pairs, or the legacy single `key value words` form. Raw (unprocessed) halves. */
function nameValuePairs(rest: string, what: string, bad: Bad): Array<[string, string]> {
  if (!rest) throw bad(`${what} needs at least one argument`);
  const words = splitWords(rest, bad);
  if (!words[0]!.includes('=')) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(rest);
    if (!m) throw bad(`${what} names can not be blank` + (what === 'ENV' ? `: ${what} ${rest} needs a value` : ''));
    return [[m[1]!, m[2]!.trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw bad(`${what} ${w}: syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/**
 * One word as the Dockerfile shell lexer sees it: quotes removed, backslash escapes applied,
 * `$VAR`, `${VAR}`, `${VAR:-word}` and `${VAR:+word}` expanded (not inside single quotes).
 */
export function processWord(word: string, env: ReadonlyMap<string, string>, bad: Bad): string {
  let out = '';
  let i = 0;
  const variable = (): string => {
    // at word[i] === '$'
    i++;
    if (word[i] === '{') {
      const end = word.indexOf('}', i);
      if (end < 0) throw bad(`missing '}' in "${word}"`);
      const inner = word.slice(i + 1, end);
      i = end + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([\s\S]*))?$/.exec(inner);
      if (!m) throw bad(`bad substitution "\${${inner}}"`);
      const val = env.get(m[1]!);
      if (m[2] === '-') return val ? val : processWord(m[3]!, env, bad);
      if (m[2] === '+') return val ? processWord(m[3]!, env, bad) : '';
      return val ?? '';
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i));
    if (!m) return '$';
    i += m[0].length;
    return env.get(m[0]) ?? '';
  };
  while (i < word.length) {
    const c = word[i]!;
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw bad('unmatched single quote');
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= word.length) throw bad('unmatched double quote');
        const d = word[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < word.length && '"\\$'.includes(word[i + 1]!)) {
          out += word[i + 1];
          i += 2;
        } else if (d === '$') out += variable();
        else {
          out += d;
          i++;
        }
      }
    } else if (c === '\\') {
      if (i + 1 < word.length) out += word[i + 1];
      i += 2;
    } else if (c === '$') out += variable();
    else {
      out += c;
      i++;
    }
  }
  return out;
}

/** `80`, `80/udp`, `8000-8002/tcp` → Docker's `port/proto` keys, ranges expanded. */
export function expandPortSpec(spec: string, bad: Bad): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/.exec(spec);
  if (!m) throw bad(`invalid containerPort: ${spec}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw bad(`invalid proto: ${m[3]}`);
  const lo = Number(m[1]);
  const hi = m[2] !== undefined ? Number(m[2]) : lo;
  if (lo > 65535 || hi > 65535) throw bad(`invalid containerPort: ${spec}`);
  if (hi < lo) throw bad(`invalid range specified for containerPort: ${spec}`);
  if (hi - lo > 65535) throw bad(`invalid range specified for containerPort: ${spec}`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

function normalizeAbs(p: string): string {
  const parts: string[] = [];
  for (const c of p.split('/')) {
    if (!c || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return `/${parts.join('/')}`;
}

/** Go-style durations (`30s`, `1m30s`, `500ms`) to nanoseconds. */
function durationNs(s: string, bad: Bad): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  if (s === '0') return 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== s.length || !s) throw bad(`invalid duration "${s}"`);
  return Math.round(total);
}

function healthcheck(rest: string, bad: Bad): HealthConfig {
  let s = rest;
  const flags: Record<string, string> = {};
  for (;;) {
    const m = /^--([a-z-]+)=(\S*)\s*/.exec(s);
    if (!m) break;
    flags[m[1]!] = m[2]!;
    s = s.slice(m[0].length);
  }
  const kw = /^(\S+)\s*([\s\S]*)$/.exec(s);
  if (!kw) throw bad('HEALTHCHECK needs NONE or CMD');
  const type = kw[1]!.toUpperCase();
  if (type === 'NONE') {
    if (Object.keys(flags).length || kw[2]) throw bad('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (type !== 'CMD') throw bad(`unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const cmd = kw[2]!.trim();
  if (!cmd) throw bad('missing command after HEALTHCHECK CMD');
  const exec = jsonArray(cmd);
  const hc: HealthConfig = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', cmd] };
  for (const [k, v] of Object.entries(flags)) {
    switch (k) {
      case 'interval':
        hc.Interval = durationNs(v, bad);
        break;
      case 'timeout':
        hc.Timeout = durationNs(v, bad);
        break;
      case 'start-period':
        hc.StartPeriod = durationNs(v, bad);
        break;
      case 'start-interval':
        hc.StartInterval = durationNs(v, bad);
        break;
      case 'retries': {
        if (!/^\d+$/.test(v)) throw bad(`invalid retries "${v}"`);
        hc.Retries = Number(v);
        break;
      }
      default:
        throw bad(`unknown flag: --${k}`);
    }
  }
  return hc;
}
