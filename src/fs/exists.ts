/**
 * Whether a path exists, for the many places that only ask that: `access(2)`, so a symlink
 * counts by what it points at and a path the caller may not reach counts as absent.
 *
 * @example
 *   if (await pathExists(join(bundle, 'oom'))) ...
 */
import { promises as fs } from 'node:fs';

export function pathExists(path: string): Promise<boolean> {
  return fs.access(path).then(
    () => true,
    () => false,
  );
}
