/**
 * `--user name[:group]` → numeric ids, read from the container's own /etc/passwd and /etc/group.
 * The root file system is untrusted: the files are found by resolving inside it, never by
 * following a link out of it.
 */
import { promises as fs, constants } from 'node:fs';
import { invalidArgument } from '../errdefs/index.ts';
import { resolveInRoot } from '../archive/index.ts';

export interface User {
  uid: number;
  gid: number;
  additionalGids: number[];
}

async function readInRoot(rootfs: string, path: string): Promise<string> {
  // A link loop or a non-directory on the way means there is no such file for this image.
  const p = await resolveInRoot(rootfs, path).catch(() => undefined);
  if (!p) return '';
  try {
    const fh = await fs.open(p, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > 16 * 1024 * 1024) return '';
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

const isNum = (s: string) => /^\d+$/.test(s);

export async function resolveUser(spec: string, rootfs: string): Promise<User> {
  const [userPart = '', groupPart] = spec.split(':', 2) as [string, string | undefined];
  const passwd = (await readInRoot(rootfs, 'etc/passwd')).split('\n').map((l) => l.split(':')).filter((f) => f.length >= 4);
  const groups = (await readInRoot(rootfs, 'etc/group')).split('\n').map((l) => l.split(':')).filter((f) => f.length >= 3);
  let uid = 0;
  let gid = 0;
  let name = 'root';
  if (userPart !== '') {
    const entry = passwd.find((f) => f[0] === userPart) ?? (isNum(userPart) ? passwd.find((f) => f[2] === userPart) : undefined);
    if (entry) {
      uid = Number(entry[2]);
      gid = Number(entry[3]);
      name = entry[0]!;
    } else if (isNum(userPart)) {
      uid = Number(userPart);
      name = '';
    } else {
      throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
  } else {
    const root = passwd.find((f) => f[2] === '0');
    if (root) gid = Number(root[3]);
  }
  if (groupPart !== undefined && groupPart !== '') {
    const g = groups.find((f) => f[0] === groupPart) ?? (isNum(groupPart) ? groups.find((f) => f[2] === groupPart) : undefined);
    if (g) gid = Number(g[2]);
    else if (isNum(groupPart)) gid = Number(groupPart);
    else throw invalidArgument(`unable to find group ${groupPart}: no matching entries in group file`);
  }
  const additionalGids = name ? groups.filter((f) => (f[3] ?? '').split(',').includes(name)).map((f) => Number(f[2])).filter((g) => g !== gid) : [];
  if (uid > 2 ** 31 - 1 || gid > 2 ** 31 - 1) throw invalidArgument(`uids and gids must be in range 0-${2 ** 31 - 1}`);
  return { uid, gid, additionalGids };
}
