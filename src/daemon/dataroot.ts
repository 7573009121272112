/**
 * Who may look into --data-root. The root itself is 0711 as dockerd makes /var/lib/docker
 * (traversable, not listable: volumes' _data and containers' files are reached through it by
 * path); what lies directly under it is closed to other users, because it holds what they must
 * not read: every container's configuration with its environment (passwords included) in
 * metadata.db, image layers and blobs, build contexts in tmp/.
 *
 * The modes are applied at every start, to what exists, so a data root made by an older Berth
 * (or loosened by hand) is tightened; stores that create files later create them inside these
 * directories. SQLite gives its -wal and -shm files the database file's mode.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

export const DATA_ROOT_MODE = 0o711;

/** Modes of the data root's entries, as dockerd's where it has the same directory. */
export const DATA_ROOT_ENTRIES: Readonly<Record<string, number>> = Object.freeze({
  'metadata.db': 0o600,
  'metadata.db-wal': 0o600,
  'metadata.db-shm': 0o600,
  content: 0o700,
  overlay: 0o710,
  containers: 0o710,
  // dockerd's /var/lib/docker/volumes: others may pass through to a volume's _data, not list
  volumes: 0o701,
  network: 0o700,
  builder: 0o700,
  tmp: 0o700,
});

/**
 * Under `--userns-remap` the container's root reaches its root file system, its /etc files and
 * its volumes from inside its user namespace: these are root:<remapped gid> 0710, as dockerd's
 * `<data-root>/<uid>.<gid>/` and its containers/ and overlay2/ are. The remapped root itself is
 * the data root here.
 */
export const REMAP_TRAVERSED = Object.freeze(['', 'overlay', 'containers']);

/**
 * chmods the data root and each entry above that exists; returns what it changed, for the log.
 * `remapGid`: the group of a remapped root, which is let through the directories above.
 */
export async function secureDataRoot(root: string, remapGid?: number): Promise<string[]> {
  const changed: string[] = [];
  const apply = async (path: string, mode: number, gid?: number) => {
    let st;
    try {
      st = await fs.lstat(path);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    if (gid !== undefined && (st.uid !== 0 || st.gid !== gid)) {
      await fs.chown(path, 0, gid);
      changed.push(`${path} owner ${st.uid}:${st.gid} -> 0:${gid}`);
    }
    if ((st.mode & 0o7777) === mode) return;
    await fs.chmod(path, mode);
    changed.push(`${path} ${(st.mode & 0o7777).toString(8).padStart(4, '0')} -> ${mode.toString(8).padStart(4, '0')}`);
  };
  const remapped = (name: string) => remapGid !== undefined && REMAP_TRAVERSED.includes(name);
  await apply(root, remapped('') ? 0o710 : DATA_ROOT_MODE, remapped('') ? remapGid : undefined);
  for (const [name, mode] of Object.entries(DATA_ROOT_ENTRIES))
    await apply(join(root, name), remapped(name) ? 0o710 : mode, remapped(name) ? remapGid : undefined);
  return changed;
}
