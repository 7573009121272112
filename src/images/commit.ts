/**
 * `docker commit` (and a builder step): a container's changes, as a layer tar, on top of its
 * image, with a new run config. As Docker does, a step that changed nothing adds no layer: its
 * history entry is marked `empty_layer` and the rootfs keeps the parent's diff IDs.
 */
import type { Readable } from 'node:stream';
import { hostPlatform, type Digest, type ImageConfig, type ImageRunConfig } from '../spec/index.ts';
import { applyChanges } from './changes.ts';
import type { ImageStore, Image } from './store.ts';

/** The diff ID of a tar with no entries (two zero blocks): a step that changed nothing. */
export const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' as Digest;

export interface CommitOptions {
  /** The image the container ran, or null for `scratch`. */
  parent: Image | null;
  /** The container's changes as an uncompressed layer tar. */
  layer: Readable;
  /** The run config of the new image, before `changes`. */
  config: ImageRunConfig;
  /** Dockerfile-style changes (`CMD`, `ENV`, ...) applied to `config`. */
  changes?: readonly string[];
  author?: string;
  comment?: string;
  /** The history entry's `created_by` (Docker: the container's command). */
  createdBy: string;
  /** The container the image was made from, recorded as Docker does. */
  containerId?: string;
  /**
   * The overlay upper directory `layer` was packed from, no longer mounted: it becomes the
   * layer's directory (moved) instead of unpacking the tar again (a builder step).
   */
  adoptDir?: string;
}

export async function commitImage(store: ImageStore, o: CommitOptions): Promise<Image> {
  // A bad change fails before the layer is read.
  const runConfig = applyChanges(o.config, o.changes ?? []);
  const blob = await store.content.ingest(o.layer);
  const parentConfig = o.parent?.config;
  const diffIds = [...(parentConfig?.rootfs.diff_ids ?? [])];
  const empty = blob.digest === EMPTY_TAR_DIFF_ID;
  if (!empty) {
    try {
      if (o.adoptDir) await store.snapshots.adoptLayer(o.parent?.topChain ?? null, blob.digest, o.adoptDir);
      else await store.snapshots.addLayerFromBlob(o.parent?.topChain ?? null, blob.digest);
    } catch (e) {
      await store.dropUnusedBlob(blob.digest);
      throw e;
    }
    diffIds.push(blob.digest);
  } else {
    await store.dropUnusedBlob(blob.digest);
  }
  const now = new Date().toISOString();
  const { architecture, os } = hostPlatform();
  const config: ImageConfig = {
    architecture: parentConfig?.architecture ?? architecture,
    os: parentConfig?.os ?? os,
    ...(parentConfig?.variant ? { variant: parentConfig.variant } : {}),
    created: now,
    ...(o.author ? { author: o.author } : {}),
    ...(o.comment ? { comment: o.comment } : {}),
    ...(o.containerId ? { container: o.containerId } : {}),
    config: runConfig,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [
      ...(parentConfig?.history ?? []),
      {
        created: now,
        ...(o.author ? { author: o.author } : {}),
        created_by: o.createdBy,
        ...(o.comment ? { comment: o.comment } : {}),
        ...(empty ? { empty_layer: true } : {}),
      },
    ],
  };
  return store.create(Buffer.from(JSON.stringify(config)), { parent: o.parent?.id });
}
