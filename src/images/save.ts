/**
 * `docker save`: images as the archive Docker 25+ writes, which every Docker since 1.10 also
 * loads: `manifest.json` (the docker-archive index), `repositories` (pre-1.10 tags), and an OCI
 * image layout beside it (`oci-layout`, `index.json`, `blobs/sha256/<hex>` for configs, OCI
 * manifests and the uncompressed layer tars). Layers are the content blobs their diff IDs name,
 * so a saved image loads back with the same ID, here and into dockerd.
 *
 * The archive is streamed: blobs are read from the content store as the consumer takes the
 * bytes, nothing is staged on disk or held whole in memory. Everything that can fail (names,
 * missing blobs) is checked before the first byte, so an error is an HTTP error, not a
 * truncated tar.
 */
import { Readable } from 'node:stream';
import { failedPrecondition, invalidArgument, notFound } from '../errdefs/index.ts';
import {
  familiarName,
  familiarString,
  hexOf,
  isDigest,
  looksLikeId,
  parseReference,
  sha256,
  MediaType,
  type Digest,
  type Descriptor,
  type Manifest,
  type Platform,
} from '../spec/index.ts';
import type { LayerCompression } from '../archive/index.ts';
import type { ImageStore, Image } from './store.ts';

interface SaveItem {
  image: Image;
  /** Familiar `name:tag` strings to record for the image, in request order. */
  tags: string[];
}

/** A name without tag or digest (`busybox`, `example.com/app`): `save` takes every tag of it. */
function isNameOnly(s: string): boolean {
  if (s.includes('@')) return false;
  const lastSlash = s.lastIndexOf('/');
  return s.lastIndexOf(':') <= lastSlash;
}

/**
 * Docker's rules for what a save name means: `repo:tag` saves that tag; a bare repository
 * name saves all its tags (or, if it has none, whatever else the name resolves to, e.g. a
 * short ID); an ID or `repo@digest` saves the image without tags.
 */
export function resolveSaveNames(store: ImageStore, names: readonly string[]): SaveItem[] {
  if (!names.length) throw invalidArgument('save: no image names given');
  const items = new Map<string, SaveItem>();
  const add = (image: Image, tag?: string) => {
    const item = items.get(image.id) ?? { image, tags: [] };
    items.set(image.id, item);
    if (tag && !item.tags.includes(tag)) item.tags.push(tag);
  };
  for (const name of names) {
    if (isDigest(name) || (looksLikeId(name) && !store.isTag(name))) {
      add(store.resolve(name));
      continue;
    }
    if (isNameOnly(name)) {
      const tagged = store.repoTags(name);
      if (tagged.length) {
        for (const t of tagged) add(store.get(t.id), t.tag);
        continue;
      }
      add(store.resolve(name));
      continue;
    }
    const ref = parseReference(name);
    const image = store.resolve(name);
    add(image, ref.tag !== undefined && ref.digest === undefined ? familiarString(ref) : undefined);
  }
  return [...items.values()];
}

/** A file of the archive: small JSON documents in memory, blobs streamed from the store. */
interface ArchiveFile {
  name: string;
  size: number;
  body: Buffer | (() => Readable);
}

/** What `save` will write, computed up front. */
export interface SavePlan {
  ids: Digest[];
  files: ArchiveFile[];
}

/** `save --compression`: layers written compressed (their kept form, made once) instead of as tars. */
export interface SaveOptions {
  compression?: { kind: LayerCompression; level?: number };
}

export async function planSave(store: ImageStore, names: readonly string[], o: SaveOptions = {}): Promise<SavePlan> {
  const items = resolveSaveNames(store, names);
  const files: ArchiveFile[] = [];
  const written = new Set<string>();
  const blob = async (digest: Digest) => {
    if (written.has(digest)) return;
    written.add(digest);
    const info = await store.content.info(digest).catch((e) => {
      throw notFound(`save: blob "${digest}" is missing from the content store`, e);
    });
    files.push({ name: `blobs/sha256/${hexOf(digest)}`, size: info.size, body: () => store.content.stream(digest) });
  };
  const manifest: object[] = [];
  const index: Descriptor[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, tags } of items) {
    const layers = store.snapshots.stack(image.topChain);
    for (const l of layers) {
      const file = await store.snapshots.fileSource(l.chainId);
      if (file)
        throw failedPrecondition(`save "${image.id}": the image runs from the file "${file}": save that file instead`);
    }
    await blob(image.id);
    const layerDescs: Descriptor[] = [];
    const layerFiles: string[] = [];
    for (const l of layers) {
      if (o.compression) {
        const form = await store.compressed.ensure(l.diffId, o.compression.kind, o.compression.level);
        await blob(form.digest);
        layerDescs.push({
          mediaType: o.compression.kind === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayerGzip,
          digest: form.digest,
          size: form.size,
        });
        layerFiles.push(`blobs/sha256/${hexOf(form.digest)}`);
        continue;
      }
      // The tar blob, or (a pulled layer) the tar decompressed from the form it came as.
      const tar = await store.compressed.tar(l.diffId).catch((e) => {
        throw notFound(`save: layer "${l.diffId}" is missing from the content store`, e);
      });
      if (!written.has(l.diffId)) {
        written.add(l.diffId);
        files.push({ name: `blobs/sha256/${hexOf(l.diffId)}`, size: tar.size, body: () => tar.open() });
      }
      layerDescs.push({ mediaType: MediaType.OciLayer, digest: l.diffId, size: tar.size });
      layerFiles.push(`blobs/sha256/${hexOf(l.diffId)}`);
    }
    const cfgSize = (await store.content.info(image.id)).size;
    const platform: Platform = {
      architecture: image.config.architecture,
      os: image.config.os,
      ...(image.config.variant ? { variant: image.config.variant } : {}),
    };
    const m: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: image.id, size: cfgSize },
      layers: layerDescs,
    };
    const mBytes = Buffer.from(JSON.stringify(m));
    const mDigest = sha256(mBytes);
    if (!written.has(mDigest)) {
      written.add(mDigest);
      files.push({ name: `blobs/sha256/${hexOf(mDigest)}`, size: mBytes.length, body: mBytes });
    }
    const base: Descriptor = { mediaType: MediaType.OciManifest, digest: mDigest, size: mBytes.length, platform };
    if (!tags.length) index.push(base);
    for (const t of tags) {
      const ref = parseReference(t);
      index.push({
        ...base,
        annotations: {
          'io.containerd.image.name': `${ref.domain}/${ref.path}:${ref.tag}`,
          'org.opencontainers.image.ref.name': ref.tag!,
        },
      });
      const repo = familiarName(ref);
      const top = layers[layers.length - 1];
      if (top) repositories[repo] = { ...repositories[repo], [ref.tag!]: hexOf(top.diffId) };
    }
    manifest.push({
      Config: `blobs/sha256/${hexOf(image.id)}`,
      RepoTags: tags.length ? tags : null,
      Layers: layerFiles,
    });
  }
  const json = (name: string, v: unknown) => {
    const body = Buffer.from(JSON.stringify(v) + (name.endsWith('.json') || name === 'repositories' ? '\n' : ''));
    files.push({ name, size: body.length, body });
  };
  json('index.json', { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index });
  json('manifest.json', manifest);
  files.push({ name: 'oci-layout', size: 30, body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') });
  if (Object.keys(repositories).length) json('repositories', repositories);
  return { ids: items.map((i) => i.image.id), files };
}

/** The tar stream of a plan. Destroying it stops reading (and closes) the current blob. */
export function writeArchive(plan: SavePlan): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    // Real directory entries: dockerd extracts the archive before reading it.
    yield tarHeader({ name: 'blobs/', type: 'directory', size: 0, mode: 0o755 });
    yield tarHeader({ name: 'blobs/sha256/', type: 'directory', size: 0, mode: 0o755 });
    for (const f of plan.files) {
      yield tarHeader({ name: f.name, type: 'file', size: f.size, mode: 0o644 });
      let n = 0;
      if (Buffer.isBuffer(f.body)) {
        n = f.body.length;
        yield f.body;
      } else {
        for await (const chunk of f.body()) {
          n += (chunk as Buffer).length;
          if (n > f.size) throw notFound(`save: blob "${f.name}" changed while being read`);
          yield chunk as Buffer;
        }
      }
      if (n !== f.size) throw notFound(`save: blob "${f.name}" changed while being read`);
      const pad = (512 - (f.size % 512)) % 512;
      if (pad) yield Buffer.alloc(pad);
    }
    yield Buffer.alloc(1024);
  }
  return Readable.from(generate(), { objectMode: false, highWaterMark: 1 << 20 });
}

export async function saveImages(
  store: ImageStore,
  names: readonly string[],
  o: SaveOptions = {},
): Promise<{ ids: Digest[]; stream: Readable }> {
  const plan = await planSave(store, names, o);
  return { ids: plan.ids, stream: writeArchive(plan) };
}

/** A ustar header (with base-256 sizes beyond 8 GiB, as GNU tar and Go read them). */
function tarHeader(h: { name: string; type: 'file' | 'directory'; size: number; mode: number }): Buffer {
  const b = Buffer.alloc(512);
  const name = Buffer.from(h.name);
  if (name.length > 100) throw invalidArgument(`save: archive name "${h.name}" is too long`);
  name.copy(b, 0);
  const octal = (v: number, off: number, len: number) =>
    b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
  octal(h.mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  if (h.size < 8 ** 11) octal(h.size, 124, 12);
  else {
    b[124] = 0x80;
    let v = BigInt(h.size);
    for (let i = 135; i > 124; i--) {
      b[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  octal(0, 136, 12);
  b.write(h.type === 'directory' ? '5' : '0', 156, 1, 'ascii');
  b.write('ustar\0', 257, 6, 'ascii');
  b.write('00', 263, 2, 'ascii');
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}
