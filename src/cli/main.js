/**
 * Entry point of `berth` (bin/berth runs this file). Every command pays the CLI's start-up, so
 * this file does the two things that cut it: it turns on Node's compile cache, and it loads the
 * CLI bundled into a few files (build/cli/, made by scripts/bundle.ts at setup and build)
 * rather than ~110 modules one by one. The bundle is used only while it is fresh — no file it
 * was built from that this command can run is newer or gone — so that the sources stay the
 * truth: after an edit, berth runs the sources until the next build. It is JavaScript, the one file of the CLI that is, so
 * that nothing is type-stripped before the cache is on: a TypeScript entry would load Node's
 * stripper (a WebAssembly module, a fifth of the start-up) on every run.
 */
import { freshBundle, cliCommand } from '../bundles.js';

// Not an import of node:module, for the reason bundles.js gives for node:fs.
const { enableCompileCache } = process.getBuiltinModule('node:module');

try {
  enableCompileCache();
} catch {
  // no writable cache directory: run uncached
}

const argv = process.argv.slice(2);
// the command's own bundle (one file), fresh as far as its inputs go; the split bundle for a
// command line that names none (the help)
const bundle = freshBundle('cli', 'app.js', cliCommand(argv));
const { runProcess } = bundle ? await import(`../../build/cli/${bundle}`) : await import('./app.ts');
runProcess(argv);
