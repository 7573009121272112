/**
 * docker-style flags: `-d`, `--name x`, `--name=x`, `-e A -e B` (repeatable), bundled short
 * booleans (`-it`), and `--` or the first positional after which everything is arguments
 * (so `run busybox sh -c ...` keeps the command's own flags).
 */
export interface FlagSpec {
  /** long name → kind; short aliases map to long names. */
  bool?: string[];
  value?: string[];
  multi?: string[];
  short?: Record<string, string>;
  /** Stop at the first positional argument (run, exec, create). */
  stopAtPositional?: boolean;
}

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  multi: Record<string, string[]>;
  args: string[];
}

export class UsageError extends Error {}

export function parseFlags(argv: readonly string[], spec: FlagSpec): Parsed {
  const out: Parsed = { flags: {}, multi: {}, args: [] };
  const bool = new Set(spec.bool ?? []);
  const value = new Set(spec.value ?? []);
  const multi = new Set(spec.multi ?? []);
  const short = spec.short ?? {};
  for (const m of multi) out.multi[m] = [];
  const take = (name: string, inline: string | undefined, i: number): number => {
    if (bool.has(name)) {
      out.flags[name] = inline === undefined ? true : inline !== 'false';
      return i;
    }
    if (!value.has(name) && !multi.has(name)) throw new UsageError(`unknown flag: --${name}`);
    let v = inline;
    if (v === undefined) {
      v = argv[++i];
      if (v === undefined) throw new UsageError(`flag needs an argument: --${name}`);
    }
    if (multi.has(name)) out.multi[name]!.push(v);
    else out.flags[name] = v;
    return i;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      i = take(eq >= 0 ? a.slice(2, eq) : a.slice(2), eq >= 0 ? a.slice(eq + 1) : undefined, i);
    } else if (a.startsWith('-') && a.length > 1) {
      // -it, -e=A, -eA, -p 80
      for (let j = 1; j < a.length; j++) {
        const name = short[a[j]!];
        if (!name) throw new UsageError(`unknown shorthand flag: '${a[j]}' in ${a}`);
        if (bool.has(name)) {
          out.flags[name] = true;
          continue;
        }
        const rest = a.slice(j + 1).replace(/^=/, '');
        i = take(name, rest === '' ? undefined : rest, i);
        break;
      }
    } else {
      out.args.push(a);
      if (spec.stopAtPositional) {
        out.args.push(...argv.slice(i + 1));
        break;
      }
    }
  }
  return out;
}
