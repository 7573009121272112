/**
 * `berthd --userns-remap`: which subordinate ids containers' root becomes, and the remapped
 * data root that goes with it, as dockerd does it.
 *
 * - `default` is the user `dockremap`, made (with a 65536-id range in /etc/subuid and
 *   /etc/subgid) when it does not exist yet; `USER[:GROUP]` names an existing user (and group,
 *   else the user's name), by name or number, whose ranges must be there already.
 * - Everything the daemon keeps goes under `<data-root>/<uid>.<gid>/` (the host ids of the
 *   container's root): images are unpacked with their owners shifted, so a data root is only
 *   ever used with one map. That directory, and the ones the container's root must pass
 *   through from inside its namespace (containers/, overlay/), are root:<gid> 0710.
 * - Every directory above the data root must let others through (o+x), or the container's
 *   root could not reach its own root file system: refused at start, with dockerd's message.
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import type { Runner } from '../host/index.ts';
import { idMapOf, parseSubIds, rootOf, type IdMap } from '../spec/index.ts';

export const DEFAULT_REMAP_USER = 'dockremap';
/** dockerd's: the first range handed out starts here, and each is this long. */
const FIRST_SUBID = 100000;
const SUBID_COUNT = 65536;

export interface Remap {
  user: string;
  group: string;
  map: IdMap;
  /** `<data-root>/<uid>.<gid>`. */
  dataRoot: string;
}

/** `USER[:GROUP]` split; `default` stands for dockremap:dockremap. */
export function parseRemapFlag(flag: string): { user: string; group: string } {
  const [user = '', group, extra] = flag.split(':');
  if (!user || extra !== undefined || group === '')
    throw invalidArgument(`invalid --userns-remap value ${JSON.stringify(flag)}: expected default or USER[:GROUP]`);
  if (user === 'default') return { user: DEFAULT_REMAP_USER, group: DEFAULT_REMAP_USER };
  return { user, group: group ?? user };
}

interface Entry {
  name: string;
  id: number;
}

/** A passwd(5)/group(5) entry by name or number. */
export function findEntry(text: string, who: string): Entry | undefined {
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (!name || id === undefined) continue;
    if (name === who || id === who) return { name, id: Number(id) };
  }
  return undefined;
}

/**
 * The first free `count`-long range at or above 100000 given the ranges already handed out,
 * as dockerd picks one for dockremap.
 */
export function freeRange(taken: ReadonlyArray<{ start: number; count: number }>, count = SUBID_COUNT): number {
  let start = FIRST_SUBID;
  for (const r of [...taken].sort((a, b) => a.start - b.start)) {
    if (r.start + r.count <= start) continue;
    if (r.start >= start + count) break;
    start = r.start + r.count;
  }
  return start;
}

const readText = (path: string) => fs.readFile(path, 'utf8').catch(() => '');

function allRanges(text: string): Array<{ start: number; count: number }> {
  return text
    .split('\n')
    .map((l) => l.trim().split(':'))
    .filter((f) => f.length === 3)
    .map(([, s, c]) => ({ start: Number(s), count: Number(c) }))
    .filter((r) => Number.isSafeInteger(r.start) && Number.isSafeInteger(r.count));
}

/**
 * Makes dockremap as dockerd does: a system user and group, no home, no login — with adduser,
 * or useradd where adduser is not installed (dockerd tries them in that order too).
 */
async function createDefaultUser(host: Runner): Promise<void> {
  try {
    await host.run('adduser', [
      '--system',
      '--shell',
      '/bin/false',
      '--no-create-home',
      '--disabled-login',
      '--disabled-password',
      '--group',
      DEFAULT_REMAP_USER,
    ]);
  } catch {
    await host.run('useradd', [
      '--system',
      '--shell',
      '/bin/false',
      '--no-create-home',
      '--user-group',
      DEFAULT_REMAP_USER,
    ]);
  }
}

async function ensureRanges(host: Runner, user: string): Promise<void> {
  const [subuid, subgid] = await Promise.all([readText('/etc/subuid'), readText('/etc/subgid')]);
  if (parseSubIds(subuid, user).length && parseSubIds(subgid, user).length) return;
  const start = freeRange([...allRanges(subuid), ...allRanges(subgid)]);
  const range = `${start}-${start + SUBID_COUNT - 1}`;
  await host.run('usermod', ['-v', range, '-w', range, user]);
}

/**
 * Resolves `--userns-remap` (making dockremap for `default`) and prepares the remapped data
 * root. `dataRoot` is the root given with `--data-root`.
 */
export async function setUpRemap(host: Runner, flag: string, dataRoot: string): Promise<Remap> {
  const want = parseRemapFlag(flag);
  let user = findEntry(await readText('/etc/passwd'), want.user);
  if (!user && want.user === DEFAULT_REMAP_USER) {
    await createDefaultUser(host);
    user = findEntry(await readText('/etc/passwd'), want.user);
  }
  if (!user) throw invalidArgument(`Can't create ID mappings: user ${JSON.stringify(want.user)} not found`);
  const group = findEntry(await readText('/etc/group'), want.group);
  if (!group) throw invalidArgument(`Can't create ID mappings: group ${JSON.stringify(want.group)} not found`);
  if (user.name === DEFAULT_REMAP_USER) await ensureRanges(host, user.name);
  const [subuid, subgid] = await Promise.all([readText('/etc/subuid'), readText('/etc/subgid')]);
  const uids = parseSubIds(subuid, user.name, user.id);
  const gids = parseSubIds(subgid, group.name, group.id);
  if (!uids.length) throw invalidArgument(`Can't create ID mappings: no subuid ranges found for user "${user.name}"`);
  if (!gids.length) throw invalidArgument(`Can't create ID mappings: no subgid ranges found for group "${group.name}"`);
  const map = idMapOf(uids, gids);
  const root = rootOf(map);
  await checkParents(dataRoot);
  const remapped = join(dataRoot, `${root.uid}.${root.gid}`);
  await fs.mkdir(remapped, { recursive: true });
  await openTo(remapped, root.gid);
  return { user: user.name, group: group.name, map, dataRoot: remapped };
}

/** A directory the container's root passes through: root:<gid> 0710, as dockerd makes them. */
export async function openTo(dir: string, gid: number): Promise<void> {
  await fs.chown(dir, 0, gid);
  await fs.chmod(dir, 0o710);
}

/** Every directory above the data root must let others pass, or containers cannot reach their roots. */
async function checkParents(dataRoot: string): Promise<void> {
  for (let dir = dirname(dataRoot); ; dir = dirname(dir)) {
    const st = await fs.stat(dir).catch(() => undefined);
    if (st && (st.mode & 0o001) === 0)
      throw invalidArgument(
        `a subdirectory in your graphroot path (${dataRoot}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories`,
      );
    if (dir === '/' || dir === '.') break;
  }
}
