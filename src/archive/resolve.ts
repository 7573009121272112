/**
 * Path resolution inside a root, the way a process chrooted into the root would see it:
 * symlinks are followed, an absolute target restarts at the root, `..` stops at the root.
 * Nothing resolved here can name a file outside the root, whatever the symlinks in the tree say
 * (the same contract as containerd's fs.RootPath and filepath-securejoin).
 *
 * Components that do not exist are taken literally, and resolution carries on after them, so
 * `missing/../link/x` still resolves `link` inside the root rather than handing the kernel a
 * path that would follow it out.
 */
import { promises as fs } from 'node:fs';
import { invalidArgument } from '../errdefs/index.ts';
import { absOf } from './names.ts';

const MAX_LINKS = 255;

interface Walked {
  /** Real path relative to the root: every existing component is a directory, not a symlink. */
  parts: string[];
  /** Index in `parts` of the first component that does not exist (`parts.length` if all do). */
  missingFrom: number;
}

/**
 * Walks `rel` from `root`. The last component is followed when it is a symlink and
 * `followLast`; when `wantDir`, an existing last component must be a directory. Returns
 * undefined when a component that must be a directory is something else.
 * `dirs` caches real directory paths (relative to the root) already seen.
 */
async function walk(
  root: string,
  rel: string,
  followLast: boolean,
  wantDir: boolean,
  dirs?: Set<string>,
  before?: (real: string) => Promise<void> | undefined,
): Promise<Walked | undefined> {
  const pending = rel.split('/').reverse();
  let parts: string[] = [];
  let path = '';
  let missingFrom = -1;
  let links = 0;
  const isLast = () => {
    for (const p of pending) if (p !== '' && p !== '.') return false;
    return true;
  };
  while (pending.length) {
    const c = pending.pop()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      parts.pop();
      path = parts.join('/');
      if (missingFrom >= parts.length) missingFrom = -1;
      continue;
    }
    const candidate = path === '' ? c : `${path}/${c}`;
    if (missingFrom >= 0 || dirs?.has(candidate)) {
      parts.push(c);
      path = candidate;
      continue;
    }
    const waiting = before?.(candidate);
    if (waiting) await waiting;
    let st;
    try {
      st = await fs.lstat(absOf(root, candidate));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      missingFrom = parts.length;
      parts.push(c);
      path = candidate;
      continue;
    }
    if (st.isDirectory()) {
      dirs?.add(candidate);
      parts.push(c);
      path = candidate;
      continue;
    }
    const last = isLast();
    if (st.isSymbolicLink() && (followLast || !last)) {
      if (++links > MAX_LINKS) throw invalidArgument(`resolve "${rel}": too many levels of symbolic links`);
      const target = await fs.readlink(absOf(root, candidate));
      if (target.startsWith('/')) {
        parts = [];
        path = '';
      }
      const more = target.split('/');
      for (let i = more.length - 1; i >= 0; i--) pending.push(more[i]!);
      continue;
    }
    if (!last || wantDir) return undefined;
    parts.push(c);
    path = candidate;
  }
  return { parts, missingFrom: missingFrom < 0 ? parts.length : missingFrom };
}

/**
 * Resolves `rel` inside `root` (every symlink followed, the last one too) and returns the
 * absolute path, or undefined when a component that must be a directory is a file. Missing
 * components are kept as they are. Throws InvalidArgument on a symlink loop.
 *
 *     // root/etc -> /usr/etc, root/usr/etc/passwd exists
 *     await resolveInRoot(root, 'etc/passwd') === `${root}/usr/etc/passwd`
 */
export async function resolveInRoot(root: string, rel: string): Promise<string | undefined> {
  const w = await walk(root, rel, true, false);
  return w === undefined ? undefined : absOf(root, w.parts.join('/'));
}

/**
 * The directories of one root as an unpacker sees them: parent directories of entries are
 * resolved inside the root (symlinks followed as above) and created when missing, and the
 * answers are cached, because a layer names the same few hundred directories thousands of
 * times. Paths are relative to the root, `""` being the root.
 *
 * Lifecycle: one per unpack. The cache assumes nothing else changes the tree meanwhile;
 * whoever removes something from the tree calls `invalidate()`.
 */
export class RootDirs {
  readonly root: string;
  /** Real directories known to exist. */
  private readonly real = new Set<string>();
  /** Lexical path -> real directory, for paths that went through symlinks. */
  private readonly aliases = new Map<string, string>();
  private readonly before?: (real: string) => Promise<void> | undefined;

  /**
   * `before`, when given, is called with each path about to be looked at on disk; resolution
   * waits for the promise it returns (the unpacker finishes pending work on that path first).
   */
  constructor(root: string, before?: (real: string) => Promise<void> | undefined) {
    this.root = root;
    this.before = before;
  }

  /** Whether `rel` is a directory this resolver has seen or made (and nothing was removed since). */
  has(rel: string): boolean {
    return rel === '' || this.real.has(rel);
  }

  /**
   * The real path of the directory `rel`, created (mode 0755, owned by the caller) with its
   * missing parents. Throws InvalidArgument when a component is a file.
   */
  async ensure(rel: string): Promise<string> {
    if (rel === '' || this.real.has(rel)) return rel;
    const alias = this.aliases.get(rel);
    if (alias !== undefined) return alias;
    const w = await walk(this.root, rel, true, true, this.real, this.before);
    if (w === undefined) throw invalidArgument(`directory "${rel}": a component on the way is not a directory`);
    let path = w.parts.slice(0, w.missingFrom).join('/');
    for (let i = w.missingFrom; i < w.parts.length; i++) {
      path = path === '' ? w.parts[i]! : `${path}/${w.parts[i]}`;
      try {
        await fs.mkdir(absOf(this.root, path), 0o755);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const st = await fs.lstat(absOf(this.root, path));
        if (!st.isDirectory()) throw invalidArgument(`directory "${rel}": "${path}" is not a directory`);
      }
      this.real.add(path);
    }
    if (path !== rel) this.aliases.set(rel, path);
    return path;
  }

  /** The real path of the existing directory `rel`, or undefined when it does not exist or is not a directory. */
  async lookup(rel: string): Promise<string | undefined> {
    if (rel === '' || this.real.has(rel)) return rel;
    const alias = this.aliases.get(rel);
    if (alias !== undefined) return alias;
    const w = await walk(this.root, rel, true, true, this.real, this.before);
    if (w === undefined || w.missingFrom < w.parts.length) return undefined;
    const path = w.parts.join('/');
    if (path !== rel) this.aliases.set(rel, path);
    return path;
  }

  /** Records a directory the caller created itself. */
  addDir(rel: string): void {
    this.real.add(rel);
  }

  /** Forgets everything: something in the tree was removed or replaced. */
  invalidate(): void {
    this.real.clear();
    this.aliases.clear();
  }
}
