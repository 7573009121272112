/**
 * User-namespace id maps (`berthd --userns-remap`): which host uids and gids a container's ids
 * stand for. The same ranges go into the OCI spec's uidMappings/gidMappings, shift a layer's
 * owners when it is unpacked (container → host) and back when a tree is packed (host →
 * container), so image blobs and `docker save` stay what they are without the remap.
 *
 * The ranges are read from /etc/subuid and /etc/subgid (subuid(5): `name-or-uid:start:count`
 * per line) and laid end to end from container id 0, as dockerd does with several ranges.
 *
 *     const map = idMapOf(parseSubIds(subuid, 'dockremap', 102), parseSubIds(subgid, 'dockremap', 107));
 *     toHost(map, 0, 0) // { uid: 100000, gid: 100000 }
 */

export interface IdRange {
  containerID: number;
  hostID: number;
  size: number;
}

export interface IdMap {
  readonly uids: readonly IdRange[];
  readonly gids: readonly IdRange[];
}

/** What an id outside every range looks like from the other side (the kernel's overflow id). */
export const OVERFLOW_ID = 65534;

/** The `start:count` ranges of `name` (or of its numeric `id`) in a subuid/subgid file's text, in file order. */
export function parseSubIds(text: string, name: string, id?: number): Array<{ start: number; count: number }> {
  const out: Array<{ start: number; count: number }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [who, start, count] = line.split(':');
    if (who !== name && (id === undefined || who !== String(id))) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** Host ranges laid end to end from container id 0. */
export function rangesOf(host: ReadonlyArray<{ start: number; count: number }>): IdRange[] {
  let next = 0;
  return host.map((r) => {
    const range = { containerID: next, hostID: r.start, size: r.count };
    next += r.count;
    return range;
  });
}

export function idMapOf(
  uids: ReadonlyArray<{ start: number; count: number }>,
  gids: ReadonlyArray<{ start: number; count: number }>,
): IdMap {
  return Object.freeze({ uids: Object.freeze(rangesOf(uids)), gids: Object.freeze(rangesOf(gids)) });
}

function shift(ranges: readonly IdRange[], id: number, from: 'containerID' | 'hostID'): number | undefined {
  const to = from === 'containerID' ? 'hostID' : 'containerID';
  for (const r of ranges) if (id >= r[from] && id < r[from] + r.size) return r[to] + (id - r[from]);
  return undefined;
}

/** A container's uid/gid as the host sees it; undefined for an id the map does not cover. */
export function toHost(map: IdMap, uid: number, gid: number): { uid: number; gid: number } | undefined {
  const u = shift(map.uids, uid, 'containerID');
  const g = shift(map.gids, gid, 'containerID');
  return u === undefined || g === undefined ? undefined : { uid: u, gid: g };
}

/** A host uid/gid as the container sees it; ids outside the map are the overflow id, as the kernel shows them. */
export function toContainer(map: IdMap, uid: number, gid: number): { uid: number; gid: number } {
  return {
    uid: shift(map.uids, uid, 'hostID') ?? OVERFLOW_ID,
    gid: shift(map.gids, gid, 'hostID') ?? OVERFLOW_ID,
  };
}

/** The host uid and gid of the container's root. */
export function rootOf(map: IdMap): { uid: number; gid: number } {
  const r = toHost(map, 0, 0);
  if (!r) throw new Error('the id map does not map the container root');
  return r;
}
