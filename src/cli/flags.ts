/**
 * The docker CLI's flag grammar (cobra/pflag): `--name value`, `--name=value`, `-n value`,
 * `-nvalue`, `-n=value`, bundled short booleans (`-it`, `-aq`), `--flag=false` for booleans,
 * repeatable list flags (`-e A -e B`), `--` to end the flags, and `-h/--help` anywhere.
 * Commands that run a program (`run`, `create`, `exec`) stop at their first positional argument
 * so the program keeps its own flags (`run busybox sh -c ...`).
 */
import { goParseBool } from '../spec/index.ts';

export type FlagType = 'bool' | 'string' | 'list' | 'int';

export interface FlagDef {
  long: string;
  short?: string;
  type: FlagType;
  help?: string;
  /** Shown in help after the flag name (`--tail string`); default from the type. */
  valueName?: string;
  default?: string | number | boolean;
  hidden?: boolean;
}

export interface CommandSpec {
  /** `berth rm [OPTIONS] CONTAINER [CONTAINER...]` */
  usage: string;
  description: string;
  aliases?: string[];
  flags: FlagDef[];
  /** Positional argument count; `min === max` means exactly. */
  args?: { min?: number; max?: number };
  /** Flags may come after positionals (true for most commands). */
  interspersed?: boolean;
}

/** A bad flag: docker prints it with the usage line and exits 125. */
export class FlagError extends Error {
  readonly usage: string;
  readonly command: string;
  constructor(message: string, spec: CommandSpec) {
    super(message);
    this.usage = spec.usage;
    this.command = commandName(spec);
  }
}

/**
 * A flag value a command rejects after parsing (`invalid argument "x" for "-m, --memory" flag:
 * ...`): reported like a FlagError, with the usage of the command that was running.
 */
export class FlagValueError extends Error {}

/** A wrong number of arguments: docker exits 1. */
export class ArgsError extends Error {
  readonly usage: string;
  readonly command: string;
  constructor(message: string, spec: CommandSpec) {
    super(message);
    this.usage = spec.usage;
    this.command = commandName(spec);
  }
}

/** `berth container rm` from `berth container rm [OPTIONS] ...` */
export function commandName(spec: CommandSpec): string {
  const words: string[] = [];
  for (const w of spec.usage.split(/\s+/)) {
    if (!/^[a-z][a-z-]*$/.test(w)) break;
    words.push(w);
  }
  return words.join(' ');
}

export class Flags {
  private readonly values = new Map<string, string | boolean | string[]>();
  private readonly defs: Map<string, FlagDef>;
  constructor(defs: FlagDef[]) {
    this.defs = new Map(defs.map((d) => [d.long, d]));
  }

  /** Was the flag given on the command line? */
  has(name: string): boolean {
    return this.values.has(name);
  }

  bool(name: string): boolean {
    const v = this.values.get(name);
    if (v === undefined) return this.def(name).default === true;
    return v === true;
  }

  str(name: string): string | undefined {
    const v = this.values.get(name);
    if (v === undefined) {
      const d = this.def(name).default;
      return d === undefined ? undefined : String(d);
    }
    return typeof v === 'string' ? v : undefined;
  }

  list(name: string): string[] {
    this.def(name);
    const v = this.values.get(name);
    return Array.isArray(v) ? v : [];
  }

  int(name: string): number | undefined {
    const s = this.str(name);
    return s === undefined ? undefined : Number(s);
  }

  /** Sets a value (the parser's side). */
  set(name: string, value: string | boolean): void {
    const d = this.def(name);
    if (d.type === 'list') {
      const cur = this.values.get(name);
      const arr = Array.isArray(cur) ? cur : [];
      arr.push(String(value));
      this.values.set(name, arr);
    } else {
      this.values.set(name, value);
    }
  }

  private def(name: string): FlagDef {
    const d = this.defs.get(name);
    if (!d) throw new Error(`internal: flag --${name} is not declared`);
    return d;
  }
}

export interface ParseResult {
  flags: Flags;
  args: string[];
  help: boolean;
}

export const HELP_FLAG: FlagDef = { long: 'help', short: 'h', type: 'bool', help: 'Print usage', hidden: true };

function flagLabel(d: FlagDef): string {
  return d.short ? `-${d.short}, --${d.long}` : `--${d.long}`;
}

export function parseArgs(argv: readonly string[], spec: CommandSpec): ParseResult {
  const defs = [...spec.flags, HELP_FLAG];
  const byLong = new Map(defs.map((d) => [d.long, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short!, d]));
  const flags = new Flags(defs);
  const args: string[] = [];
  const interspersed = spec.interspersed ?? true;

  const assign = (d: FlagDef, raw: string | boolean): void => {
    if (d.type === 'bool') {
      const b = typeof raw === 'boolean' ? raw : goParseBool(raw);
      if (b === undefined)
        throw new FlagError(
          `invalid argument "${raw}" for "${flagLabel(d)}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`,
          spec,
        );
      flags.set(d.long, b);
      return;
    }
    const v = String(raw);
    if (d.type === 'int' && !/^[+-]?\d+$/.test(v.trim())) {
      throw new FlagError(
        `invalid argument "${v}" for "${flagLabel(d)}" flag: strconv.ParseInt: parsing "${v}": invalid syntax`,
        spec,
      );
    }
    flags.set(d.long, v);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const d = byLong.get(name);
      if (!d) throw new FlagError(`unknown flag: --${name}`, spec);
      if (eq >= 0) assign(d, a.slice(eq + 1));
      else if (d.type === 'bool') assign(d, true);
      else {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${name}`, spec);
        assign(d, argv[++i]!);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const ch = a[j]!;
        const d = byShort.get(ch);
        if (!d) throw new FlagError(`unknown shorthand flag: '${ch}' in ${a}`, spec);
        if (d.type === 'bool') {
          if (a[j + 1] === '=') {
            assign(d, a.slice(j + 2));
            break;
          }
          assign(d, true);
          continue;
        }
        let rest = a.slice(j + 1);
        if (rest.startsWith('=')) rest = rest.slice(1);
        else if (rest === '') {
          if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: '${ch}' in -${ch}`, spec);
          rest = argv[++i]!;
        }
        assign(d, rest);
        break;
      }
      continue;
    }
    args.push(a);
    if (!interspersed) {
      args.push(...argv.slice(i + 1));
      break;
    }
  }

  const help = flags.bool('help');
  if (!help && spec.args) {
    const { min = 0, max = Infinity } = spec.args;
    const name = commandName(spec);
    const plural = (n: number) => `${n} argument${n === 1 ? '' : 's'}`;
    if (min === max && args.length !== min) {
      throw new ArgsError(
        min === 0
          ? `'${name}' accepts no arguments`
          : `'${name}' requires ${min === 1 ? 'exactly 1 argument' : plural(min)}`,
        spec,
      );
    }
    if (args.length < min) throw new ArgsError(`'${name}' requires at least ${plural(min)}`, spec);
    if (args.length > max) throw new ArgsError(`'${name}' requires at most ${plural(max)}`, spec);
  }
  return { flags, args, help };
}

/** The `--help` text, laid out as the docker CLI does. */
export function helpText(spec: CommandSpec): string {
  let s = `Usage:  ${spec.usage}\n\n${spec.description}\n`;
  if (spec.aliases?.length) s += `\nAliases:\n  ${spec.aliases.join(', ')}\n`;
  const visible = spec.flags.filter((f) => !f.hidden).sort((a, b) => a.long.localeCompare(b.long));
  if (visible.length) {
    const left = visible.map((f) => {
      const value =
        f.type === 'bool'
          ? ''
          : ` ${f.valueName ?? (f.type === 'int' ? 'int' : f.type === 'list' ? 'list' : 'string')}`;
      return `${f.short ? `  -${f.short}, ` : '      '}--${f.long}${value}`;
    });
    const width = Math.max(...left.map((l) => l.length)) + 3;
    s += '\nOptions:\n';
    visible.forEach((f, i) => {
      let help = f.help ?? '';
      if (f.default !== undefined && f.default !== false && f.default !== '') {
        help += typeof f.default === 'string' ? ` (default "${f.default}")` : ` (default ${f.default})`;
      }
      s += `${left[i]!.padEnd(width)}${help}`.trimEnd() + '\n';
    });
  }
  return s;
}
