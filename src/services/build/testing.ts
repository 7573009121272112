/** Test helpers for the build service's unit tests (not used by the service itself). */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';

const made: string[] = [];
// Registered when a test file imports this module, so the hook is the file's, not a test's.
after(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary directory removed when the test file's tests are done. */
export function scratchDir(prefix: string): string {
  const d = mkdtempSync(prefix);
  made.push(d);
  return d;
}
