/**
 * Extended attributes of many files in one request. A whole tree (commit's capabilities and
 * opaque flags, export's capabilities) is one `getfattr -R` run: spawning once per file would
 * cost more than the rest of a layer diff put together, and the host's own reader (the
 * launcher) serves spawns on the same thread, which a walk of a large tree would hold up. Files
 * already listed (the directories of a diff) are read by the host itself where it can
 * (`readXattrsOf`): no program started.
 */
import { internal } from '../errdefs/index.ts';
import type { Runner, XattrReader } from '../host/index.ts';
import { absOf } from './names.ts';

/** Relative path (`""` for the root) -> xattr name -> value. Only files that have some. */
export type TreeXattrs = Map<string, Map<string, Buffer>>;

/**
 * Reads the xattrs named `names` for every file under `root`, without following symlinks, in
 * one getfattr run. With `strict`, a getfattr that reports errors (files vanishing under a
 * running container, say) fails the call; otherwise what it could read is returned.
 */
export function readTreeXattrs(
  host: Runner,
  root: string,
  names: readonly string[],
  strict: boolean,
): Promise<TreeXattrs> {
  return getfattr(host, root, [root], names, strict, true);
}

/** Paths named on one getfattr command line at most; more, and it reads the whole tree. */
const GETFATTR_PATHS = 256;

/**
 * The xattrs named `names` of the files `rels` under `root` (relative paths, symlinks not
 * followed), through the host's own reader when it has one (berth-launcher: one request, no
 * program), else with one getfattr run. Strict as readTreeXattrs is.
 */
export async function readXattrsOf(
  host: Runner & { readonly xattrs?: XattrReader },
  root: string,
  rels: readonly string[],
  names: readonly string[],
  strict: boolean,
): Promise<TreeXattrs> {
  if (rels.length === 0) return new Map();
  if (!host.xattrs) {
    if (rels.length > GETFATTR_PATHS) return getfattr(host, root, [root], names, strict, true);
    return getfattr(
      host,
      root,
      rels.map((rel) => absOf(root, rel)),
      names,
      strict,
      false,
    );
  }
  const { found, failed } = await host.xattrs.xattrsOf(
    rels.map((rel) => absOf(root, rel)),
    names,
  );
  if (failed && strict) throw internal(`read xattrs under "${root}": ${failed}`);
  return new Map([...found].map(([i, attrs]) => [rels[i]!, attrs]));
}

async function getfattr(
  host: Runner,
  root: string,
  paths: readonly string[],
  names: readonly string[],
  strict: boolean,
  recursive: boolean,
): Promise<TreeXattrs> {
  const pattern = `^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
  const r = await host.run(
    'getfattr',
    [...(recursive ? ['-R'] : []), '-P', '-h', '--absolute-names', '-d', '-e', 'hex', '-m', pattern, '--', ...paths],
    { allowFailure: true },
  );
  if (r.code !== 0 && strict) throw internal(`read xattrs of "${root}": getfattr: exit ${r.code}: ${r.stderr.trim()}`);
  return parseGetfattr(r.stdout, root);
}

/** Parses `getfattr -d -e hex --absolute-names` output for files under `root`. */
export function parseGetfattr(out: string, root: string): TreeXattrs {
  const base = root.endsWith('/') && root.length > 1 ? root.slice(0, -1) : root;
  const result: TreeXattrs = new Map();
  let current: Map<string, Buffer> | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) {
      const path = unescapeName(line.slice(8));
      let rel: string | undefined;
      if (path === base) rel = '';
      else if (path.startsWith(base === '/' ? '/' : `${base}/`)) rel = path.slice(base === '/' ? 1 : base.length + 1);
      current = undefined;
      if (rel !== undefined) {
        current = new Map();
        result.set(rel, current);
      }
      continue;
    }
    if (!current || line === '') continue;
    const eq = line.indexOf('=');
    const name = unescapeName(eq < 0 ? line : line.slice(0, eq));
    current.set(name, eq < 0 ? Buffer.alloc(0) : decodeValue(line.slice(eq + 1)));
  }
  for (const [rel, attrs] of result) if (attrs.size === 0) result.delete(rel);
  return result;
}

/** getfattr writes unprintable bytes, `\` and `=` in names as `\ooo` octal escapes. */
function unescapeName(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: Buffer[] = [];
  let last = 0;
  for (const m of s.matchAll(/\\([0-7]{3})/g)) {
    bytes.push(Buffer.from(s.slice(last, m.index), 'utf8'), Buffer.from([Number.parseInt(m[1]!, 8)]));
    last = m.index + m[0].length;
  }
  bytes.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(bytes).toString('utf8');
}

function decodeValue(v: string): Buffer {
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex');
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64');
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) return Buffer.from(unescapeName(v.slice(1, -1)), 'utf8');
  return Buffer.from(v, 'utf8');
}
