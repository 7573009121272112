/**
 * `docker diff`: what a container changed, read from its overlay upperdir and compared with
 * the image's layers, with Docker's rules (moby pkg/archive changes.go):
 *
 * - a whiteout (0/0 character device) is a deletion of its path;
 * - an opaque directory that the layers below also have was deleted and made anew;
 * - anything else is Added, or Modified when a lower layer has the path, except a directory
 *   whose size, mode and mtime equal the lower one's (present only because something below it
 *   changed, so not reported itself);
 * - the parent of an addition or deletion is reported Modified if nothing else reported it.
 *
 * Paths are absolute inside the container, in walk order (sorted, parents first).
 */
import { promises as fs, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Runner, XattrReader } from '../host/index.ts';
import { absOf, OVERLAY_OPAQUE_XATTR } from './names.ts';
import { walkTree, type TreeEntry } from './walk.ts';
import { readXattrsOf } from './xattrs.ts';

/** The Engine API's change kinds. */
export const ChangeKind = { Modified: 0, Added: 1, Deleted: 2 } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

export interface Change {
  /** Absolute path inside the container, e.g. `/etc/hosts`. */
  path: string;
  kind: ChangeKind;
}

/**
 * The changes in `upper` relative to `lowerDirs`, the image's layer directories topmost first
 * (the order of overlay's `lowerdir=`). Reads the opaque flags of the upper's directories in one
 * request (the launcher's, else one getfattr run over the upper).
 *
 *     await changes(`${dir}/upper`, layerDirs, host) // [{ path: '/etc', kind: 0 }, { path: '/etc/x', kind: 1 }]
 */
export async function changes(
  upper: string,
  lowerDirs: readonly string[],
  host: Runner & { readonly xattrs?: XattrReader },
): Promise<Change[]> {
  // The walk first, then the opaque flags of the directories it found, in one request.
  const entries: TreeEntry[] = [];
  await walkTree(upper, async (e) => void entries.push(e));
  const dirs = entries.filter((e) => e.st.isDirectory()).map((e) => e.rel);
  const xattrs = await readXattrsOf(host, upper, dirs, [OVERLAY_OPAQUE_XATTR], true);
  const out: Change[] = [];
  const changedDirs = new Set<string>();
  for (const { rel, st } of entries) {
    const path = `/${rel}`;
    let kind: ChangeKind;
    if (st.isCharacterDevice() && st.rdev === 0) kind = ChangeKind.Deleted;
    else {
      const lower = await lowerStat(lowerDirs, rel);
      const opaque = st.isDirectory() && xattrs.get(rel)?.get(OVERLAY_OPAQUE_XATTR)?.toString('latin1') === 'y';
      if (opaque && lower) kind = ChangeKind.Deleted;
      else if (!lower) kind = ChangeKind.Added;
      else if (lower.isDirectory() && st.isDirectory() && sameDir(st, lower)) continue;
      else kind = ChangeKind.Modified;
    }
    if (st.isDirectory()) changedDirs.add(path);
    if (kind !== ChangeKind.Modified) {
      const parent = posix.dirname(path);
      if (parent !== '/' && !changedDirs.has(parent)) {
        out.push({ path: parent, kind: ChangeKind.Modified });
        changedDirs.add(parent);
      }
    }
    out.push({ path, kind });
  }
  return out;
}

/** The path in the topmost lower layer that has it, or undefined when none does (or one deleted it). */
export async function lowerStat(lowerDirs: readonly string[], rel: string): Promise<Stats | undefined> {
  for (const dir of lowerDirs) {
    let st: Stats;
    try {
      st = await fs.lstat(absOf(dir, rel));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw e;
    }
    return st.isCharacterDevice() && st.rdev === 0 ? undefined : st;
  }
  return undefined;
}

function sameDir(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mode === b.mode && sameTime(a.mtimeMs, b.mtimeMs);
}

/** Docker's sameFsTime: equal seconds, and equal sub-seconds unless one side has none. */
function sameTime(a: number, b: number): boolean {
  if (Math.floor(a / 1000) !== Math.floor(b / 1000)) return false;
  return a === b || a % 1000 === 0 || b % 1000 === 0;
}
