/**
 * What the image store takes on disk, as the CRI's ImageFsInfo reports it (kubelet's image
 * garbage collection and eviction read it): the bytes allocated and the inodes used under the
 * unpacked layers and the content blobs. Counted as `du` does — allocated blocks, each inode
 * once — by walking the trees, which is too slow to do on every call of a kubelet that asks
 * every few seconds: a result is kept for `maxAgeMs`, and calls during a walk share it.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

export interface FsUsage {
  /** When the walk finished (ms since the epoch). */
  timestamp: number;
  usedBytes: number;
  inodesUsed: number;
}

/** Walks `dirs` (missing ones count nothing). */
export async function walkUsage(dirs: readonly string[]): Promise<FsUsage> {
  const seen = new Set<string>();
  let usedBytes = 0;
  let inodesUsed = 0;
  const pending = [...dirs];
  while (pending.length) {
    const p = pending.pop()!;
    let st;
    try {
      st = await fs.lstat(p);
    } catch {
      // Removed while we walked (a pull cleaning up, a layer pruned): it no longer counts.
      continue;
    }
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inodesUsed++;
    usedBytes += st.blocks * 512;
    if (st.isDirectory()) {
      try {
        for (const name of await fs.readdir(p)) pending.push(join(p, name));
      } catch {
        // as above
      }
    }
  }
  return { timestamp: Date.now(), usedBytes, inodesUsed };
}

/** `walkUsage` of fixed directories, remembered for a while. */
export class UsageCache {
  private last?: FsUsage;
  private running?: Promise<FsUsage>;
  private readonly dirs: readonly string[];
  private readonly maxAgeMs: number;

  constructor(dirs: readonly string[], maxAgeMs = 10_000) {
    this.dirs = dirs;
    this.maxAgeMs = maxAgeMs;
  }

  get(now = Date.now()): Promise<FsUsage> {
    if (this.last && now - this.last.timestamp < this.maxAgeMs) return Promise.resolve(this.last);
    this.running ??= walkUsage(this.dirs)
      .then((u) => (this.last = u))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
