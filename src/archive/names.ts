/**
 * Entry names and the OCI whiteout vocabulary (image-spec layer.md).
 *
 * Entry names in a layer are relative to the root of the file system they describe. They are
 * cleaned lexically before anything touches the disk: a leading `/` is dropped (as GNU tar and
 * Docker do), `.` and `a/..` collapse, and a name that still climbs above the root is refused.
 */
import { posix } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';

/** `.wh.<name>` in a layer deletes `<name>` of the layers below. */
export const WHITEOUT_PREFIX = '.wh.';
/** `.wh..wh..opq` in a directory hides everything the layers below have in it. */
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
/** Top-level `.wh..wh.*` entries are AUFS bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`): skipped. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
/** The xattr overlayfs reads to treat a directory as opaque. */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
/** A file's capabilities (setcap), kept in layers and exports. */
export const CAPABILITY_XATTR = 'security.capability';

/**
 * Cleans an entry name to a path relative to the root: no leading or trailing slash, no `.`
 * or `..` components, `""` for the root itself. Refuses a name that escapes the root or that no
 * file system can hold (a NUL byte).
 *
 *     cleanEntryName('./usr//bin/') === 'usr/bin'
 *     cleanEntryName('/etc/passwd') === 'etc/passwd'
 *     cleanEntryName('../x')        // throws InvalidArgument
 */
export function cleanEntryName(name: string, what = 'apply layer'): string {
  if (name.includes('\0')) throw invalidArgument(`${what}: entry ${JSON.stringify(name)} has a NUL byte in its name`);
  const lexical = posix.normalize(name.replace(/^\/+/, '') || '.');
  if (lexical === '..' || lexical.startsWith('../')) throw invalidArgument(`${what}: entry "${name}" escapes the root`);
  if (lexical === '.' || lexical === './') return '';
  return lexical.endsWith('/') ? lexical.slice(0, -1) : lexical;
}

/**
 * Cleans the target of a hardlink entry. Hardlink targets name another entry of the archive,
 * so they follow the entry-name rules; a target that climbs above the root or names the root
 * itself is refused (containerd refuses hardlink breakouts too).
 */
export function cleanLinkTarget(entry: string, linkname: string, what = 'apply layer'): string {
  let rel: string;
  try {
    rel = cleanEntryName(linkname, what);
  } catch {
    throw invalidArgument(`${what}: hardlink "${entry}" to "${linkname}" escapes the root`);
  }
  if (rel === '') throw invalidArgument(`${what}: hardlink "${entry}" to "${linkname}" points at the root`);
  return rel;
}

/** Whether `p` is `root` or below it, lexically. Both must be absolute and clean. */
export function isInside(root: string, p: string): boolean {
  const rel = posix.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !posix.isAbsolute(rel));
}

/** Splits a clean relative path into its parent (`""` for the root) and its last component. */
export function splitRel(rel: string): [parent: string, base: string] {
  const i = rel.lastIndexOf('/');
  return i < 0 ? ['', rel] : [rel.slice(0, i), rel.slice(i + 1)];
}

export function joinRel(parent: string, base: string): string {
  return parent === '' ? base : `${parent}/${base}`;
}

/** The absolute path of a clean relative path under `root`. */
export function absOf(root: string, rel: string): string {
  return rel === '' ? root : root.endsWith('/') ? root + rel : `${root}/${rel}`;
}
