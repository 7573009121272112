/**
 * How many bytes a directory's files hold, the way moby's `directory.Size` counts them: every
 * non-directory once per inode, so a file with several hard links counts once; a symbolic link
 * by the length of its target's name; directories themselves and overlay whiteouts (0/0
 * character devices) nothing. One count for every size Berth reports — a layer's, a
 * container's writable layer (`ps --size`, `system df`, prune's reclaimed space) and a
 * volume's — so that they agree.
 *
 * Files may come and go while it walks (a running container writes): an entry that vanishes,
 * or a directory that is not there at all, counts nothing; any other error is thrown.
 *
 * @example
 *   const bytes = await directorySize('/var/lib/berth/containers/<id>/upper');
 */
import { promises as fs, type Dirent } from 'node:fs';
import { join } from 'node:path';

export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const pending = [dir];
  while (pending.length) {
    const d = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch (e) {
      if (gone(e)) continue;
      throw e;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        pending.push(p);
        continue;
      }
      let st;
      try {
        st = await fs.lstat(p);
      } catch (err) {
        if (gone(err)) continue;
        throw err;
      }
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  }
  return total;
}

function gone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
