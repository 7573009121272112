/**
 * `docker diff`: what a container changed, read from its overlay upperdir and compared with
 * the image's layers, with Docker's rules (moby pkg/archive changes.go):
 *
 * - a whiteout (0/0 character device) is a deletion of its path;
 * - anything else is Added, or Modified when a lower layer has the path, except a directory
 *   whose size, mode and mtime equal the lower one's (present only because something below it
 *   changed, so not reported itself);
 * - a directory deleted and made anew (overlay marks it opaque: the layers below no longer
 *   show through) is compared with the image's as any other, and each entry the image has in
 *   it that the new one lacks is a deletion — in it and in its subdirectories that the image
 *   also has. That is what dockerd prints on kernels with overlay's redirect_dir (Debian's,
 *   Ubuntu's), where it compares the container's tree with the image's (moby's naive diff,
 *   FileInfo.addChanges); on others its OverlayChanges prints `D <dir>` and the new entries,
 *   and Berth did the same;
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
  const xattrs = dirs.length ? await readXattrsOf(host, upper, dirs, [OVERLAY_OPAQUE_XATTR], true) : new Map();
  /** The names each directory of the upper holds (whiteouts too: those are reported as deletions themselves). */
  const held = new Map<string, Set<string>>();
  for (const { rel } of entries) {
    const parent = posix.dirname(rel);
    const key = parent === '.' ? '' : parent;
    held.set(key, (held.get(key) ?? new Set()).add(posix.basename(rel)));
  }
  /** Directories made anew (opaque) and those beneath them: the image's entries do not show through. */
  const replaced = new Set<string>();
  const out: Change[] = [];
  const changedDirs = new Set<string>();
  const record = (path: string, kind: ChangeKind) => {
    if (kind !== ChangeKind.Modified) {
      const parent = posix.dirname(path);
      if (parent !== '/' && !changedDirs.has(parent)) {
        out.push({ path: parent, kind: ChangeKind.Modified });
        changedDirs.add(parent);
      }
    }
    out.push({ path, kind });
  };
  for (const { rel, st } of entries) {
    const path = `/${rel}`;
    if (st.isCharacterDevice() && st.rdev === 0) {
      record(path, ChangeKind.Deleted);
      continue;
    }
    const lower = await lowerStat(lowerDirs, rel);
    const dir = st.isDirectory();
    const parent = posix.dirname(rel);
    if (
      dir &&
      (xattrs.get(rel)?.get(OVERLAY_OPAQUE_XATTR)?.toString('latin1') === 'y' ||
        replaced.has(parent === '.' ? '' : parent))
    )
      replaced.add(rel);
    // A directory like the image's is there only for what changed beneath it: reported (as its
    // parent) if something is.
    const same = !!lower && lower.isDirectory() && dir && sameDir(st, lower);
    if (!same) {
      if (dir) changedDirs.add(path);
      record(path, lower ? ChangeKind.Modified : ChangeKind.Added);
    }
    if (!replaced.has(rel) || !lower?.isDirectory()) continue;
    // What the image had here and the new directory lacks.
    const has = held.get(rel);
    for (const name of await lowerNames(lowerDirs, rel, host))
      if (!has?.has(name)) record(posix.join(path, name), ChangeKind.Deleted);
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

/**
 * The names the image shows in its directory `rel`: the lower layers' entries from the
 * topmost down, less those a higher layer deleted (a 0/0 character device), down to a layer
 * where `rel` is no directory or an opaque one (the layers beneath do not show through it).
 */
async function lowerNames(lowerDirs: readonly string[], rel: string, host: Runner): Promise<string[]> {
  const layers: string[] = [];
  for (const dir of lowerDirs) {
    const st = await fs.lstat(absOf(dir, rel)).catch(() => undefined);
    if (!st) continue;
    if (!st.isDirectory()) break;
    layers.push(dir);
  }
  // One request for the flags of them all (root "/": the paths are absolute).
  const rels = layers.map((dir) => absOf(dir, rel).slice(1));
  const flags = await readXattrsOf(host, '/', rels, [OVERLAY_OPAQUE_XATTR], true);
  const seen = new Set<string>();
  const shown: string[] = [];
  for (const [k, dir] of layers.entries()) {
    for (const e of await fs.readdir(absOf(dir, rel), { withFileTypes: true })) {
      if (seen.has(e.name)) continue;
      seen.add(e.name);
      if (e.isCharacterDevice() && (await fs.lstat(absOf(dir, posix.join(rel, e.name)))).rdev === 0) continue;
      shown.push(e.name);
    }
    if (flags.get(rels[k]!)?.get(OVERLAY_OPAQUE_XATTR)?.toString('latin1') === 'y') break;
  }
  return shown.sort();
}

function sameDir(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mode === b.mode && sameTime(a.mtimeMs, b.mtimeMs);
}

/** Docker's sameFsTime: equal seconds, and equal sub-seconds unless one side has none. */
function sameTime(a: number, b: number): boolean {
  if (Math.floor(a / 1000) !== Math.floor(b / 1000)) return false;
  return a === b || a % 1000 === 0 || b % 1000 === 0;
}
