/**
 * Which of the CLI bundle's inputs a command can run, by command (scripts/bundle.ts writes the
 * table into build/cli/inputs.json; src/bundles.js reads it): a `berth pod create` stats the
 * ~60 files behind the chunks it can load to decide whether the bundle is fresh, not all ~260 of
 * the bundle (yaml, compose, kube, the registry client...) — each stat was ~17 µs of every
 * command's start.
 *
 * A command's set is what any of its paths can load: the entry chunk (app.ts and the command
 * table, commands.ts, bundled into it) and everything it imports, statically or not, except the
 * entry's own lazy imports of the modules behind the table (and kube's, compose's) — then that
 * command's module and everything it can import in turn, without exception. The copied files
 * (the dashboard's static/) are in every set. A command line the table does not name (help,
 * a group's help, an unknown word) checks every input.
 */
import type { Metafile } from 'esbuild';
import { join, normalize } from 'node:path';
import { GROUPS, TOP, type Source } from '../src/cli/commands.ts';

/** The modules app.ts imports lazily by command word, besides the command table's. */
const APP_IMPORTS: Record<string, string> = { kube: 'src/cli/kube.ts', compose: 'src/cli/compose/main.ts' };

/** The module a source of the command table loads: the one `import('./x.ts')` in its load(). */
function sourceModule(s: Source): string {
  const m = [...String(s.load).matchAll(/import\(\s*["'](\.\.?\/[^"']+)["']\s*\)/g)];
  if (m.length !== 1) throw new Error(`command table: cannot tell the module of the source of "${s.names.join(' ')}"`);
  return normalize(join('src/cli', m[0]![1]!));
}

export interface CommandInputs {
  /** Sets of indices into the inputs list. */
  sets: number[][];
  /** The command's words (`run`, `pod create`, `--version`) -> its set. */
  commands: Record<string, number>;
}

/**
 * @param metafile esbuild's, of the CLI bundle
 * @param entry the output path (as the metafile names it) of the bundle's entry, app.js
 * @param inputs the inputs list of inputs.json; `always` are in every set (copied files)
 */
export function commandInputs(metafile: Metafile, entry: string, inputs: string[], always: string[]): CommandInputs {
  const outputs = metafile.outputs;
  const chunkOf = new Map<string, string>();
  for (const [out, o] of Object.entries(outputs)) if (o.entryPoint) chunkOf.set(o.entryPoint, out);
  const chunk = (module: string) => {
    const c = chunkOf.get(module);
    if (!c) throw new Error(`command table: ${module} is not a chunk of the bundle`);
    return c;
  };

  const keyed = new Map<string, string>(); // command words -> the chunk of its module
  for (const s of TOP) for (const n of s.names) if (!keyed.has(n)) keyed.set(n, chunk(sourceModule(s)));
  for (const [g, { sources }] of Object.entries(GROUPS)) {
    if (keyed.has(g)) throw new Error(`command table: "${g}" is a command and a group`);
    for (const s of sources)
      for (const n of s.names) if (!keyed.has(`${g} ${n}`)) keyed.set(`${g} ${n}`, chunk(sourceModule(s)));
  }
  for (const [word, module] of Object.entries(APP_IMPORTS)) keyed.set(word, chunk(module));

  // the entry's lazy imports of those modules are left out of what every command checks
  const behindTable = new Set(keyed.values());
  const closure = (start: string, skip: (from: string, to: string, dynamic: boolean) => boolean) => {
    const seen = new Set<string>([start]);
    const todo = [start];
    for (let c = todo.pop(); c !== undefined; c = todo.pop())
      for (const i of outputs[c]?.imports ?? [])
        if (!i.external && !seen.has(i.path) && !skip(c, i.path, i.kind === 'dynamic-import')) {
          seen.add(i.path);
          todo.push(i.path);
        }
    return seen;
  };
  const base = closure(entry, (from, to, dynamic) => from === entry && dynamic && behindTable.has(to));

  // A chunk's inputs are the files that put code in it; a file whose every export was shaken
  // out puts none, and is still a file its importers import: it is followed by the imports.
  const index = new Map(inputs.map((p, i) => [p, i]));
  const setOf = (chunks: Set<string>) => {
    const files = new Set<string>();
    const todo: string[] = [];
    for (const c of chunks) todo.push(...Object.keys(outputs[c]!.inputs));
    for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
      if (files.has(p)) continue;
      files.add(p);
      for (const i of metafile.inputs[p]?.imports ?? [])
        if (!i.external && i.kind !== 'dynamic-import') todo.push(i.path);
    }
    const s = new Set(always.map((p) => index.get(p)!));
    for (const p of files) if (index.has(p)) s.add(index.get(p)!);
    return [...s].sort((a, b) => a - b);
  };
  const sets: number[][] = [setOf(base)];
  const byChunk = new Map<string, number>();
  const commands: Record<string, number> = { '--version': 0 };
  for (const [words, c] of keyed) {
    if (!byChunk.has(c)) {
      byChunk.set(c, sets.length);
      sets.push(setOf(new Set([...base, ...closure(c, () => false)])));
    }
    commands[words] = byChunk.get(c)!;
  }
  return { sets, commands };
}
