/**
 * One berth-registry per root: a lock file `<root>/berth-registry.lock` holding the owner's
 * pid. Without it, a second server on the same root empties the first one's `ingest/` at open
 * (and a future garbage collector would sweep under a live server).
 *
 * Lifecycle: `acquireRootLock(root)` before opening the storage; `release()` at shutdown. A
 * lock left by a process that no longer exists (kill -9, power loss) is taken over; one held
 * by a live process is refused with its pid. A pid reused by an unrelated process after a crash
 * makes the lock look held: the message names the file, so an operator can remove it.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

export const ROOT_LOCK_FILE = 'berth-registry.lock';

export interface RootLock {
  readonly path: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireRootLock(root: string, pid = process.pid): Promise<RootLock> {
  await fs.mkdir(root, { recursive: true });
  const path = join(root, ROOT_LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // wx: created only if absent, so two starting servers cannot both win.
      await fs.writeFile(path, `${pid}\n`, { flag: 'wx' });
      return {
        path,
        async release() {
          const held = await fs.readFile(path, 'utf8').catch(() => '');
          if (held.trim() === String(pid)) await fs.rm(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number((await fs.readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== pid && alive(owner)) {
      throw new Error(`registry root "${root}" is in use by process ${owner} (lock file "${path}")`);
    }
    // Stale (its process is gone) or unreadable: remove it and try the exclusive create again.
    await fs.rm(path, { force: true });
  }
  throw new Error(`registry root "${root}": could not take lock file "${path}"`);
}
