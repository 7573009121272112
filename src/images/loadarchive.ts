/**
 * A `docker load` archive read without trusting it (load.ts plans and stores what is in it):
 * entry names are never used as paths on disk — every regular file is streamed into a scratch
 * file named by a counter, while its digest is computed, and a map from archive name to scratch
 * file is all that is kept. Names that are absolute or contain `..` are refused; symlinks and
 * hardlinks are resolved inside that map only, and a link leaving the archive (an absolute
 * target, `..` above the top) is refused. The archive's size, its number of entries and the
 * JSON read from it are capped.
 *
 * @example
 *   const index = await readArchive(tarStream, scratchDir, { maxBytes: 1 << 30, maxEntries: 10_000 });
 *   const manifest = JSON.parse((await index.read(index.lookup('manifest.json'), 'manifest.json')).toString());
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import { BerthError, invalidArgument, messageOf } from '../errdefs/index.ts';
import { decompressed } from '../archive/index.ts';
import type { Digest } from '../spec/index.ts';

const MAX_JSON_TOTAL_BYTES = 256 * 1024 * 1024;
const MAX_LINK_HOPS = 40;

type Node =
  | { kind: 'file'; file: string; size: number; digest: Digest }
  | { kind: 'symlink'; target: string }
  | { kind: 'hardlink'; target: string }
  | { kind: 'dir' };

export type FileNode = Extract<Node, { kind: 'file' }>;

/** Splits an archive entry name into clean components; refuses absolute names and `..`. */
function entryComponents(name: string): string[] {
  if (name.includes('\0')) throw invalidArgument(`load: entry ${JSON.stringify(name)} has a NUL byte in its name`);
  if (name.startsWith('/'))
    throw invalidArgument(`load: entry "${name}" has an absolute path: archive entries must be relative`);
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..')
      throw invalidArgument(`load: entry "${name}" contains "..": archive entries must stay inside the archive`);
    parts.push(c);
  }
  return parts;
}

/** The archive's entries by clean name, with link resolution confined to the archive. */
export class ArchiveIndex {
  private readonly nodes = new Map<string, Node>();
  /** Documents read so far, by scratch file: many manifest entries may name one config. */
  private readonly cache = new Map<string, Buffer>();
  private readBytes = 0;

  /**
   * A small file's bytes, from a budget shared by the whole archive, so a manifest of a
   * million entries naming a million configs cannot exhaust memory.
   */
  async read(f: FileNode, name: string): Promise<Buffer> {
    const hit = this.cache.get(f.file);
    if (hit) return hit;
    if (this.readBytes + f.size > MAX_JSON_TOTAL_BYTES)
      throw invalidArgument(`load: the archive's JSON documents exceed ${MAX_JSON_TOTAL_BYTES} bytes (at "${name}")`);
    this.readBytes += f.size;
    const bytes = await fs.readFile(f.file);
    this.cache.set(f.file, bytes);
    return bytes;
  }

  set(name: string, node: Node): void {
    this.nodes.set(name, node);
  }

  has(name: string): boolean {
    try {
      this.lookup(name);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The regular file `name` names, following symlinks (in any component) and hardlinks the way
   * a chrooted reader would, but refusing to leave the archive instead of clamping at its top.
   */
  lookup(name: string): FileNode {
    let hops = 0;
    const resolve = (path: string): FileNode => {
      const todo = path.split('/').filter((c) => c !== '' && c !== '.');
      const done: string[] = [];
      while (todo.length) {
        const c = todo.shift()!;
        if (c === '..') {
          if (!done.length) throw invalidArgument(`load: "${name}" resolves outside the archive`);
          done.pop();
          continue;
        }
        done.push(c);
        const here = done.join('/');
        const node = this.nodes.get(here);
        if (!node) {
          if (todo.length) continue; // an implicit directory
          throw invalidArgument(`load: the archive has no file "${name}"`);
        }
        if (node.kind === 'symlink') {
          if (++hops > MAX_LINK_HOPS) throw invalidArgument(`load: too many levels of links resolving "${name}"`);
          if (node.target.startsWith('/'))
            throw invalidArgument(
              `load: "${here}" is a symlink to the absolute path "${node.target}", outside the archive`,
            );
          done.pop();
          todo.unshift(...node.target.split('/').filter((x) => x !== '' && x !== '.'));
          continue;
        }
        if (node.kind === 'hardlink') {
          if (++hops > MAX_LINK_HOPS) throw invalidArgument(`load: too many levels of links resolving "${name}"`);
          done.length = 0;
          todo.unshift(...node.target.split('/'));
          continue;
        }
        if (node.kind === 'file') {
          if (todo.length)
            throw invalidArgument(`load: the archive has no file "${name}" ("${here}" is not a directory)`);
          return node;
        }
      }
      throw invalidArgument(`load: "${name}" is a directory, not a file`);
    };
    return resolve(name);
  }
}

/**
 * Reads the whole archive into `work`: one scratch file per regular entry, named by a counter.
 * Returns the name map. Nothing else is written.
 */
export async function readArchive(
  source: Readable,
  work: string,
  caps: { maxBytes: number; maxEntries: number },
): Promise<ArchiveIndex> {
  const index = new ArchiveIndex();
  const plain = decompressed(source, caps.maxBytes);
  const ex = tarExtract();
  let count = 0;
  let files = 0;
  const consume = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      if (++count > caps.maxEntries)
        throw invalidArgument(`load: the archive has more than ${caps.maxEntries} entries`);
      const parts = entryComponents(h.name);
      const name = parts.join('/');
      if (!name) {
        entry.resume();
        continue;
      }
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const file = join(work, String(files++));
        const hash = createHash('sha256');
        let size = 0;
        const fh = await fs.open(file, 'wx', 0o600);
        try {
          for await (const chunk of entry as AsyncIterable<Buffer>) {
            hash.update(chunk);
            size += chunk.length;
            await fh.write(chunk);
          }
        } finally {
          await fh.close();
        }
        index.set(name, { kind: 'file', file, size, digest: `sha256:${hash.digest('hex')}` });
        continue;
      }
      if (h.type === 'symlink') index.set(name, { kind: 'symlink', target: h.linkname ?? '' });
      else if (h.type === 'link')
        index.set(name, { kind: 'hardlink', target: entryComponents(h.linkname ?? '').join('/') });
      else if (h.type === 'directory') index.set(name, { kind: 'dir' });
      // Devices, fifos and the like mean nothing in an image archive: skipped.
      entry.resume();
    }
  })();
  const feed = new Promise<void>((resolve, reject) => {
    plain.on('error', reject);
    ex.on('error', reject);
    ex.on('finish', () => resolve());
    plain.pipe(ex as unknown as NodeJS.WritableStream);
  });
  try {
    await Promise.all([feed, consume]);
  } catch (e) {
    plain.destroy();
    ex.destroy();
    await consume.catch(() => {});
    if (e instanceof BerthError) throw e;
    throw invalidArgument(`load: the archive is not a valid tar: ${messageOf(e)}`, e);
  }
  return index;
}
