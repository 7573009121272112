/**
 * Whether a bundle under build/ (scripts/bundle.ts: `cli`, `berthd`) may run instead of the
 * sources: only while no file it was built from is newer than the build, or gone — so that the
 * sources stay the truth. Shared by the two entry points (src/cli/main.js, src/daemon/boot.js);
 * JavaScript, as they are, so that nothing is type-stripped before the bundle runs.
 */
// Node's module through getBuiltinModule, not an import: an ES import of node:fs builds its
// namespace by reading every export, and the getter of ReadStream loads fs's streams and the
// stream modules under them — a tenth of `berth --version`'s CPU, paid by every command.
const { readFileSync, statSync } = process.getBuiltinModule('node:fs');

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
