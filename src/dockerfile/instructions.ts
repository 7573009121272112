/**
 * Parser nodes → typed instructions grouped into stages. Values stay unexpanded here (ARG and
 * ENV change while a stage runs); the executor expands them with shell.ts as it goes.
 */
import { DockerfileParseError, parse, splitFlag, type Heredoc, type Node } from './parser.ts';
import { parseRunMount, type RunMount } from './mounts.ts';
import { expandWord, splitRaw, ShellError, type Env } from './shell.ts';

interface Base {
  line: number;
  endLine: number;
  /** the instruction as written (for the step line and the cache key) */
  original: string;
}

export interface KeyValue {
  key: string;
  /** unexpanded */
  value: string;
}

export interface ArgDef {
  name: string;
  /** unexpanded default, undefined when none */
  value?: string;
}

export interface HealthConfig {
  /** ["NONE"] disables; ["CMD", ...] or ["CMD-SHELL", cmd] */
  test: string[];
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export type Instruction =
  | (Base & {
      kind: 'RUN';
      shellForm: boolean;
      cmd: string[];
      heredocs: Heredoc[];
      network?: string;
      mounts: RunMount[];
    })
  | (Base & { kind: 'CMD' | 'ENTRYPOINT'; shellForm: boolean; cmd: string[] })
  | (Base & { kind: 'ENV' | 'LABEL'; pairs: KeyValue[] })
  | (Base & { kind: 'ARG'; args: ArgDef[] })
  | (Base & { kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER'; value: string })
  | (Base & { kind: 'EXPOSE'; ports: string[] })
  | (Base & { kind: 'VOLUME'; volumes: string[] })
  | (Base & { kind: 'SHELL'; shell: string[] })
  | (Base & { kind: 'HEALTHCHECK'; health: HealthConfig })
  | (Base & { kind: 'ONBUILD'; expression: string })
  | (Base & {
      kind: 'COPY' | 'ADD';
      sources: string[];
      dest: string;
      from?: string;
      chown?: string;
      chmod?: string;
      link: boolean;
      /** ADD --checksum: the digest a downloaded source must have (`sha256:<hex>`). */
      checksum?: string;
      heredocs: Heredoc[];
    });

export interface Stage {
  index: number;
  /** lower-cased AS name */
  name?: string;
  /** unexpanded base reference (expanded with the meta args by expandBase) */
  base: string;
  platform?: string;
  line: number;
  original: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Record<string, string>;
  escape: string;
  /** ARGs before the first FROM */
  metaArgs: ArgDef[];
  /** the ARG instructions before the first FROM, as written (the legacy builder counts them as steps) */
  metaInstructions: Instruction[];
  stages: Stage[];
  warnings: string[];
}

const ALLOWED_FLAGS: Record<string, string[]> = {
  from: ['platform'],
  run: ['mount', 'network', 'security'],
  copy: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  add: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
  healthcheck: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

function fail(node: Node, reason: string): never {
  throw new DockerfileParseError(node.startLine, reason);
}

function flagsOf(node: Node): Map<string, string | undefined> {
  const allowed = ALLOWED_FLAGS[node.cmd] ?? [];
  const out = new Map<string, string | undefined>();
  for (const f of node.flags) {
    const [name, value] = splitFlag(f);
    if (!allowed.includes(name)) fail(node, `unknown flag: ${name}`);
    out.set(name, value);
  }
  return out;
}

/** Parses and types a Dockerfile. Errors carry Docker's "dockerfile parse error on line N: reason". */
export function parseDockerfile(text: string): Dockerfile {
  const res = parse(text);
  const metaArgs: ArgDef[] = [];
  const metaInstructions: Instruction[] = [];
  const stages: Stage[] = [];
  for (const node of res.nodes) {
    if (node.cmd === 'from') {
      stages.push(parseFrom(node, stages.length));
      continue;
    }
    const ins = toInstruction(node, res.escape);
    if (stages.length === 0) {
      if (ins.kind !== 'ARG') fail(node, 'no build stage in current context');
      metaArgs.push(...ins.args);
      metaInstructions.push(ins);
      continue;
    }
    stages[stages.length - 1]!.instructions.push(ins);
  }
  if (stages.length === 0) throw new DockerfileParseError(1, 'file with no instructions');
  const seen = new Set<string>();
  for (const s of stages) {
    if (!s.name) continue;
    if (seen.has(s.name)) throw new DockerfileParseError(s.line, `duplicate stage name "${s.name}"`);
    seen.add(s.name);
  }
  return { directives: res.directives, escape: res.escape, metaArgs, metaInstructions, stages, warnings: res.warnings };
}

function parseFrom(node: Node, index: number): Stage {
  const flags = flagsOf(node);
  const words = node.rest.split(/\s+/).filter(Boolean);
  if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
    fail(node, 'FROM requires either one or three arguments');
  }
  let name: string | undefined;
  if (words.length === 3) {
    name = words[2]!.toLowerCase();
    if (!/^[a-z][a-z0-9-_.]*$/.test(name))
      fail(node, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
  }
  return {
    index,
    name,
    base: words[0]!,
    platform: flags.get('platform'),
    line: node.startLine,
    original: node.original,
    instructions: [],
  };
}

/** Parses one instruction line on its own (ONBUILD triggers). */
export function parseInstruction(text: string, escape = '\\'): Instruction {
  const res = parse(text);
  const node = res.nodes[0];
  if (!node) throw new DockerfileParseError(1, 'empty instruction');
  if (node.cmd === 'from' || node.cmd === 'onbuild' || node.cmd === 'maintainer') {
    fail(node, `${node.cmd.toUpperCase()} isn't allowed as an ONBUILD trigger`);
  }
  return toInstruction(node, escape);
}

function cmdLine(node: Node): { shellForm: boolean; cmd: string[] } {
  if (node.json) return { shellForm: false, cmd: node.json };
  return { shellForm: true, cmd: node.rest === '' ? [] : [node.rest] };
}

function keyValues(node: Node, escape: string, what: string): KeyValue[] {
  const rest = node.rest;
  if (rest === '') fail(node, `${what} requires at least one argument`);
  const words = splitRaw(rest, escape);
  if (!words[0]!.includes('=')) {
    // legacy `ENV key value`
    if (node.cmd === 'label') fail(node, 'LABEL requires at least one argument');
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest);
    if (!m) fail(node, `${what} must have two arguments`);
    return [{ key: m[1]!, value: m[2]! }];
  }
  const out: KeyValue[] = [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) fail(node, `Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (eq === 0) fail(node, `${what} names can not be blank`);
    out.push({ key: w.slice(0, eq), value: w.slice(eq + 1) });
  }
  return out;
}

function parseDuration(node: Node, flag: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let consumed = 0;
  for (const m of v.matchAll(re)) {
    const unit = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2]!]!;
    total += Number(m[1]) * unit;
    consumed += m[0].length;
  }
  if (consumed !== v.length || consumed === 0) fail(node, `time: invalid duration "${v}"`);
  if (total !== 0 && total < 1e6) fail(node, `Interval "${flag}" cannot be less than 1ms`);
  return Math.round(total);
}

/** ADD --checksum, checked as a digest (BuildKit's words); expanded values are checked at run time. */
function checksumOf(node: Node, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!v.includes('$') && !/^sha(256:[0-9a-f]{64}|384:[0-9a-f]{96}|512:[0-9a-f]{128})$/.test(v))
    fail(node, `invalid checksum digest format`);
  return v;
}

/** A RUN's `--mount` flags, each parsed (see mounts.ts). */
function runMounts(node: Node): RunMount[] {
  const out: RunMount[] = [];
  for (const f of node.flags) {
    const [name, value] = splitFlag(f);
    if (name !== 'mount') continue;
    try {
      out.push(parseRunMount(value ?? ''));
    } catch (e) {
      fail(node, (e as Error).message);
    }
  }
  return out;
}

/**
 * BuildKit-only flags: RUN --mount is parsed by runMounts; those whose absence changes nothing
 * but speed are accepted and ignored (--security=sandbox, COPY --link); the rest are refused
 * rather than silently dropped.
 */
function checkBuildkitFlags(node: Node): void {
  for (const f of node.flags) {
    const [name, value] = splitFlag(f);
    if (node.cmd === 'run' && name === 'mount') {
      continue;
    } else if (node.cmd === 'run' && name === 'security' && value !== 'sandbox') {
      fail(node, `RUN --security=${value ?? ''} is not supported by this builder`);
    } else if (['parents', 'exclude', 'keep-git-dir'].includes(name)) {
      fail(node, `${node.cmd.toUpperCase()} --${name} is not supported by this builder`);
    }
  }
}

function toInstruction(node: Node, escape: string): Instruction {
  const base = { line: node.startLine, endLine: node.endLine, original: node.original };
  const flags = flagsOf(node);
  checkBuildkitFlags(node);
  switch (node.cmd) {
    case 'run': {
      const { shellForm, cmd } = cmdLine(node);
      if (cmd.length === 0 && node.heredocs.length === 0) fail(node, 'RUN requires at least one argument');
      return {
        ...base,
        kind: 'RUN',
        shellForm,
        cmd,
        heredocs: node.heredocs,
        network: flags.get('network'),
        mounts: runMounts(node),
      };
    }
    case 'cmd':
    case 'entrypoint': {
      const { shellForm, cmd } = cmdLine(node);
      return { ...base, kind: node.cmd === 'cmd' ? 'CMD' : 'ENTRYPOINT', shellForm, cmd };
    }
    case 'env':
      return { ...base, kind: 'ENV', pairs: keyValues(node, escape, 'ENV') };
    case 'label':
      return { ...base, kind: 'LABEL', pairs: keyValues(node, escape, 'LABEL') };
    case 'arg': {
      const words = splitRaw(node.rest, escape);
      if (words.length === 0) fail(node, 'ARG requires at least one argument');
      const args: ArgDef[] = words.map((w) => {
        const eq = w.indexOf('=');
        if (eq === 0) fail(node, 'ARG names can not be blank');
        return eq < 0 ? { name: w } : { name: w.slice(0, eq), value: w.slice(eq + 1) };
      });
      return { ...base, kind: 'ARG', args };
    }
    case 'workdir':
    case 'user':
    case 'stopsignal':
    case 'maintainer': {
      const value = node.rest;
      const upper = node.cmd.toUpperCase();
      if (value === '') fail(node, `${upper} requires exactly one argument`);
      if (node.cmd !== 'maintainer' && node.cmd !== 'workdir' && /\s/.test(value)) {
        fail(node, `${upper} requires exactly one argument`);
      }
      return { ...base, kind: upper as 'WORKDIR', value };
    }
    case 'expose': {
      const ports = node.rest.split(/\s+/).filter(Boolean);
      if (ports.length === 0) fail(node, 'EXPOSE requires at least one argument');
      return { ...base, kind: 'EXPOSE', ports };
    }
    case 'volume': {
      const volumes = node.json ?? node.rest.split(/\s+/).filter(Boolean);
      if (volumes.length === 0) fail(node, 'VOLUME requires at least one argument');
      for (const v of volumes) if (v.trim() === '') fail(node, 'VOLUME specified can not be an empty string');
      return { ...base, kind: 'VOLUME', volumes };
    }
    case 'shell': {
      if (!node.json) fail(node, 'SHELL requires the arguments to be in JSON form');
      if (node.json.length === 0) fail(node, 'SHELL requires at least one argument');
      return { ...base, kind: 'SHELL', shell: node.json };
    }
    case 'healthcheck': {
      const words = node.rest.split(/\s+/).filter(Boolean);
      if (words.length === 0) fail(node, 'HEALTHCHECK requires an argument');
      const type = words[0]!.toUpperCase();
      if (type === 'NONE') {
        if (words.length > 1) fail(node, 'HEALTHCHECK NONE takes no arguments');
        return { ...base, kind: 'HEALTHCHECK', health: { test: ['NONE'] } };
      }
      if (type !== 'CMD') fail(node, `Unknown type "${type}" in HEALTHCHECK (try CMD)`);
      const after = node.rest.replace(/^\s*\S+\s*/, '');
      if (after === '') fail(node, 'Missing command after HEALTHCHECK CMD');
      let test: string[];
      const asJson = after.startsWith('[') ? tryJson(after) : undefined;
      if (asJson) test = ['CMD', ...asJson];
      else test = ['CMD-SHELL', after];
      const health: HealthConfig = {
        test,
        interval: parseDuration(node, 'interval', flags.get('interval')),
        timeout: parseDuration(node, 'timeout', flags.get('timeout')),
        startPeriod: parseDuration(node, 'start-period', flags.get('start-period')),
        startInterval: parseDuration(node, 'start-interval', flags.get('start-interval')),
      };
      const r = flags.get('retries');
      if (r !== undefined) {
        const n = Number(r);
        if (!Number.isInteger(n)) fail(node, `strconv.ParseInt: parsing "${r}": invalid syntax`);
        if (n < 0) fail(node, '--retries cannot be negative');
        health.retries = n;
      }
      return { ...base, kind: 'HEALTHCHECK', health };
    }
    case 'onbuild': {
      const expression = node.rest;
      if (expression === '') fail(node, 'ONBUILD requires at least one argument');
      const word = expression.split(/\s+/)[0]!.toUpperCase();
      if (word === 'ONBUILD') fail(node, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (word === 'FROM' || word === 'MAINTAINER') fail(node, `${word} isn't allowed as an ONBUILD trigger`);
      return { ...base, kind: 'ONBUILD', expression };
    }
    case 'copy':
    case 'add': {
      const upper = node.cmd.toUpperCase() as 'COPY' | 'ADD';
      let words: string[];
      if (node.json) words = node.json;
      else words = splitRaw(node.rest, escape);
      if (words.length < 2) {
        fail(
          node,
          `${upper} requires at least two arguments, but only one was provided. Destination could not be determined`,
        );
      }
      const dest = words[words.length - 1]!;
      const sources = words.slice(0, -1);
      const link = flags.has('link') && flags.get('link') !== 'false';
      return {
        ...base,
        kind: upper,
        sources,
        dest,
        from: flags.get('from'),
        chown: flags.get('chown'),
        chmod: flags.get('chmod'),
        link,
        checksum: checksumOf(node, flags.get('checksum')),
        heredocs: node.heredocs,
      };
    }
  }
  fail(node, `unknown instruction: ${node.cmd.toUpperCase()}`);
}

function tryJson(s: string): string[] | undefined {
  try {
    const v = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // shell form
  }
  return undefined;
}

/** Expands a stage's base reference with the meta args (ARG before FROM, overridden by --build-arg). */
export function expandBase(stage: Stage, metaEnv: Env, escape = '\\'): string {
  try {
    return expandWord(stage.base, metaEnv, escape);
  } catch (err) {
    if (err instanceof ShellError) throw new DockerfileParseError(stage.line, err.message);
    throw err;
  }
}
