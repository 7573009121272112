/**
 * Idmapped overlay mounts through berth-idmount (src/host/berth-idmount.c, built by setup):
 * a container's root file system made of layers as they are unpacked (the image's own owners),
 * seen through an id mapping, so `berthd --userns-remap` needs no chowned copy of each image.
 * runc 1.1 cannot idmap a root file system and crun 1.8 only idmaps bind mounts, hence a
 * helper of Berth's own. It hands overlay the layers by fd on Linux 6.13+ and by path from 6.8
 * (`lowerdir+`); on older kernels it fails, and the daemon's start-up probe chooses the chowned
 * copy.
 *
 *     await mountIdmappedOverlay(host, { map, lowers: [init, top, base], upper, work, target });
 *     // a file owned by 0 in `base` is owned by 100000 under `target`; unmount as any overlay
 */
import { join } from 'node:path';
import type { Runner } from './index.ts';

/** berth-idmount, built by scripts/setup.sh. */
export const IDMOUNT_HELPER = join(import.meta.dirname, '..', '..', 'build', 'berth-idmount');

/** One `containerID → hostID` range of `size` ids (the shape of spec's IdRange). */
export interface IdmapRange {
  containerID: number;
  hostID: number;
  size: number;
}

export interface IdmappedOverlay {
  /** The mapping, container ids to host ids, as a user namespace's uid_map/gid_map. */
  map: { readonly uids: readonly IdmapRange[]; readonly gids: readonly IdmapRange[] };
  /** Lower directories, absolute, topmost first (overlay's order). */
  lowers: readonly string[];
  upper: string;
  work: string;
  target: string;
}

/** The helper's arguments for a mount (pure: the unit tests check them). */
export function idmountArgs(o: IdmappedOverlay): string[] {
  const ranges = (rs: readonly IdmapRange[]) => rs.map((r) => `${r.containerID}:${r.hostID}:${r.size}`).join(',');
  const args = ['--uid-map', ranges(o.map.uids), '--gid-map', ranges(o.map.gids)];
  for (const l of o.lowers) args.push('--lower', l);
  args.push('--upper', o.upper, '--work', o.work, o.target);
  return args;
}

/**
 * Mounts `lowers` idmapped by `map`, with `upper` and `work`, as an overlay on `target`; fails
 * with the helper's step and errno (and the kernel's reason) when the kernel refuses.
 */
export async function mountIdmappedOverlay(host: Runner, o: IdmappedOverlay, helper = IDMOUNT_HELPER): Promise<void> {
  await host.run(helper, idmountArgs(o));
}
