/**
 * One berth-registry per root: a lock file `<root>/berth-registry.lock` holding the owner's
 * pid. Without it, a second server on the same root empties the first one's `ingest/` at open
 * (and a future garbage collector would sweep under a live server).
 *
 * Lifecycle: `acquireRootLock(root)` before opening the storage; `release()` at shutdown. A
 * lock left by a process that no longer exists (kill -9, power loss) is taken over; one held
 * by a live process is refused with its pid. A pid reused by an unrelated process after a crash
 * makes the lock look held: the message names the file, so an operator can remove it.
 *
 * A server in read-only mode (`storage.maintenance.readonly`) says so in its lock file
 * (`<pid> readonly`): `garbage-collect` runs beside such a server, which writes nothing, and
 * nowhere else; while it runs it holds `gc.lock`, which a starting server respects.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

export const ROOT_LOCK_FILE = 'berth-registry.lock';
export const GC_LOCK_FILE = 'gc.lock';

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

/** The live process holding a lock file and what it wrote after its pid; undefined when none. */
async function holder(path: string, pid: number): Promise<{ pid: number; mode: string } | undefined> {
  const [p, mode = ''] = (await fs.readFile(path, 'utf8').catch(() => '')).trim().split(/\s+/);
  const owner = Number(p);
  if (Number.isInteger(owner) && owner > 0 && owner !== pid && alive(owner)) return { pid: owner, mode };
  return undefined;
}

/** Creates `path` holding `content` if it is free or stale; calls `refuse` with a live holder. */
async function takeLock(
  path: string,
  pid: number,
  content: string,
  refuse: (h: { pid: number; mode: string }) => Error,
): Promise<RootLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // wx: created only if absent, so two starting processes cannot both win.
      await fs.writeFile(path, content, { flag: 'wx' });
      return {
        path,
        async release() {
          const held = await fs.readFile(path, 'utf8').catch(() => '');
          if (held.trim().split(/\s+/)[0] === String(pid)) await fs.rm(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const h = await holder(path, pid);
    if (h) throw refuse(h);
    // Stale (its process is gone) or unreadable: remove it and try the exclusive create again.
    await fs.rm(path, { force: true });
  }
  throw new Error(`could not take lock file "${path}"`);
}

export async function acquireRootLock(
  root: string,
  pid = process.pid,
  o: { readOnly?: boolean } = {},
): Promise<RootLock> {
  await fs.mkdir(root, { recursive: true });
  const gc = await holder(join(root, GC_LOCK_FILE), pid);
  if (gc) throw new Error(`registry root "${root}": a garbage collection is running (process ${gc.pid})`);
  const path = join(root, ROOT_LOCK_FILE);
  return takeLock(
    path,
    pid,
    `${pid}${o.readOnly ? ' readonly' : ''}\n`,
    (h) => new Error(`registry root "${root}" is in use by process ${h.pid} (lock file "${path}")`),
  );
}

/**
 * The locks a garbage collection needs: the root's own when no server runs, or `gc.lock`
 * beside a server in read-only mode. A server that accepts writes is refused: a push racing
 * the sweep could lose a blob it was told the registry has.
 */
export async function acquireGcLock(root: string, pid = process.pid): Promise<RootLock> {
  await fs.mkdir(root, { recursive: true });
  const gcPath = join(root, GC_LOCK_FILE);
  const gc = await takeLock(
    gcPath,
    pid,
    `${pid}\n`,
    (h) => new Error(`registry root "${root}": another garbage collection is running (process ${h.pid})`),
  );
  const server = await holder(join(root, ROOT_LOCK_FILE), pid);
  if (server?.mode === 'readonly') return gc;
  try {
    if (server) throw new Error('held');
    const own = await acquireRootLock(root, pid).catch(() => {
      throw new Error('held');
    });
    return {
      path: own.path,
      async release() {
        await own.release();
        await gc.release();
      },
    };
  } catch {
    await gc.release();
    const h = server ?? (await holder(join(root, ROOT_LOCK_FILE), pid));
    throw new Error(
      `registry root "${root}" is in use by berth-registry (process ${h?.pid ?? '?'}), which accepts writes: ` +
        'stop it, or restart it with storage.maintenance.readonly.enabled: true, before collecting garbage',
    );
  }
}
