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
          contents: `module.exports = require(${JSON.stringify(args.path)});`,
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
