/**
 * A sorted, depth-first, pre-order walk of a directory tree that never follows symlinks:
 * the order tarDirectory, diffOverlayUpper and changes share, so the same tree always gives the
 * same archive and the same change list.
 */
import { promises as fs, type Stats } from 'node:fs';
import { absOf, joinRel } from './names.ts';

export interface TreeEntry {
  /** Path relative to the root, no leading slash. */
  rel: string;
  abs: string;
  st: Stats;
}

/**
 * Calls `visit` for every entry below `root` (not the root itself), parents before children,
 * siblings sorted. `visit` returns false to skip a directory's contents. Entries that vanish
 * during the walk are skipped; `exclude` leaves out entries (and their contents) by path.
 */
export async function walkTree(
  root: string,
  visit: (e: TreeEntry) => Promise<boolean | void>,
  exclude?: (rel: string) => boolean,
): Promise<void> {
  const stack: Array<{ entries: TreeEntry[]; i: number }> = [{ entries: await list(root, '', exclude), i: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.entries.length) {
      stack.pop();
      continue;
    }
    const e = top.entries[top.i++]!;
    const descend = await visit(e);
    if (descend !== false && e.st.isDirectory()) stack.push({ entries: await list(root, e.rel, exclude), i: 0 });
  }
}

const LSTAT_BATCH = 256;

async function list(root: string, dir: string, exclude?: (rel: string) => boolean): Promise<TreeEntry[]> {
  let names: string[];
  try {
    names = await fs.readdir(absOf(root, dir));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
  names.sort();
  const out: TreeEntry[] = [];
  // lstat in parallel batches: the thread pool does them concurrently.
  for (let i = 0; i < names.length; i += LSTAT_BATCH) {
    const batch = names
      .slice(i, i + LSTAT_BATCH)
      .map((name) => joinRel(dir, name))
      .filter((rel) => !exclude?.(rel));
    const stats = await Promise.all(
      batch.map((rel) =>
        fs.lstat(absOf(root, rel)).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined;
          throw e;
        }),
      ),
    );
    for (let j = 0; j < batch.length; j++) {
      const st = stats[j];
      if (st) out.push({ rel: batch[j]!, abs: absOf(root, batch[j]!), st });
    }
  }
  return out;
}
