/**
 * `--user name[:group]` → numeric ids, read from the container's own /etc/passwd and
 * /etc/group, by runc's rules (libcontainer/user GetExecUser), which Docker uses.
 *
 * The root file system is untrusted: a file is found by resolving its path inside the root
 * (links resolve as if the root were `/`), opened without following a final link, and then
 * checked, through /proc/self/fd, to really be inside the root; anything else reads as
 * missing. So a hostile image whose /etc/passwd links to the host's never gets it read.
 */
import { promises as fs, constants } from 'node:fs';
import { resolve } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import { isInside, resolveInRoot } from '../archive/index.ts';

/** Numeric ids for the container process. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: those listing the user in /etc/group, when no group was named. */
  additionalGids: number[];
  /** The home directory /etc/passwd gives the user, when it lists the user. */
  home?: string;
}
export type User = ResolvedUser;

const MAX_ID = 2 ** 31 - 1;
const MAX_FILE = 16 * 1024 * 1024;

/** A file inside `rootfs`, or '' when it is missing, not a regular file, or escapes the root. */
export async function readFileInRoot(rootfs: string, path: string): Promise<string> {
  const root = await fs.realpath(rootfs).catch(() => undefined);
  if (!root) return '';
  // A link loop or a file on the way means there is no such file for this image.
  const p = await resolveInRoot(root, path).catch(() => undefined);
  if (!p) return '';
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    // The tree may change between resolving and opening: trust only what was opened.
    const real = await fs.readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
    if (real === undefined || !isInside(root, real)) return '';
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_FILE) return '';
    return await fh.readFile('utf8');
  } catch {
    return '';
  } finally {
    await fh?.close();
  }
}

const isNum = (s: string) => /^\d+$/.test(s);

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home?: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 4 || !isNum(f[2]!) || !isNum(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || undefined });
  }
  return out;
}

function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 3 || !isNum(f[2]!)) continue;
    out.push({
      name: f[0]!,
      gid: Number(f[2]),
      members: (f[3] ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    });
  }
  return out;
}

/**
 * Resolves `userSpec` (`""`, `name`, `uid`, `name:group`, `uid:gid`, ...) against the image
 * at `rootfs`. An empty spec is root with root's group from passwd. A uid or gid missing from
 * the files is used as it is; a missing name is an InvalidArgument worded as Docker's
 * (`unable to find user app: no matching entries in passwd file`).
 */
export async function resolveUser(userSpec: string, rootfs: string): Promise<ResolvedUser> {
  const i = userSpec.indexOf(':');
  const userArg = i < 0 ? userSpec : userSpec.slice(0, i);
  const groupArg = i < 0 ? '' : userSpec.slice(i + 1);
  const root = resolve(rootfs);
  const [passwdText, groupText] = await Promise.all([
    readFileInRoot(root, 'etc/passwd'),
    readFileInRoot(root, 'etc/group'),
  ]);
  const passwd = parsePasswd(passwdText);

  let uid = 0;
  let gid = 0;
  let matchedName: string | undefined;
  let home: string | undefined;
  const entry =
    userArg === ''
      ? passwd.find((u) => u.uid === 0)
      : passwd.find((u) => (isNum(userArg) ? u.uid === Number(userArg) : u.name === userArg));
  if (entry) {
    uid = entry.uid;
    gid = entry.gid;
    matchedName = entry.name;
    home = entry.home;
  } else if (isNum(userArg)) {
    uid = Number(userArg);
  } else if (userArg !== '') {
    throw invalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);
  }

  let additionalGids: number[] = [];
  if (groupArg !== '' || matchedName !== undefined) {
    const groups = parseGroup(groupText);
    if (groupArg !== '') {
      const g = groups.find((x) => (isNum(groupArg) ? x.gid === Number(groupArg) : x.name === groupArg));
      if (g) gid = g.gid;
      else if (isNum(groupArg)) gid = Number(groupArg);
      else throw invalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
    } else {
      // Supplementary groups only in the implicit form, as runc does.
      additionalGids = groups.filter((g) => g.members.includes(matchedName!)).map((g) => g.gid);
    }
  }
  if (uid > MAX_ID || gid > MAX_ID) throw invalidArgument(`uids and gids must be in range 0-${MAX_ID}`);
  return { uid, gid, additionalGids, ...(home ? { home } : {}) };
}

/**
 * The process's `HOME=` when its environment has none: the user's home from /etc/passwd, "/"
 * for a user it does not list — what runc sets (and so what dockerd's containers see); crun
 * would leave it unset for an unlisted user, so Berth puts it in the spec itself.
 */
export function homeEnv(env: readonly string[], user: Pick<ResolvedUser, 'home'>): string | undefined {
  return env.some((e) => e.startsWith('HOME=')) ? undefined : `HOME=${user.home ?? '/'}`;
}
