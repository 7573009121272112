/**
 * Which way a remapped store's layers are owned by the remapped range (see index.ts): decided
 * when the store is new, by probing the kernel on the store's own file system (idmapped mounts
 * are a per-file-system feature), and kept in `<root>/layer-owners`, since layers unpacked one
 * way cannot be used the other. A store that already has layers and no record is from before
 * idmapped layers existed: shifted.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../errdefs/index.ts';
import { mountIdmappedOverlay, type Host } from '../host/index.ts';
import { rootOf, type IdMap } from '../spec/index.ts';

export type LayerOwners = 'idmapped' | 'shifted';

const RECORD = 'layer-owners';

/**
 * Can this kernel mount idmapped layers under `root`? Mounts a one-file layer owned by 0 and
 * checks that the mapped root owns it; nothing stays. The reason is the helper's error.
 */
export async function probeIdmappedLayers(
  host: Host,
  root: string,
  map: IdMap,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const dir = join(root, `probe-${randomBytes(6).toString('hex')}`);
  const [lower, upper, work, target] = ['lower', 'upper', 'work', 'merged'].map((d) => join(dir, d));
  try {
    for (const d of [lower, upper, work, target]) await fs.mkdir(d, { recursive: true });
    // Made by the daemon, root: owned by 0:0.
    await fs.writeFile(join(lower, 'f'), '');
    try {
      await mountIdmappedOverlay(host, { map, lowers: [lower], upper, work, target });
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
    try {
      const st = await fs.stat(join(target, 'f'));
      const want = rootOf(map);
      if (st.uid !== want.uid || st.gid !== want.gid)
        return { ok: false, reason: `a file owned by 0:0 shows as ${st.uid}:${st.gid}, not ${want.uid}:${want.gid}` };
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    } finally {
      await host.unmount(target);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The store's way, recorded at `root` (a new store: idmapped when `idmap` allows it and the
 * probe passes, else shifted). Refuses a store of idmapped layers when idmapped mounts are
 * turned off or no longer work: its containers could not start.
 */
export async function openLayerOwners(
  host: Host,
  root: string,
  map: IdMap,
  idmap: boolean,
): Promise<{ owners: LayerOwners; reason: string }> {
  const path = join(root, RECORD);
  // A probe a crash interrupted: its mount (if any) and directory are garbage.
  for (const name of await fs.readdir(root).catch(() => [] as string[]))
    if (name.startsWith('probe-')) {
      await host.unmount(join(root, name, 'merged'));
      await fs.rm(join(root, name), { recursive: true, force: true });
    }
  const recorded = (await fs.readFile(path, 'utf8').catch(() => '')).trim();
  if (recorded === 'idmapped') {
    const probe = idmap
      ? await probeIdmappedLayers(host, root, map)
      : { ok: false as const, reason: 'turned off by BERTH_USERNS_IDMAP=0' };
    if (!probe.ok)
      throw failedPrecondition(
        `layers in "${root}" are unpacked for idmapped mounts, which cannot be used: ${probe.reason}`,
      );
    return { owners: 'idmapped', reason: 'the store was made so' };
  }
  if (recorded === 'shifted') return { owners: 'shifted', reason: 'the store was made so' };
  const hasLayers = (await fs.readdir(join(root, 'layers')).catch(() => [])).length > 0;
  const probe = hasLayers
    ? { ok: false as const, reason: 'the store has shifted layers from before' }
    : !idmap
      ? { ok: false as const, reason: 'BERTH_USERNS_IDMAP=0' }
      : await probeIdmappedLayers(host, root, map);
  const owners: LayerOwners = probe.ok ? 'idmapped' : 'shifted';
  await fs.writeFile(path, `${owners}\n`);
  return { owners, reason: probe.ok ? 'the kernel mounts idmapped layers' : probe.reason };
}
