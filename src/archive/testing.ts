import { pack } from 'tar-stream';

/** One entry of a tar made in memory: for tests that craft archives, hostile ones included. */
export interface TarEntry {
  name: string;
  type?: 'file' | 'symlink' | 'link' | 'directory';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

export async function makeTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack();
  const out = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const e of entries) {
    const body = Buffer.from(e.content ?? '');
    await new Promise<void>((resolve, reject) =>
      p.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? new Date(0) }, body, (err) => (err ? reject(err) : resolve())),
    );
  }
  p.finalize();
  return out;
}
