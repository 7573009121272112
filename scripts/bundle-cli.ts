/**
 * Bundles the `berth` CLI into build/cli/ (run by setup and `npm run build`): every command pays
 * the CLI's start-up, and loading ~110 modules one by one (resolving, reading, compiling each)
 * was most of it. The bundle is a build output, never the truth: src/cli/main.js loads it only
 * while every input file is older than the bundle (build/cli/inputs.json lists them), and the
 * sources otherwise. Code split: what a command imports lazily (kube, compose, trust, the
 * registry client, the dashboard) stays in chunks that other commands never read.
 */
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'build', 'cli');
const TMP = `${OUT}.tmp-${process.pid}`;

const startedAt = Date.now();
rmSync(TMP, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { app: 'src/cli/app.ts' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  outdir: TMP,
  chunkNames: 'chunk-[hash]',
  metafile: true,
  logLevel: 'warning',
  // the CommonJS packages (tar-stream's streamx) require node's modules: give ESM chunks a require
  banner: {
    js: "import { createRequire as __berthRequire } from 'node:module';\nconst require = __berthRequire(import.meta.url);",
  },
  plugins: [
    {
      // Node's modules are required, not imported: importing one as ESM runs every getter it
      // exports to fill the namespace, and node:http's getters load undici (a fetch
      // implementation, a tenth of the start-up) for its WebSocket export.
      name: 'builtins-by-require',
      setup(b) {
        b.onResolve({ filter: /^node:/ }, (args) =>
          args.namespace === 'builtin'
            ? { path: args.path, external: true }
            : { path: args.path, namespace: 'builtin' },
        );
        b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
          contents: lazyBuiltin(args.path),
          loader: 'js',
        }));
      },
    },
  ],
});

// The dashboard reads its page, script and style from `static/` beside its module
// (import.meta.dirname): in the bundle that is build/cli/, so they are copied there. Bundled
// with the rest rather than loaded from src/, so that the client's error classes it tests with
// instanceof are the same classes the bundled client throws.
const STATIC = 'src/ui/static';
cpSync(join(ROOT, STATIC), join(TMP, 'static'), { recursive: true });
const staticFiles = readdirSync(join(ROOT, STATIC)).map((f) => `${STATIC}/${f}`);

const inputs = [
  ...Object.keys(result.metafile.inputs).filter((p) => !p.startsWith('<') && !p.startsWith('builtin:')),
  ...staticFiles,
];
// the bundle is stale when one of these files changes after the build started (or disappears):
// main.js checks their mtimes
writeFileSync(join(TMP, 'inputs.json'), JSON.stringify({ builtAt: startedAt, inputs }) + '\n');
mkdirSync(join(ROOT, 'build'), { recursive: true });
rmSync(OUT, { recursive: true, force: true });
renameSync(TMP, OUT);

/**
 * A Node module as the bundle sees it: an object of getters that require the module on first
 * use. Most commands load crypto, tls, https, readline, zlib, worker_threads, child_process and
 * dgram only because some module of the CLI imports them for another command; compiling them
 * was about a quarter of `berth run`'s CPU. The getters are the module's own export names, read
 * here at build time (this Node is the one that runs berth); an import's `default` is this
 * object, which reads as the module. Nothing in the CLI assigns to a Node module's exports.
 */
function lazyBuiltin(path: string): string {
  const mod = createRequire(import.meta.url)(path) as object;
  const req = JSON.stringify(path);
  // A module that is a function (node:events' EventEmitter, node:assert) is its own default export: required as is.
  if (typeof mod === 'function') return `module.exports = require(${req});`;
  const names = Object.getOwnPropertyNames(mod).filter((k) => k !== 'default' && k !== '__esModule');
  const getters = names.map((k) => `  get ${JSON.stringify(k)}() { return load()[${JSON.stringify(k)}]; },`).join('\n');
  return `let m;\nconst load = () => (m ??= require(${req}));\nmodule.exports = {\n${getters}\n};\n`;
}
