/**
 * `docker system df`: the disk the daemon's objects use, in the Engine API's shape. Layers
 * shared between images are counted once in LayersSize and as SharedSize of each image; the
 * images listed are `docker images`'s (intermediates hidden).
 */
import type { ContainerService } from '../containers/index.ts';
import { summary } from '../containers/index.ts';
import { imageSummary, type ImageService } from '../images/index.ts';
import type { VolumeService } from '../volumes/index.ts';
import type { DiskUsage } from '../../api/types/index.ts';

export interface DiskUsageDeps {
  containers: ContainerService;
  images: ImageService;
  volumes?: VolumeService;
}

export async function diskUsage(d: DiskUsageDeps): Promise<DiskUsage> {
  const store = d.images.store;
  const images = store.list();
  const layerUsers = new Map<string, { size: number; users: number }>();
  const stacks = new Map<string, Array<{ chainId: string; size: number }>>();
  for (const img of images) {
    const stack = store.snapshots.stack(img.topChain);
    stacks.set(img.id, stack);
    for (const l of stack) {
      const u = layerUsers.get(l.chainId) ?? { size: l.size, users: 0 };
      u.users++;
      layerUsers.set(l.chainId, u);
    }
  }
  const containers = d.containers.list();
  const users = new Map<string, number>();
  for (const c of containers) users.set(c.Image, (users.get(c.Image) ?? 0) + 1);
  const now = Date.now();
  // The images are those `docker images` lists, as dockerd's: a build's intermediates (untagged
  // parents of others) are left out; their layers still count in LayersSize and SharedSize.
  const parents = new Set(images.map((i) => i.parent).filter(Boolean));
  const listed = images.filter((i) => i.tags.length || i.digests.length || !parents.has(i.id));
  return {
    LayersSize: [...layerUsers.values()].reduce((n, l) => n + l.size, 0),
    Images: listed.map((i) =>
      imageSummary(i, {
        SharedSize: (stacks.get(i.id) ?? [])
          .filter((l) => (layerUsers.get(l.chainId)?.users ?? 0) > 1)
          .reduce((n, l) => n + l.size, 0),
        Containers: users.get(i.id) ?? 0,
      }),
    ),
    Containers: await Promise.all(
      containers.map(async (c) => ({
        ...summary(c, d.containers.imageName(c), now),
        ...(await d.containers.sizes(c.Id)),
      })),
    ),
    Volumes: d.volumes ? await d.volumes.usageData() : [],
    BuildCache: [],
  };
}
