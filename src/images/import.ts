/**
 * `docker import`: a root file system tarball (plain, gzip or zstd) becomes a one-layer image,
 * with Dockerfile-style `changes` (CMD, ENV, ...) applied to its config. The config is the
 * one dockerd writes for an import: no `created_by`, the message as comment (default
 * "Imported from -").
 */
import type { Readable } from 'node:stream';
import { decompressed } from '../archive/index.ts';
import { hostPlatform, type ImageConfig } from '../spec/index.ts';
import { applyChanges } from './changes.ts';
import type { ImageStore, Image } from './store.ts';

export interface ImportOptions {
  changes: readonly string[];
  message?: string;
  /** Called with the uncompressed bytes read so far. */
  onBytes?: (n: number) => void;
  /** Cap on the uncompressed size (default: the archive module's layer cap). */
  maxBytes?: number;
}

export async function importImage(store: ImageStore, tar: Readable, opts: ImportOptions): Promise<Image> {
  // A bad change must fail before any byte is stored.
  const runConfig = applyChanges({}, opts.changes);
  const plain = decompressed(tar, opts.maxBytes);
  if (opts.onBytes) {
    let n = 0;
    plain.on('data', (c: Buffer) => opts.onBytes!((n += c.length)));
  }
  const blob = await store.content.ingest(plain);
  let layer;
  try {
    layer = await store.snapshots.addLayerFromBlob(null, blob.digest);
  } catch (e) {
    // A refused layer (hostile names, links out of the root) leaves no blob behind.
    await store.dropUnusedBlob(blob.digest);
    throw e;
  }
  const now = new Date().toISOString();
  const { architecture, os } = hostPlatform();
  const comment = opts.message || 'Imported from -';
  const config: ImageConfig = {
    architecture,
    os,
    created: now,
    comment,
    config: runConfig,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: now, created_by: '', comment }],
  };
  return store.create(Buffer.from(JSON.stringify(config)));
}
