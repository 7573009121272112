/**
 * Entry point of `berth` (bin/berth runs this file). Every command pays the CLI's start-up, so
 * this file does the two things that cut it: it turns on Node's compile cache, and it loads the
 * CLI bundled into a few files (build/cli/, made by scripts/bundle.ts at setup and build)
 * rather than ~110 modules one by one. The bundle is used only while it is fresh — no file it
 * was built from is newer or gone — so that the sources stay the truth: after an edit, berth
 * runs the sources until the next build. It is JavaScript, the one file of the CLI that is, so
 * that nothing is type-stripped before the cache is on: a TypeScript entry would load Node's
 * stripper (a WebAssembly module, a fifth of the start-up) on every run.
 */
import { enableCompileCache } from 'node:module';
import { readFileSync, statSync } from 'node:fs';

try {
  enableCompileCache();
} catch {
  // no writable cache directory: run uncached
}

// A path, not a URL: a URL per input (~250 of them) was a tenth of the check.
const ROOT = `${import.meta.dirname}/../../`;

function bundleIsFresh() {
  try {
    const { builtAt, inputs } = JSON.parse(readFileSync(`${ROOT}build/cli/inputs.json`, 'utf8'));
    for (const p of inputs) if (statSync(ROOT + p).mtimeMs > builtAt) return false;
    return true;
  } catch {
    return false; // no bundle, or an input gone
  }
}

const { runProcess } = bundleIsFresh() ? await import('../../build/cli/app.js') : await import('./app.ts');
runProcess(process.argv.slice(2));
