/**
 * Bundles the `berth` CLI into build/cli/ and berthd into build/berthd/ (run by setup and `npm
 * run build`): loading a few hundred modules one by one (resolving, reading, compiling each) was
 * most of the CLI's start-up on every command, and of berthd's start — a restart with many
 * containers waiting for their API. A bundle is a build output, never the truth: its entry
 * (src/cli/main.js, src/daemon/boot.js) loads it only while every input file is older than the
 * bundle (inputs.json beside it lists them), and the sources otherwise. Code split: what is
 * imported lazily (the CLI's kube, compose, trust, registry client and dashboard; the daemon's CRI
 * and streaming servers) stays in chunks that are read only when used.
 */
import { build, type Plugin } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { commandModules, inputsOf, onlyCommand } from './commandinputs.ts';

const ROOT = resolve(import.meta.dirname, '..');
const requireBuiltin = createRequire(import.meta.url);

// The getters of Node's modules that an export may read when the module loads: cheap, and their
// values never change. The others stay out (node:http's WebSocket would load undici, node:crypto's
// webcrypto its Web Crypto, fs.F_OK warns that it is deprecated, events' defaultMaxListeners is a
// setting that changes): a bundled import of one fails the build, and such a use is then written
// `mod.name`.
const CHEAP_GETTERS = new Set(['promises', 'ReadStream', 'WriteStream']);

/** Whether `n` can be the name of a const (not a reserved word). */
function isBindingName(n: string): boolean {
  if (!/^[A-Za-z_$][\w$]*$/.test(n)) return false;
  try {
    new Function(`const ${n} = 0;`);
    return true;
  } catch {
    return false;
  }
}

// Node's modules are required, not imported: importing one as ESM runs every getter it exports
// to fill the namespace, and node:http's getters load undici (a fetch implementation, ~100 ms of
// a start) for its WebSocket export. A dynamic `import('node:…')` stays an import: through a
// require its named exports would be lost (the chunk exports only a default).
function builtinsByRequire(o: { lazy: boolean }): Plugin {
  return {
    name: 'builtins-by-require',
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) =>
        args.namespace === 'builtin' || args.kind === 'dynamic-import'
          ? { path: args.path, external: true }
          : { path: args.path, namespace: 'builtin' },
      );
      b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
        contents: o.lazy ? lazyBuiltin(args.path) : linkedBuiltin(args.path),
        loader: 'js',
      }));
    },
  };
}

/**
 * berthd's view of a Node module: an ES module of its data properties, so that importers link to
 * them directly: as a CommonJS module each importing module copied every property of it into a
 * namespace object of its own (esbuild's __toESM: ~80 ms of berthd's start, some 400 modules
 * importing a few each). The daemon uses most of what it imports, so nothing is deferred.
 */
function linkedBuiltin(path: string): string {
  const mod = requireBuiltin(path) as object;
  const names = Object.getOwnPropertyNames(mod).filter(
    (n) =>
      n !== 'default' &&
      ('value' in Object.getOwnPropertyDescriptor(mod, n)! || CHEAP_GETTERS.has(n)) &&
      isBindingName(n),
  );
  return `const m = require(${JSON.stringify(path)});\nexport default m;\nexport const { ${names.join(', ')} } = m;\n`;
}

/**
 * The CLI's view of a Node module: an object of getters that require the module on first use.
 * Most commands load crypto, tls, https, readline, zlib, worker_threads, child_process and dgram
 * only because some module of the CLI imports them for another command; compiling them was about
 * a quarter of `berth run`'s CPU. The getters are the module's own export names, read here at
 * build time (this Node is the one that runs berth); an import's `default` is this object, which
 * reads as the module. Nothing in the CLI assigns to a Node module's exports.
 */
function lazyBuiltin(path: string): string {
  const mod = requireBuiltin(path) as object;
  const req = JSON.stringify(path);
  // A module that is a function (node:events' EventEmitter, node:assert) is its own default export: required as is.
  if (typeof mod === 'function') return `module.exports = require(${req});`;
  const names = Object.getOwnPropertyNames(mod).filter((k) => k !== 'default' && k !== '__esModule');
  const getters = names.map((k) => `  get ${JSON.stringify(k)}() { return load()[${JSON.stringify(k)}]; },`).join('\n');
  return `let m;\nconst load = () => (m ??= require(${req}));\nmodule.exports = {\n${getters}\n};\n`;
}

// Files found relative to a module's own folder (the C helpers in build/, the CRI's api.proto,
// the dashboard's static/, grpc-js's protos) are found relative to the source folder it came
// from, not the bundle's: `import.meta.dirname` and CommonJS's `__dirname`/`__filename` are
// rewritten to that folder, computed from the bundle's place in the checkout (banner below).
const sourceDirs: Plugin = {
  name: 'source-dirs',
  setup(b) {
    b.onLoad({ filter: /\.(ts|js|cjs|mjs)$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!/import\.meta\.dirname|\b__dirname\b|\b__filename\b/.test(text)) return undefined;
      const dir = `__berthSourceDir(${JSON.stringify(relative(ROOT, dirname(args.path)))})`;
      const file = `__berthJoin(${dir}, ${JSON.stringify(args.path.slice(dirname(args.path).length + 1))})`;
      const contents = text
        .replaceAll('import.meta.dirname', dir)
        .replace(/\b__dirname\b/g, dir)
        .replace(/\b__filename\b/g, file);
      return { contents, loader: extname(args.path) === '.ts' ? 'ts' : 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * Bundles `entry` into build/<name>/<out>.js and its chunks, with inputs.json: the bundle is
 * stale when one of the files listed there changes after the build started (or disappears).
 */
async function bundle(
  name: string,
  out: string,
  entry: string,
  o: { sourceDirs: boolean; lazyBuiltins: boolean; copy?: string[]; byCommand?: boolean },
) {
  const outDir = join(ROOT, 'build', name);
  const tmp = `${outDir}.tmp-${process.pid}`;
  const startedAt = Date.now();
  rmSync(tmp, { recursive: true, force: true });
  const plugins = o.sourceDirs
    ? [builtinsByRequire({ lazy: o.lazyBuiltins }), sourceDirs]
    : [builtinsByRequire({ lazy: o.lazyBuiltins })];
  const options = {
    absWorkingDir: ROOT,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    outdir: tmp,
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'warning',
    // the CommonJS packages (tar-stream's streamx) require node's modules: give ESM chunks a
    // require; the bundle sits in build/<name>/, two folders below the checkout
    banner: {
      js: [
        "import { createRequire as __berthRequire } from 'node:module';",
        'const require = __berthRequire(import.meta.url);',
        "const __berthJoin = require('node:path').join;",
        "const __berthSourceDir = (d) => __berthJoin(import.meta.dirname, '..', '..', d);",
      ].join('\n'),
    },
  } as const;
  const result = await build({ ...options, entryPoints: { [out]: entry }, splitting: true, plugins });
  const copied: string[] = [];
  for (const dir of o.copy ?? []) {
    cpSync(join(ROOT, dir), join(tmp, dir.slice(dir.lastIndexOf('/') + 1)), { recursive: true });
    copied.push(...readdirSync(join(ROOT, dir)).map((f) => `${dir}/${f}`));
  }
  const inputs = [...inputsOf(result.metafile), ...copied];
  // The CLI's bundle of each command, one file, and the inputs it was built from (commandinputs.ts):
  // `sets[i]` indexes `inputs` for `bundles[i]`; `commands` names the bundle of each command.
  let byCommand: { bundles: string[]; sets: number[][]; commands: Record<string, number> } | undefined;
  if (o.byCommand) {
    const modules = commandModules();
    const all = new Set(modules.values());
    const kept = [undefined, ...all]; // the first: none, for --version
    const bundles = kept.map((_, i) => `cmd-${i}.js`);
    const builds = await Promise.all(
      kept.map((m, i) =>
        build({
          ...options,
          entryPoints: { [bundles[i]!.slice(0, -3)]: entry },
          splitting: false,
          plugins: [...plugins, onlyCommand(m, all, ROOT)],
        }),
      ),
    );
    const index = new Map(inputs.map((p, i) => [p, i]));
    const at = (p: string) => index.get(p) ?? (index.set(p, inputs.length), inputs.push(p), inputs.length - 1);
    const sets = builds.map((b) => [...inputsOf(b.metafile), ...copied].map(at).sort((x, y) => x - y));
    const commands: Record<string, number> = { '--version': 0 };
    for (const [words, m] of modules) commands[words] = kept.indexOf(m);
    byCommand = { bundles, sets, commands };
  }
  writeFileSync(join(tmp, 'inputs.json'), JSON.stringify({ builtAt: startedAt, inputs, ...byCommand }) + '\n');
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
}

/**
 * build/version.json: the commit this build was made from and when, which `docker version` shows
 * as the Engine's "Git commit" and "Built" (dockerd's are its binary's); daemon/info.ts reads it.
 * The commit is git's short one, with `-dirty` when the work tree has changes; none outside git.
 */
function writeVersionInfo(): void {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let commit = '';
  try {
    commit = git('rev-parse', '--short=7', 'HEAD');
    if (git('status', '--porcelain', '--untracked-files=no')) commit += '-dirty';
  } catch {
    // not a git checkout (a copy of the tree): no commit to name
  }
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  const tmp = join(ROOT, 'build', `version.json.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify({ GitCommit: commit, BuildTime: new Date().toISOString() }) + '\n');
  renameSync(tmp, join(ROOT, 'build', 'version.json'));
}

writeVersionInfo();
await Promise.all([
  // The dashboard reads its page, script and style from `static/` beside its module
  // (import.meta.dirname): in the CLI's bundle that is build/cli/, so they are copied there.
  // Bundled with the rest rather than loaded from src/, so that the client's error classes it
  // tests with instanceof are the same classes the bundled client throws.
  bundle('cli', 'app', 'src/cli/app.ts', {
    sourceDirs: false,
    lazyBuiltins: true,
    copy: ['src/ui/static'],
    byCommand: true,
  }),
  bundle('berthd', 'main', 'src/daemon/main.ts', { sourceDirs: true, lazyBuiltins: false }),
]);
