/**
 * A directory tree as a tar stream (for `docker export` and for making a layer from a
 * directory): sorted, so the same tree gives the same bytes; hardlinks kept as links;
 * devices and fifos as such; sockets skipped.
 */
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { pack as tarPack, type Header } from 'tar-stream';

type Headers = Partial<Header> & { name: string };

export interface PackOptions {
  /** Leave out paths (relative, no leading slash) for which this returns true. */
  exclude?: (rel: string) => boolean;
  /** Fixed mtime for every entry (reproducible layers). */
  mtime?: Date;
}

export function tarDirectory(root: string, opts: PackOptions & { host?: unknown } = {}): Readable {
  const p = tarPack();
  const seen = new Map<string, string>();
  (async () => {
    await walk(root, '', p, seen, opts);
    p.finalize();
  })().catch((e) => p.destroy(e));
  return Readable.from(p as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

function major(rdev: number): number {
  return Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
}
function minor(rdev: number): number {
  return Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);
}

async function walk(root: string, rel: string, p: ReturnType<typeof tarPack>, seen: Map<string, string>, opts: PackOptions): Promise<void> {
  const dir = join(root, rel);
  const names = (await fs.readdir(dir)).sort();
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name;
    if (opts.exclude?.(childRel)) continue;
    const full = join(root, childRel);
    const st = await fs.lstat(full);
    const header = baseHeader(childRel, st, opts);
    if (st.isDirectory()) {
      await entry(p, { ...header, name: `${childRel}/`, type: 'directory' });
      await walk(root, childRel, p, seen, opts);
    } else if (st.isSymbolicLink()) {
      await entry(p, { ...header, type: 'symlink', linkname: await fs.readlink(full) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seen.get(key) : undefined;
      if (first) {
        await entry(p, { ...header, type: 'link', linkname: first, size: 0 });
        continue;
      }
      if (st.nlink > 1) seen.set(key, childRel);
      const w = p.entry({ ...header, type: 'file', size: st.size });
      await pipeline(createReadStream(full), w as unknown as NodeJS.WritableStream);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await entry(p, { ...header, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) });
    } else if (st.isFIFO()) {
      await entry(p, { ...header, type: 'fifo' });
    }
  }
}

function baseHeader(name: string, st: Stats, opts: PackOptions): Headers {
  return { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: opts.mtime ?? st.mtime, size: 0 };
}

function entry(p: ReturnType<typeof tarPack>, h: Headers): Promise<void> {
  return new Promise((resolve, reject) => p.entry(h, (err) => (err ? reject(err) : resolve())));
}
