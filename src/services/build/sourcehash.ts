/**
 * The source digest a COPY/ADD history line carries ("COPY file:<hex> in /app"), computed as
 * dockerd's legacy builder computes it, so one context gives the same line under both engines:
 * `docker history` reads alike, and an image dockerd built can stand for Berth's steps through
 * --cache-from (which compares history lines).
 *
 * dockerd hashes each path with a tarsum-v1-style header — the words name, mode, uid, gid,
 * size, typeflag, linkname, uname, gname, devmajor, devminor, each followed by its value, no
 * separators, mtime left out, user and group names empty — then a regular file's bytes. Paths
 * are named relative to the source root after following symlinks inside it (a symlink hashes as
 * its target, named by the target's path), directories with a trailing slash. A directory is
 * the sorted hashes of itself (unless it is the root) and everything under it, joined by
 * commas and hashed; several sources are their "file:"/"dir:" words joined the same way.
 *
 *     // a context holding f.txt ("file\n", mode 0644, root's)
 *     await dockerSourceDigest(ctx, [{ rel: 'f.txt', abs: `${ctx}/f.txt`, isDir: false }])
 *       === 'file:fccd022b5850b74becb1ac249b1fb9e240ecc413b554d71985caeba8f2aca2f3'
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { resolveInRoot } from '../../archive/index.ts';
import { deviceNumbers } from '../../oci/index.ts';
import type { Source } from './copy.ts';

/** "file:<hex>", "dir:<hex>" for one source, "multi:<hex>" for several. */
export async function dockerSourceDigest(root: string, sources: readonly Source[]): Promise<string> {
  const words: string[] = [];
  for (const s of sources)
    words.push(s.isDir ? `dir:${await dirHash(root, s.abs)}` : `file:${await pathHash(root, s.abs)}`);
  if (words.length === 1) return words[0]!;
  return `multi:${sha256(words.join(','))}`;
}

/** A directory's hash: itself (unless it is the root) and every path beneath it, sorted. */
async function dirHash(root: string, dir: string): Promise<string> {
  const sums: string[] = [];
  if (relative(root, dir) !== '') sums.push(await pathHash(root, dir));
  const walk = async (d: string): Promise<void> => {
    for (const name of (await fs.readdir(d)).sort()) {
      const p = join(d, name);
      sums.push(await pathHash(root, p));
      // the walk does not follow symlinks (a symlink's hash is its target's, named as the target)
      if ((await fs.lstat(p)).isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return sha256(sums.sort().join(','));
}

/** One path's hash, after following symlinks inside the root (a dangling one hashes as itself). */
async function pathHash(root: string, path: string): Promise<string> {
  const lexical = relative(root, path);
  const real = (await resolveInRoot(root, lexical).catch(() => undefined)) ?? path;
  let at = real;
  let st = await fs.lstat(real).catch(() => undefined);
  if (!st) {
    at = path;
    st = await fs.lstat(path);
  }
  const h = createHash('sha256');
  writeHeader(h, relative(root, at), st, st.isSymbolicLink() ? await fs.readlink(at) : '');
  if (st.isFile() && st.size > 0) for await (const chunk of createReadStream(at)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function writeHeader(h: Hash, name: string, st: Stats, link: string): void {
  const type = st.isFile()
    ? '0'
    : st.isDirectory()
      ? '5'
      : st.isSymbolicLink()
        ? '2'
        : st.isCharacterDevice()
          ? '3'
          : st.isBlockDevice()
            ? '4'
            : st.isFIFO()
              ? '6'
              : '0';
  const device = type === '3' || type === '4';
  const { major, minor } = device ? deviceNumbers(BigInt(st.rdev)) : { major: 0, minor: 0 };
  const fields: Array<[string, string | number]> = [
    ['name', st.isDirectory() ? `${name}/` : name],
    // permission bits with setuid, setgid and sticky, as Go's tar header has them
    ['mode', st.mode & 0o7777],
    ['uid', st.uid],
    ['gid', st.gid],
    ['size', st.isFile() ? st.size : 0],
    ['typeflag', type],
    ['linkname', link],
    ['uname', ''],
    ['gname', ''],
    ['devmajor', major],
    ['devminor', minor],
  ];
  for (const [k, v] of fields) h.update(`${k}${v}`);
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
