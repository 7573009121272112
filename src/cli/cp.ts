/**
 * `cp`: copies between a container and the local filesystem through the archive endpoints,
 * with docker's destination rules (into an existing directory, onto an existing file, or as a
 * new path named after the destination; `SRC/.` copies a directory's contents).
 */
import { existsSync, lstatSync, statSync } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { extractTar, packPath } from '../archive/index.ts';
import { isNotFound, type PathStat } from '../client/index.ts';
import { type Cli, type Command, StatusError } from './cli.ts';
import { humanSize } from './format.ts';
import { goClean } from '../archive/index.ts';

const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;

/** `container:path` or a local path (a `:` after a `/` or a leading `.`/`/` makes it local). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const i = arg.indexOf(':');
  if (i <= 0) return { path: arg };
  const slash = arg.indexOf('/');
  if (slash >= 0 && slash < i) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

/** SplitPathDirEntry: "/a/b/." → ["/a/b", "."], "/a/b/" → ["/a", "b"]. */
export function splitDirEntry(p: string): [string, string] {
  const current = p.endsWith('/.') || p === '.';
  let clean = goClean(p);
  if (current && !clean.endsWith('/.')) clean = clean === '/' ? '/.' : `${clean}/.`;
  const i = clean.lastIndexOf('/');
  if (i < 0) return ['.', clean];
  return [i === 0 ? '/' : clean.slice(0, i), clean.slice(i + 1)];
}

/** Rewrites entry names `oldBase[/...]` to `newBase[/...]` (RebaseArchiveEntries). */
export function rebaser(oldBase: string, newBase: string): (name: string) => string {
  return (name) => {
    const n = name.replace(/^\.\//, '');
    if (oldBase === '.') return n === '.' || n === '' ? newBase : `${newBase}/${n}`;
    if (n === oldBase) return newBase;
    if (n.startsWith(`${oldBase}/`)) return newBase + n.slice(oldBase.length);
    return n;
  };
}

class Counter {
  n = 0;
  wrap(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const self = this;
    return (async function* () {
      for await (const c of src) {
        self.n += c.length;
        yield c;
      }
    })();
  }
}

async function fromContainer(
  cli: Cli,
  container: string,
  srcPath: string,
  dst: string,
  follow: boolean,
): Promise<void> {
  const c = cli.client;
  let src = srcPath;
  if (follow) {
    const st = await c.containerStatPath(container, src);
    if (st.mode & MODE_SYMLINK && st.linkTarget)
      src = st.linkTarget.startsWith('/') ? st.linkTarget : `${dirname(src)}/${st.linkTarget}`;
  }
  const { tar, stat } = await c.containerGetArchive(container, src);
  const counter = new Counter();
  if (dst === '-') {
    for await (const chunk of counter.wrap(tar as AsyncIterable<Buffer>))
      if (!cli.stdout.write(chunk)) await new Promise<void>((r) => cli.stdout.once('drain', r));
    return;
  }
  const srcIsDir = (stat.mode & MODE_DIR) !== 0;
  const [, srcBase] = splitDirEntry(src);
  const dstAbs = resolvePath(dst);
  let dstExists = false;
  let dstIsDir = false;
  try {
    const st = statSync(dstAbs);
    dstExists = true;
    dstIsDir = st.isDirectory();
  } catch {
    // absent: created below
  }
  let into: string;
  let rename: ((n: string) => string) | undefined;
  const [dstDir, dstBase] = splitDirEntry(dstAbs);
  if (dstExists && dstIsDir) {
    into = dstAbs;
  } else if (dstExists && srcIsDir) {
    throw new StatusError(1, 'cannot copy directory');
  } else if (dstExists || srcIsDir) {
    into = dstDir;
    rename = rebaser(srcBase === '.' ? '.' : stat.name || srcBase, dstBase);
  } else if (dst.endsWith('/') || dst.endsWith('/.')) {
    throw new StatusError(1, 'no such directory');
  } else {
    into = dstDir;
    rename = rebaser(stat.name || srcBase, dstBase);
  }
  if (!existsSync(into)) throw new StatusError(1, `destination directory "${into}" does not exist`);
  await extractTar(counter.wrap(tar as AsyncIterable<Buffer>), into, { rename });
  if (cli.stderr.isTTY) cli.err(`Successfully copied ${humanSize(counter.n, 3)} to ${dst}\n`);
}

async function toContainer(
  cli: Cli,
  src: string,
  container: string,
  dstPath: string,
  follow: boolean,
  archive: boolean,
): Promise<void> {
  const c = cli.client;
  let dst = dstPath;
  let dstStat: PathStat | undefined;
  try {
    dstStat = await c.containerStatPath(container, dst);
    if (dstStat.mode & MODE_SYMLINK && dstStat.linkTarget) {
      dst = dstStat.linkTarget.startsWith('/') ? dstStat.linkTarget : `${dirname(dst)}/${dstStat.linkTarget}`;
      dstStat = await c.containerStatPath(container, dst);
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
    dstStat = undefined;
  }
  const dstExists = dstStat !== undefined;
  const dstIsDir = dstExists && (dstStat!.mode & MODE_DIR) !== 0;
  const counter = new Counter();
  if (src === '-') {
    if (!dstIsDir) throw new StatusError(1, `destination "${container}:${dstPath}" must be a directory`);
    await c.containerPutArchive(container, dst, Readable.from(counter.wrap(cli.stdin as AsyncIterable<Buffer>)), {
      noOverwriteDirNonDir: true,
      copyUIDGID: archive,
    });
    return;
  }
  const srcAbs = resolvePath(src);
  let srcStat;
  try {
    srcStat = follow ? statSync(srcAbs) : lstatSync(srcAbs);
  } catch {
    throw new StatusError(1, `lstat ${srcAbs}: no such file or directory`);
  }
  const srcIsDir = srcStat.isDirectory();
  const [, srcBase] = splitDirEntry(src.endsWith('/.') ? `${srcAbs}/.` : srcAbs);
  const rootName = srcBase === '.' ? '.' : basename(srcAbs);
  const [dstDir, dstBase] = splitDirEntry(dst);
  let target: string;
  let name = rootName;
  if (dstExists && dstIsDir) {
    target = dst;
  } else if (dstExists && srcIsDir) {
    throw new StatusError(1, 'cannot copy directory');
  } else if (!dstExists && !srcIsDir && dstPath.endsWith('/')) {
    throw new StatusError(1, 'no such directory');
  } else {
    target = dstDir;
    name = dstBase; // RebaseArchiveEntries(rootName → dstBase), done while packing
  }
  const entries = packPath(srcAbs, { rootName: name, followLinks: follow, keepOwner: archive });
  await c.containerPutArchive(container, target, Readable.from(counter.wrap(entries)), {
    noOverwriteDirNonDir: true,
    copyUIDGID: archive,
  });
  if (cli.stderr.isTTY) cli.err(`Successfully copied ${humanSize(counter.n, 3)} to ${container}:${dstPath}\n`);
}

export const cp: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
    description:
      "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
    aliases: ['berth container cp', 'berth cp'],
    args: { min: 2, max: 2 },
    flags: [
      { long: 'archive', short: 'a', type: 'bool', help: 'Archive mode (copy all uid/gid information)' },
      { long: 'follow-link', short: 'L', type: 'bool', help: 'Always follow symbol link in SRC_PATH' },
      {
        long: 'quiet',
        short: 'q',
        type: 'bool',
        help: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached',
      },
    ],
  },
  async run(cli, f, args) {
    const src = splitCpArg(args[0]!);
    const dst = splitCpArg(args[1]!);
    if (src.container && dst.container) throw new StatusError(1, 'copying between containers is not supported');
    if (!src.container && !dst.container) throw new StatusError(1, 'must specify at least one container source');
    if (src.container !== undefined && !src.path) throw new StatusError(1, 'source can not be empty');
    if (dst.container !== undefined && !dst.path) throw new StatusError(1, 'destination can not be empty');
    if (src.container) await fromContainer(cli, src.container, src.path, dst.path, f.bool('follow-link'));
    else await toContainer(cli, src.path, dst.container!, dst.path, f.bool('follow-link'), f.bool('archive'));
  },
};
