/**
 * Whether a bundle under build/ (scripts/bundle.ts: `cli`, `berthd`) may run instead of the
 * sources: only while no file it was built from is newer than the build, or gone — so that the
 * sources stay the truth. Shared by the two entry points (src/cli/main.js, src/daemon/boot.js);
 * JavaScript, as they are, so that nothing is type-stripped before the bundle runs.
 */
import { readFileSync, statSync } from 'node:fs';

// A path, not a URL: a URL per input (~250 of them) was a tenth of the check.
const ROOT = `${import.meta.dirname}/../`;

/** @param {string} name the bundle's folder under build/ */
export function bundleIsFresh(name) {
  try {
    const { builtAt, inputs } = JSON.parse(readFileSync(`${ROOT}build/${name}/inputs.json`, 'utf8'));
    for (const p of inputs) if (statSync(ROOT + p).mtimeMs > builtAt) return false;
    return true;
  } catch {
    return false; // no bundle, or an input gone
  }
}
