import { promises as fs } from 'node:fs';
import { posix, join } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';

const MAX_LINKS = 255;

/**
 * Resolves `rel` inside `root`, following symlinks as if `root` were `/` (an absolute target
 * restarts at the root, `..` stops at it), the way a process chrooted into `root` would see it.
 * Components that do not exist yet are appended as they are. Returns undefined when a
 * component that must be a directory is a file.
 */
export async function resolveInRoot(root: string, rel: string): Promise<string | undefined> {
  const pending = rel.split('/').filter((c) => c && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const c = pending.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    const here = join(root, ...done, c);
    const st = await fs.lstat(here).catch(() => undefined);
    if (!st) {
      done.push(c, ...pending.filter((x) => x && x !== '.'));
      return normaliseInside(root, done);
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw invalidArgument(`resolve "${rel}": too many levels of symbolic links`);
      const target = await fs.readlink(here);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((x) => x && x !== '.'));
      continue;
    }
    if (!st.isDirectory()) {
      // A file is fine as the last component, never as a directory on the way.
      if (pending.length) return undefined;
      done.push(c);
      break;
    }
    done.push(c);
  }
  return join(root, ...done);
}

function normaliseInside(root: string, parts: string[]): string {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') out.pop();
    else out.push(p);
  }
  return join(root, ...out);
}

export function isInside(root: string, p: string): boolean {
  const rel = posix.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !posix.isAbsolute(rel));
}
