/**
 * `docker load`: images from a tar archive (plain, gzip or zstd) in any of the formats Docker
 * reads or writes: the docker-archive (`manifest.json` with `<id>/layer.tar` paths, duplicate
 * layers as symlinks, as Docker before 25 wrote it, or `blobs/sha256/<hex>` paths as Docker 25+
 * writes it) and a plain OCI image layout (`index.json`, possibly nested indexes, gzip or zstd
 * layers), as skopeo, buildx and containerd write it.
 *
 * The archive is hostile until proven otherwise:
 * - it is read into scratch files and a map of its names, links resolved inside it only
 *   (loadarchive.ts); the uncompressed archive, the number of files and each JSON document are capped;
 * - everything structural (JSON shapes, configs, tags, that every named file exists, blob
 *   digests under `blobs/sha256/`) is checked before any layer is stored; then each layer
 *   must hash to the diff ID its config names, or the load fails and drops what it added.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { invalidArgument, messageOf } from '../errdefs/index.ts';
import { decompressed } from '../archive/index.ts';
import {
  familiarString,
  hexOf,
  hostPlatform,
  isDescriptor,
  isDigest,
  parseReference,
  sha256,
  MediaType,
  type Digest,
  type Descriptor,
  type ImageConfig,
} from '../spec/index.ts';
import { readArchive, type ArchiveIndex, type FileNode } from './loadarchive.ts';
import { byteMeter, type Progress } from './progress.ts';
import type { ImageStore } from './store.ts';

export interface LoadOptions {
  /** Scratch directory on the data root's file system (emptied at daemon start). */
  tmp: string;
  /** Progress lines and the `Loaded image: ...` text. */
  out: Progress;
  /** No progress lines (the text lines still come), as `docker load -q`. */
  quiet?: boolean;
  /** Cap on the uncompressed archive. */
  maxBytes?: number;
  /** Cap on the number of entries in the archive. */
  maxEntries?: number;
  /** Called as each image is recorded, before the next one is read. */
  onLoaded?: (r: LoadResult) => void;
}

export interface LoadResult {
  id: Digest;
  /** Familiar tags, as `docker images` shows them. */
  tags: string[];
}

export const DEFAULT_MAX_LOAD_BYTES = 64 * 1024 ** 3;
export const DEFAULT_MAX_LOAD_ENTRIES = 200_000;
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const MAX_LAYERS = 128;

interface LayerPlan {
  /** Name in the archive, for messages. */
  name: string;
  file: FileNode;
  diffId: Digest;
}

interface ImagePlan {
  /** Where the config is in the archive, for messages. */
  configName: string;
  configBytes: Buffer;
  layers: LayerPlan[];
  tags: string[];
}

async function readJsonFile<T>(
  index: ArchiveIndex,
  name: string,
  node?: FileNode,
): Promise<{ value: T; bytes: Buffer }> {
  const f = node ?? index.lookup(name);
  if (f.size > MAX_JSON_BYTES)
    throw invalidArgument(`load: "${name}" is too large (${f.size} bytes) for a JSON document`);
  const bytes = await index.read(f, name);
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as T, bytes };
  } catch (e) {
    throw invalidArgument(`load: "${name}" is not valid JSON: ${messageOf(e)}`, e);
  }
}

/** A file named `blobs/sha256/<hex>` must hash to that digest. */
function checkBlobName(name: string, f: FileNode): void {
  const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(
    name
      .split('/')
      .filter((c) => c && c !== '.')
      .join('/'),
  );
  if (m && f.digest !== `sha256:${m[1]}`)
    throw invalidArgument(`load: "${name}" does not match its digest name (its content is ${f.digest})`);
}

function parseConfig(bytes: Buffer, name: string): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (e) {
    throw invalidArgument(`load: image config "${name}" is not valid JSON: ${messageOf(e)}`, e);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw invalidArgument(`load: image config "${name}" is not a JSON object`);
  const ids = config.rootfs?.diff_ids as unknown;
  if (!Array.isArray(ids) || !ids.every((d) => typeof d === 'string' && isDigest(d))) {
    throw invalidArgument(`load: image config "${name}" has no valid rootfs.diff_ids`);
  }
  // Docker's overlay2 stops at 128 lowers; a longer stack is unusable and only costs disk.
  if (ids.length > MAX_LAYERS)
    throw invalidArgument(
      `load: image config "${name}" has ${ids.length} layers, more than the ${MAX_LAYERS} an image may have`,
    );
  if (config.os !== undefined && config.os !== 'linux')
    throw invalidArgument(`load: cannot load ${config.os} image "${name}" on linux`);
  return config;
}

function parseTag(t: unknown, where: string): string {
  if (typeof t !== 'string') throw invalidArgument(`load: invalid tag ${JSON.stringify(t)} in ${where}`);
  let ref;
  try {
    ref = parseReference(t);
  } catch (e) {
    throw invalidArgument(`load: invalid tag "${t}" in ${where}: ${messageOf(e)}`, e);
  }
  if (ref.digest !== undefined)
    throw invalidArgument(`load: invalid tag "${t}" in ${where}: a tag cannot have a digest`);
  return familiarString(ref);
}

async function planDockerArchive(index: ArchiveIndex): Promise<ImagePlan[]> {
  const { value: manifest } = await readJsonFile<unknown>(index, 'manifest.json');
  if (!Array.isArray(manifest)) throw invalidArgument('load: manifest.json is not a list of images (invalid manifest)');
  const plans: ImagePlan[] = [];
  for (const [i, item] of manifest.entries()) {
    const where = `manifest.json entry ${i}`;
    if (typeof item !== 'object' || item === null) throw invalidArgument(`load: ${where} is not an object`);
    const m = item as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof m.Config !== 'string' || !m.Config) throw invalidArgument(`load: ${where} has no Config`);
    if (!Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === 'string'))
      throw invalidArgument(`load: ${where} has no valid Layers list`);
    if (m.RepoTags !== undefined && m.RepoTags !== null && !Array.isArray(m.RepoTags))
      throw invalidArgument(`load: ${where} has an invalid RepoTags`);
    const cfgNode = index.lookup(m.Config);
    checkBlobName(m.Config, cfgNode);
    const { bytes: configBytes } = await readJsonFile<unknown>(index, m.Config, cfgNode);
    const config = parseConfig(configBytes, m.Config);
    const layers = m.Layers as string[];
    if (layers.length !== config.rootfs.diff_ids.length) {
      throw invalidArgument(
        `load: invalid manifest, layers length mismatch: "${m.Config}" names ${config.rootfs.diff_ids.length} layers, manifest.json ${layers.length}`,
      );
    }
    plans.push({
      configName: m.Config,
      configBytes,
      tags: ((m.RepoTags as unknown[] | null | undefined) ?? []).map((t) => parseTag(t, where)),
      layers: layers.map((name, j) => {
        const file = index.lookup(name);
        checkBlobName(name, file);
        return { name, file, diffId: config.rootfs.diff_ids[j]! };
      }),
    });
  }
  return plans;
}

const MANIFEST_TYPES = new Set<string>([MediaType.OciManifest, MediaType.DockerManifest]);
const INDEX_TYPES = new Set<string>([MediaType.OciIndex, MediaType.DockerManifestList]);
const LAYER_TYPES = new Set<string>([
  MediaType.OciLayer,
  MediaType.OciLayerGzip,
  MediaType.OciLayerZstd,
  MediaType.DockerLayer,
  MediaType.DockerLayerGzip,
]);

/** The name an OCI index entry gives its image: containerd's annotation, or a full reference in `ref.name`. */
function ociName(desc: Descriptor, where: string): string | undefined {
  const a = desc.annotations ?? {};
  const full = a['io.containerd.image.name'];
  if (full) return parseTag(full, where);
  const refName = a['org.opencontainers.image.ref.name'];
  // A bare `latest` is only a tag: without a repository name there is nothing to tag.
  if (refName && /[:/]/.test(refName)) {
    try {
      return parseTag(refName, where);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

async function planOciLayout(index: ArchiveIndex): Promise<ImagePlan[]> {
  const blob = (d: Descriptor, what: string): FileNode => {
    const name = `blobs/sha256/${hexOf(d.digest)}`;
    let f: FileNode;
    try {
      f = index.lookup(name);
    } catch (e) {
      throw invalidArgument(`load: ${what} ${d.digest} is not in the archive`, e);
    }
    if (f.digest !== d.digest)
      throw invalidArgument(`load: "${name}" does not match its digest name (its content is ${f.digest})`);
    if (f.size !== d.size)
      throw invalidArgument(`load: ${what} ${d.digest} has ${f.size} bytes, its descriptor says ${d.size}`);
    return f;
  };
  const { value: top } = await readJsonFile<{ manifests?: unknown }>(index, 'index.json');
  if (typeof top !== 'object' || top === null || !Array.isArray(top.manifests))
    throw invalidArgument('load: index.json has no manifests list');
  const host = hostPlatform();
  const byManifest = new Map<string, ImagePlan>();
  const visit = async (desc: Descriptor, tag: string | undefined, depth: number): Promise<void> => {
    if (depth > 4) throw invalidArgument('load: index.json nests indexes too deeply');
    if (INDEX_TYPES.has(desc.mediaType)) {
      const f = blob(desc, 'index');
      const { value: child } = await readJsonFile<{ manifests?: unknown }>(
        index,
        `blobs/sha256/${hexOf(desc.digest)}`,
        f,
      );
      if (
        typeof child !== 'object' ||
        child === null ||
        !Array.isArray(child.manifests) ||
        !child.manifests.every(isDescriptor)
      ) {
        throw invalidArgument(`load: index ${desc.digest} has no valid manifests list`);
      }
      const images = (child.manifests as Descriptor[]).filter(
        (d) => MANIFEST_TYPES.has(d.mediaType) || INDEX_TYPES.has(d.mediaType),
      );
      const match = images.find(
        (d) => !d.platform || (d.platform.os === host.os && d.platform.architecture === host.architecture),
      );
      if (!match) throw invalidArgument(`load: index ${desc.digest} has no image for ${host.os}/${host.architecture}`);
      await visit(match, tag, depth + 1);
      return;
    }
    if (!MANIFEST_TYPES.has(desc.mediaType)) return; // attestations, signatures and other artifacts
    const known = byManifest.get(desc.digest);
    if (known) {
      if (tag && !known.tags.includes(tag)) known.tags.push(tag);
      return;
    }
    const mf = blob(desc, 'manifest');
    const { value: m } = await readJsonFile<{ config?: unknown; layers?: unknown }>(
      index,
      `blobs/sha256/${hexOf(desc.digest)}`,
      mf,
    );
    if (
      typeof m !== 'object' ||
      m === null ||
      !isDescriptor(m.config) ||
      !Array.isArray(m.layers) ||
      !m.layers.every(isDescriptor)
    ) {
      throw invalidArgument(`load: manifest ${desc.digest} is not a valid image manifest`);
    }
    const cf = blob(m.config, 'config');
    const configName = `blobs/sha256/${hexOf(m.config.digest)}`;
    const { bytes: configBytes } = await readJsonFile<unknown>(index, configName, cf);
    const config = parseConfig(configBytes, configName);
    const layers = m.layers as Descriptor[];
    if (layers.length !== config.rootfs.diff_ids.length) {
      throw invalidArgument(
        `load: manifest ${desc.digest} has ${layers.length} layers, its config names ${config.rootfs.diff_ids.length}`,
      );
    }
    byManifest.set(desc.digest, {
      configName,
      configBytes,
      tags: tag ? [tag] : [],
      layers: layers.map((l, j) => {
        if (!LAYER_TYPES.has(l.mediaType))
          throw invalidArgument(`load: layer ${l.digest} has the unsupported media type "${l.mediaType}"`);
        return { name: `blobs/sha256/${hexOf(l.digest)}`, file: blob(l, 'layer'), diffId: config.rootfs.diff_ids[j]! };
      }),
    });
  };
  for (const [i, d] of top.manifests.entries()) {
    if (!isDescriptor(d)) throw invalidArgument(`load: index.json entry ${i} is not a valid descriptor`);
    await visit(d, ociName(d, `index.json entry ${i}`), 0);
  }
  return [...byManifest.values()];
}

/** Loads every image of the archive; see the module comment for what is checked. */
export async function loadImages(store: ImageStore, source: Readable, opts: LoadOptions): Promise<LoadResult[]> {
  await fs.mkdir(opts.tmp, { recursive: true });
  const work = join(opts.tmp, `load-${randomBytes(8).toString('hex')}`);
  await fs.mkdir(work, { mode: 0o700 });
  try {
    const index = await readArchive(source, work, {
      maxBytes: opts.maxBytes ?? DEFAULT_MAX_LOAD_BYTES,
      maxEntries: opts.maxEntries ?? DEFAULT_MAX_LOAD_ENTRIES,
    });
    let plans: ImagePlan[];
    if (index.has('manifest.json')) plans = await planDockerArchive(index);
    else if (index.has('index.json')) plans = await planOciLayout(index);
    else if (index.has('repositories'))
      throw invalidArgument(
        'load: the archive has no manifest.json: pre-1.10 Docker archives (repositories and <id>/json only) are not supported',
      );
    else
      throw invalidArgument('load: the archive has neither manifest.json nor index.json: it is not an image archive');
    const results: LoadResult[] = [];
    for (const plan of plans) {
      const r = await loadOne(store, plan, opts);
      results.push(r);
      opts.onLoaded?.(r);
    }
    return results;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function loadOne(store: ImageStore, plan: ImagePlan, opts: LoadOptions): Promise<LoadResult> {
  const created: string[] = [];
  const ingested: Digest[] = [];
  try {
    let parent: Digest | null = null;
    for (const l of plan.layers) {
      const chainId: Digest = parent ? sha256(`${parent} ${l.diffId}`) : l.diffId;
      if (store.snapshots.get(chainId)) {
        parent = chainId;
        continue;
      }
      const id = hexOf(l.diffId).slice(0, 12);
      const total = l.file.size;
      const meter = byteMeter(512 * 1024, (current) => {
        if (!opts.quiet) opts.out({ status: 'Loading layer', id, progressDetail: { current, total } });
      });
      if (await store.content.has(l.diffId)) {
        meter.add(total);
      } else {
        const raw = createReadStream(l.file.file);
        const counted = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            meter.add(chunk.length);
            cb(null, chunk);
          },
        });
        raw.on('error', (e) => counted.destroy(e));
        counted.on('close', () => raw.destroy());
        raw.pipe(counted);
        try {
          await store.content.ingest(decompressed(counted, opts.maxBytes), { digest: l.diffId });
        } catch (e) {
          raw.destroy();
          if (/digest mismatch/.test(messageOf(e))) {
            throw invalidArgument(
              `load: layer "${l.name}" does not match the diff ID ${l.diffId} that "${plan.configName}" names for it`,
              e,
            );
          }
          throw invalidArgument(`load: layer "${l.name}": ${messageOf(e)}`, e);
        }
        ingested.push(l.diffId);
      }
      meter.done();
      const layer = await store.snapshots.addLayerFromBlob(parent, l.diffId);
      created.push(layer.chainId);
      parent = layer.chainId;
    }
    const image = await store.create(plan.configBytes);
    const tags: string[] = [];
    for (const t of plan.tags) {
      const prev = store.tag(image.id, t);
      if (prev)
        opts.out({ stream: `The image ${t} already exists, renaming the old one with ID ${prev} to empty string\n` });
      opts.out({ stream: `Loaded image: ${t}\n` });
      tags.push(t);
    }
    if (!tags.length) opts.out({ stream: `Loaded image ID: ${image.id}\n` });
    return { id: image.id, tags };
  } catch (e) {
    // Nothing of a failed image stays: its new layers and the blobs only they used go.
    await store.dropLayers(created).catch(() => {});
    for (const d of ingested) await store.dropUnusedBlob(d).catch(() => {});
    throw e;
  }
}
