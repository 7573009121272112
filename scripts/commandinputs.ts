/**
 * The CLI's bundles by command (scripts/bundle.ts writes them beside the code-split bundle in
 * build/cli/, and their table into inputs.json; src/bundles.js picks one): `berth pod create`
 * loads one file, app.ts with the command table and pods.ts and all they import, not the 14
 * chunks of the split bundle (each ES module loaded is ~0.5-1 ms of a start: resolving,
 * reading, the compile cache's lookup, linking), and it checks the freshness of that file's
 * ~50 inputs, not the ~260 of the whole CLI (each stat ~17 µs).
 *
 * A command's bundle is app.ts built without splitting, its lazy imports of the command table's
 * other modules (and of kube's and compose's) made to fail, so that it holds that command's
 * module and what it can import, statically or not; everything esbuild put in it are the inputs
 * checked. The `--version` bundle has no command module. A command line the table does not name
 * (help, a group's help, an unknown word) runs the split bundle, whole inputs checked.
 */
import type { Metafile, Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { GROUPS, TOP, type Source } from '../src/cli/commands.ts';

/** The modules app.ts imports lazily by command word, besides the command table's. */
const APP_IMPORTS: Record<string, string> = { kube: 'src/cli/kube.ts', compose: 'src/cli/compose/main.ts' };
/** The files whose lazy imports pick a command's module. */
const DISPATCH = /src\/cli\/(app|commands)\.ts$/;
const LAZY = /import\(\s*(["'])(\.\.?\/[^"']+)\1\s*\)/g;

/** The module a source of the command table loads: the one `import('./x.ts')` in its load(). */
function sourceModule(s: Source): string {
  const m = [...String(s.load).matchAll(LAZY)];
  if (m.length !== 1) throw new Error(`command table: cannot tell the module of the source of "${s.names.join(' ')}"`);
  return normalize(join('src/cli', m[0]![2]!));
}

/** Each command's words (`run`, `pod create`, `kube`) and the module (`src/cli/pods.ts`) that runs it. */
export function commandModules(): Map<string, string> {
  const modules = new Map<string, string>();
  for (const s of TOP) for (const n of s.names) if (!modules.has(n)) modules.set(n, sourceModule(s));
  for (const [g, { sources }] of Object.entries(GROUPS)) {
    if (modules.has(g)) throw new Error(`command table: "${g}" is a command and a group`);
    for (const s of sources)
      for (const n of s.names) if (!modules.has(`${g} ${n}`)) modules.set(`${g} ${n}`, sourceModule(s));
  }
  for (const [word, module] of Object.entries(APP_IMPORTS)) modules.set(word, module);
  return modules;
}

/**
 * The plugin that leaves every command module but `keep` (none: undefined) out of a build of
 * app.ts: their lazy imports in app.ts and commands.ts become a rejected promise, never reached
 * in a process the command table sent to this bundle.
 */
export function onlyCommand(keep: string | undefined, all: ReadonlySet<string>, root: string): Plugin {
  return {
    name: 'only-command',
    setup(b) {
      b.onLoad({ filter: DISPATCH }, (args) => {
        const dir = relative(root, dirname(args.path));
        const contents = readFileSync(args.path, 'utf8').replace(LAZY, (whole, _q, p: string) => {
          const module = normalize(join(dir, p));
          return module === keep || !all.has(module)
            ? whole
            : `Promise.reject(new Error(${JSON.stringify(`berth: ${module} is not in this command's bundle`)}))`;
        });
        return { contents, loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** The files a build read (esbuild's metafile), as the inputs list names them. */
export function inputsOf(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs).filter((p) => !p.startsWith('<') && !p.startsWith('builtin:'));
}
