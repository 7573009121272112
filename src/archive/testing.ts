/**
 * Archives made and read in memory, for tests that craft layers, hostile ones included, and
 * check what a packer wrote. e2e tests feed the same archives to the daemon.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack, type Header } from 'tar-stream';

export interface TarEntry {
  name: string;
  type?: 'file' | 'symlink' | 'link' | 'directory' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records, e.g. `{ 'SCHILY.xattr.user.note': 'hi' }` (written as UTF-8 text). */
  pax?: Record<string, string>;
}

/** An uncompressed tar of `entries`, in order, exactly as given (no cleaning of names). */
export async function makeTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack();
  const out = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) =>
      p.entry(
        {
          name: e.name,
          type,
          linkname: e.linkname,
          mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          mtime: e.mtime ?? new Date(0),
          devmajor: e.devmajor,
          devminor: e.devminor,
          pax: e.pax,
        },
        body,
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  p.finalize();
  return out;
}

/** Every entry of a tar, in order, with its data. */
export async function readTarEntries(src: AsyncIterable<Buffer> | Buffer): Promise<Array<Header & { data: Buffer }>> {
  const ex = extract();
  const out: Array<Header & { data: Buffer }> = [];
  const collecting = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      out.push({ ...e.header, data: Buffer.concat(chunks) });
    }
  })();
  await pipeline(Readable.from(Buffer.isBuffer(src) ? [src] : src), ex);
  await collecting;
  return out;
}
