/**
 * Single-file images, as Apptainer has SIF: an image's flattened root file system as one
 * squashfs file with the image config inside it, run read-only straight from the file (a
 * loop mount as its only layer, a container's writable overlay on top: nothing is unpacked)
 * or loaded back into the store.
 *
 * The file: the merged root of the image's layers (whiteouts applied), plus `/.berth/config.json`
 * (the image config's exact bytes, so the original image ID can be told) and
 * `/.berth/image.json` (`{"id", "repoTags"}`), made by Debian's mksquashfs (squashfs-tools).
 *
 *   const file = await packImage(store, host, image, tmp);       // a temporary .sqfs
 *   const img = await attachFile(store, '/srv/app.sqfs');         // runnable image, file-backed
 *   const loaded = await loadSquashfs(store, host, file, tmp);    // unpacked, one layer
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { tarDirectory } from '../archive/index.ts';
import { failedPrecondition, invalidArgument } from '../errdefs/index.ts';
import type { Host } from '../host/index.ts';
import { isDigest, type Digest, type ImageConfig } from '../spec/index.ts';
import type { Image, ImageStore } from './store.ts';

/** `hsqs`: a squashfs 4 superblock, little-endian. */
const SQUASHFS_MAGIC = 0x73717368;
export const META_DIR = '.berth';

export interface PackedMeta {
  id: string;
  repoTags: string[];
}

/**
 * Refuses what is not a whole squashfs file: the magic, and the size the superblock says it
 * uses (`bytes_used`, at offset 40) against the file's, which a truncated copy falls short of.
 */
export async function checkSquashfs(path: string, label = path): Promise<void> {
  let fh;
  try {
    fh = await fs.open(path, 'r');
  } catch (e) {
    throw invalidArgument(`image file "${label}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw invalidArgument(`image file "${label}": not a regular file`);
    const head = Buffer.alloc(96);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < head.length || head.readUInt32LE(0) !== SQUASHFS_MAGIC)
      throw invalidArgument(`image file "${label}": not a squashfs file (make one with berth image pack)`);
    const used = Number(head.readBigUInt64LE(40));
    if (used > st.size)
      throw invalidArgument(
        `image file "${label}": truncated: the squashfs says ${used} bytes, the file has ${st.size}`,
      );
  } finally {
    await fh.close();
  }
}

/** The config inside a mounted or unpacked file, checked to be an image config. */
async function readPackedConfig(root: string, path: string): Promise<{ bytes: Buffer; config: ImageConfig }> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(join(root, META_DIR, 'config.json'));
  } catch {
    throw invalidArgument(`image file "${path}": no image config in it (/${META_DIR}/config.json is missing)`);
  }
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (e) {
    throw invalidArgument(`image file "${path}": /${META_DIR}/config.json is not JSON`, e);
  }
  if (!config || typeof config !== 'object' || (config.os && config.os !== 'linux'))
    throw invalidArgument(`image file "${path}": /${META_DIR}/config.json is not a linux image config`);
  return { bytes, config };
}

async function readPackedMeta(root: string): Promise<PackedMeta | undefined> {
  try {
    const j = JSON.parse(await fs.readFile(join(root, META_DIR, 'image.json'), 'utf8')) as Partial<PackedMeta>;
    return { id: String(j.id ?? ''), repoTags: Array.isArray(j.repoTags) ? j.repoTags.map(String) : [] };
  } catch {
    return undefined;
  }
}

/** A new config for the file's root as the one layer (the original's history and settings kept). */
function oneLayerConfig(config: ImageConfig, diffId: Digest, comment: string): Buffer {
  const next: ImageConfig = {
    ...config,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: config.created ?? new Date().toISOString(), created_by: comment }],
  };
  return Buffer.from(JSON.stringify(next));
}

/**
 * Writes `image` as a squashfs file in `tmp` and returns its path (the caller streams and
 * removes it). The layers are merged by a read-only overlay mount, so whiteouts are applied
 * as a container would see the root.
 */
export async function packImage(store: ImageStore, host: Host, image: Image, tmp: string): Promise<string> {
  const work = join(tmp, `pack-${randomBytes(8).toString('hex')}`);
  const root = join(work, 'root');
  const empty = join(work, 'empty');
  const out = join(work, 'image.sqfs');
  await fs.mkdir(root, { recursive: true });
  await fs.mkdir(empty);
  for (const l of store.snapshots.stack(image.topChain))
    if (await store.snapshots.fileSource(l.chainId))
      throw failedPrecondition(`pack image "${image.id}": it runs from a file already`);
  // Topmost first; an empty directory at the bottom, since an overlay without an upper
  // directory needs two lower ones.
  const lowers = [...store.snapshots.lowerDirs(image.topChain).slice(1), empty];
  const configFile = join(work, 'config.json');
  const metaFile = join(work, 'image.json');
  await fs.writeFile(configFile, await store.content.read(image.id));
  await fs.writeFile(metaFile, JSON.stringify({ id: image.id, repoTags: image.tags } satisfies PackedMeta));
  let mounted = false;
  try {
    await host.mount('overlay', 'overlay', root, [`lowerdir=${lowers.join(':')}`]);
    mounted = true;
    await host.run('mksquashfs', [
      root,
      out,
      '-noappend',
      '-quiet',
      '-no-progress',
      '-comp',
      'zstd',
      '-p',
      `/${META_DIR} d 755 0 0`,
      '-p',
      `/${META_DIR}/config.json f 444 0 0 cat ${configFile}`,
      '-p',
      `/${META_DIR}/image.json f 444 0 0 cat ${metaFile}`,
    ]);
  } catch (e) {
    if (mounted) await host.unmount(root).catch(() => {});
    await fs.rm(work, { recursive: true, force: true });
    if ((e as Error).message.includes('ENOENT') || /mksquashfs: not found|spawn mksquashfs/.test((e as Error).message))
      throw failedPrecondition('pack: mksquashfs is not installed (Debian package squashfs-tools)', e);
    throw e;
  }
  await host.unmount(root);
  return out;
}

/**
 * The layer ID of a file: the file as it is now (device, inode, size, modification time).
 * A file changed in place is a new layer; the same file attached again is the same one.
 */
async function fileLayerId(path: string): Promise<Digest> {
  const st = await fs.stat(path);
  return `sha256:${createHash('sha256').update(`squashfs\0${path}\0${st.dev}:${st.ino}\0${st.size}\0${st.mtimeMs}`).digest('hex')}`;
}

/**
 * An image that runs from a squashfs file: the file, loop-mounted read-only, is its one layer.
 * Mounting needs loop devices; a machine or file system without them gets a clear error.
 */
export async function attachFile(store: ImageStore, file: string): Promise<Image> {
  const path = resolve(file);
  await checkSquashfs(path);
  const id = await fileLayerId(path);
  let layer;
  try {
    layer = await store.snapshots.addFileLayer(id, path);
  } catch (e) {
    const why = (e as Error).message;
    if (/loop device|loop/i.test(why))
      throw failedPrecondition(`run from "${path}": cannot mount it through a loop device: ${why}`, e);
    throw invalidArgument(`run from "${path}": mount it: ${why}`, e);
  }
  const { config } = await readPackedConfig(store.snapshots.diffDir(layer), path).catch(async (e: unknown) => {
    await store.dropLayers([layer.chainId]).catch(() => {});
    throw e;
  });
  return store.create(oneLayerConfig(config, id, `berth run ${path}`), { compressLater: false });
}

/**
 * `berth image load` of a squashfs file: unpacked (unsquashfs) into a one-layer image with the
 * config it carries, tagged as the packed image was.
 */
export async function loadSquashfs(
  store: ImageStore,
  host: Host,
  file: string,
  tmp: string,
  label = file,
): Promise<{ image: Image; tags: string[] }> {
  await checkSquashfs(file, label);
  const work = join(tmp, `unsquash-${randomBytes(8).toString('hex')}`);
  const root = join(work, 'root');
  await fs.mkdir(work, { recursive: true });
  try {
    try {
      await host.run('unsquashfs', ['-no-progress', '-quiet', '-d', root, file]);
    } catch (e) {
      throw invalidArgument(`image file "${label}": unpack it: ${(e as Error).message}`, e);
    }
    const { config } = await readPackedConfig(root, label);
    const meta = await readPackedMeta(root);
    const layer = await store.snapshots.addLayer(
      null,
      tarDirectory(root, { host, exclude: (rel) => rel === META_DIR || rel.startsWith(`${META_DIR}/`) }),
    );
    const image = await store.create(oneLayerConfig(config, layer.diffId, 'berth image load of a squashfs file'));
    const tags: string[] = [];
    for (const t of meta?.repoTags ?? []) {
      if (!t || isDigest(t)) continue;
      store.tag(image.id, t);
      tags.push(t);
    }
    return { image: store.get(image.id), tags };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
