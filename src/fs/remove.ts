/**
 * `rm -rf` and `rm -f` in fewer thread-pool round trips than Node's `fs.rm`, for the clean-up
 * after every container (its directory, crun's state directory, the monitor's files), which runs
 * on a warm `docker run`'s heels while the next CLI starts on the same two cores.
 *
 * Node's `fs.rm(path, { recursive, force })` lstats the path twice (once to check its options,
 * once in its rimraf), tries `rmdir` on a directory before reading it, and lstats each entry
 * before removing it: a container directory of ten entries took some 35 round trips, a single
 * file three. Here a file is one `unlink`; a directory one `readdir` (with the entries' types,
 * from the same getdents) and one removal per entry, an entry directory first tried by `rmdir`
 * (most are empty: the unmounted root, the overlay's upper and work) and read only if not.
 * Symbolic links are removed, never followed: an entry's type comes from its directory entry,
 * and the top path is tried by rmdir first. What is already gone counts as removed.
 *
 * @example
 *   await removeTree(containerDir); // as fs.rm(containerDir, { recursive: true, force: true })
 *   await removeFile(join(bundle, 'pidfile')); // as fs.rm(path, { force: true })
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/**
 * Removes `path` and, if it is a directory, all it holds; nothing if it is not there. Tried by
 * `rmdir` first, as every directory here: a file or a link answers ENOTDIR and is unlinked (a
 * link is never followed), a mount point EBUSY — never descended into, as Node's rimraf would
 * not — and only a directory with entries is read.
 */
export async function removeTree(path: string): Promise<void> {
  await removeEntryDirectory(path);
}

/** Removes `path`, which is no directory (else it goes as one, with what it holds); nothing if it is not there. */
export async function removeFile(path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (e) {
    if (code(e) === 'ENOENT') return;
    // A directory (replaced meanwhile, say): Linux answers EISDIR. Any other refusal (EPERM
    // of an immutable file) is the caller's, as fs.rm's would be.
    if (code(e) !== 'EISDIR') throw e;
    await removeDirectory(path);
  }
}

/** Removes the directory `path` with what it holds. */
async function removeDirectory(path: string): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(path, { withFileTypes: true });
  } catch (e) {
    if (code(e) === 'ENOENT') return;
    // A file by now (the caller saw a directory): it goes as one — by one unlink, so that no
    // path goes back and forth between the two (removeFile comes here on EISDIR).
    if (code(e) === 'ENOTDIR') return unlinkOnce(path);
    throw e;
  }
  // All settle before a refusal is reported: nothing is removed after the caller saw it.
  const done = await Promise.allSettled(
    entries.map((d) => {
      const p = join(path, d.name);
      return d.isDirectory() ? removeEntryDirectory(p) : removeFile(p);
    }),
  );
  for (const r of done) if (r.status === 'rejected') throw r.reason;
  await fs.rmdir(path).catch((e: unknown) => {
    if (code(e) !== 'ENOENT') throw e;
  });
}

/** A directory (most are empty: the unmounted root, upper, work), so rmdir first, and read it only if it is not. */
async function removeEntryDirectory(path: string): Promise<void> {
  try {
    await fs.rmdir(path);
  } catch (e) {
    const c = code(e);
    if (c === 'ENOENT') return;
    if (c === 'ENOTDIR') return unlinkOnce(path);
    // A mount point answers EBUSY before its content is looked at: it is never descended into.
    if (c !== 'ENOTEMPTY' && c !== 'EEXIST') throw e;
    await removeDirectory(path);
  }
}

/** One unlink, what is gone counting as removed. */
async function unlinkOnce(path: string): Promise<void> {
  await fs.unlink(path).catch((e: unknown) => {
    if (code(e) !== 'ENOENT') throw e;
  });
}
