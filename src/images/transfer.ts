/**
 * `docker save` and `docker load` in the docker-archive format: `manifest.json` (read by every
 * Docker since 1.10) plus the OCI layout Docker 25+ writes beside it (`index.json`,
 * `oci-layout`, `blobs/sha256/...`). Layers are the uncompressed tars kept as content blobs, so
 * a saved image loads back with the same ID, here and into dockerd.
 *
 * Loading trusts nothing in the archive: entry names are never used as paths on disk (each
 * file goes into the content store, addressed by its digest), links resolve only to other
 * entries, sizes are capped, and every layer must match the diff ID its config names.
 */
import { PassThrough, Readable } from 'node:stream';
import { posix } from 'node:path';
import { pack as tarPack, extract as tarExtract } from 'tar-stream';
import { invalidArgument } from '../errdefs/index.ts';
import { cleanEntryName, decompressed } from '../archive/index.ts';
import { familiarString, hexOf, isDigest, parseReference, sha256, MediaType, type Digest, type ImageConfig } from '../spec/index.ts';
import type { ImageStore, Image } from './store.ts';
import type { Progress } from './bootstrap.ts';

interface SaveItem {
  image: Image;
  tags: string[];
}

/** Resolves names to images and the tags to record: a name saves that tag, an ID saves none. */
function saveItems(store: ImageStore, names: readonly string[]): SaveItem[] {
  const items = new Map<string, SaveItem>();
  for (const n of names) {
    const image = store.resolve(n);
    const item = items.get(image.id) ?? { image, tags: [] };
    items.set(image.id, item);
    if (store.isTag(n)) {
      const t = familiarString(parseReference(n));
      if (!item.tags.includes(t)) item.tags.push(t);
    }
  }
  return [...items.values()];
}

export function saveImages(store: ImageStore, names: readonly string[]): Readable {
  if (!names.length) throw invalidArgument('save: no image names given');
  const items = saveItems(store, names);
  const p = tarPack();
  const written = new Set<string>();
  const file = (name: string, body: Buffer | string) =>
    new Promise<void>((resolve, reject) => p.entry({ name, mode: 0o644, mtime: new Date(0) }, body, (e) => (e ? reject(e) : resolve())));
  const blob = async (digest: Digest, size: number, source: () => Readable) => {
    if (written.has(digest)) return;
    written.add(digest);
    const w = p.entry({ name: `blobs/sha256/${hexOf(digest)}`, size, mode: 0o644, mtime: new Date(0) });
    await new Promise<void>((resolve, reject) => {
      const s = source();
      s.on('error', reject);
      w.on('error', reject);
      w.on('finish', () => resolve());
      s.pipe(w as unknown as NodeJS.WritableStream);
    });
  };
  (async () => {
    for (const dir of ['blobs/', 'blobs/sha256/']) {
      await new Promise<void>((resolve, reject) => p.entry({ name: dir, type: 'directory', mode: 0o755, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve())));
    }
    const manifest: object[] = [];
    const index: object[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { image, tags } of items) {
      const layers = store.snapshots.stack(image.topChain);
      const cfgInfo = await store.content.info(image.id);
      await blob(image.id, cfgInfo.size, () => store.content.stream(image.id));
      for (const l of layers) await blob(l.diffId, l.size, () => store.content.stream(l.diffId));
      const ociManifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: image.id, size: cfgInfo.size },
        layers: layers.map((l) => ({ mediaType: MediaType.OciLayer, digest: l.diffId, size: l.size })),
      }));
      const mDigest = sha256(ociManifest);
      await blob(mDigest, ociManifest.length, () => Readable.from([ociManifest]));
      manifest.push({ Config: `blobs/sha256/${hexOf(image.id)}`, RepoTags: tags, Layers: layers.map((l) => `blobs/sha256/${hexOf(l.diffId)}`) });
      const base = { mediaType: MediaType.OciManifest, digest: mDigest, size: ociManifest.length };
      if (!tags.length) index.push(base);
      for (const t of tags) {
        const ref = parseReference(t);
        index.push({ ...base, annotations: { 'io.containerd.image.name': `${ref.domain}/${ref.path}:${ref.tag}`, 'org.opencontainers.image.ref.name': ref.tag } });
        const repo = t.slice(0, t.lastIndexOf(':'));
        repositories[repo] = { ...repositories[repo], [ref.tag!]: hexOf(layers[layers.length - 1]?.chainId ?? image.id) };
      }
    }
    await file('index.json', JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index }));
    await file('manifest.json', JSON.stringify(manifest));
    await file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    if (Object.keys(repositories).length) await file('repositories', JSON.stringify(repositories));
    p.finalize();
  })().catch((e) => p.destroy(e));
  return Readable.from(p as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/** Largest archive `load` accepts, uncompressed. */
const MAX_ARCHIVE_BYTES = 64 * 1024 ** 3;

interface LoadedEntry {
  kind: 'file' | 'link';
  digest?: Digest;
  size?: number;
  target?: string;
}

export interface LoadResult {
  id: string;
  tags: string[];
}

export async function loadImages(store: ImageStore, source: Readable, progress: Progress): Promise<LoadResult[]> {
  const entries = new Map<string, LoadedEntry>();
  const ingested = new Set<Digest>();
  const ex = tarExtract();
  const work = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      const name = cleanEntryName(h.name);
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const body = new PassThrough();
        (entry as unknown as Readable).pipe(body);
        const info = await store.content.ingest(body);
        ingested.add(info.digest);
        entries.set(name, { kind: 'file', digest: info.digest, size: info.size });
      } else if (h.type === 'symlink' || h.type === 'link') {
        const target = h.type === 'symlink' ? posix.normalize(posix.join(posix.dirname(name), h.linkname ?? '')) : cleanEntryName(h.linkname ?? '');
        if (target.startsWith('..') || posix.isAbsolute(h.linkname ?? '') && h.type === 'symlink') throw invalidArgument(`load: entry "${h.name}" links outside the archive`);
        entries.set(name, { kind: 'link', target });
        entry.resume();
      } else entry.resume();
    }
  })();
  try {
    try {
      await Promise.all([new Promise<void>((resolve, reject) => {
        const plain = decompressed(source, MAX_ARCHIVE_BYTES);
        plain.on('error', reject);
        ex.on('error', reject);
        ex.on('finish', () => resolve());
        plain.pipe(ex as unknown as NodeJS.WritableStream);
      }), work]);
    } catch (e) {
      if ((e as { category?: string }).category) throw e;
      throw invalidArgument(`load: the archive is not a valid tar: ${(e as Error).message}`, e);
    }
    const resolveEntry = (name: string, depth = 0): LoadedEntry & { digest: Digest } => {
      const e = entries.get(cleanEntryName(name));
      if (!e) throw invalidArgument(`load: the archive has no "${name}"`);
      if (e.kind === 'link') {
        if (depth > 16) throw invalidArgument(`load: too many links at "${name}"`);
        return resolveEntry(e.target!, depth + 1);
      }
      return e as LoadedEntry & { digest: Digest };
    };
    const readJson = async <T>(name: string): Promise<T> => {
      const e = resolveEntry(name);
      if (e.size! > 16 * 1024 * 1024) throw invalidArgument(`load: "${name}" is too large`);
      try {
        return JSON.parse((await store.content.read(e.digest)).toString('utf8')) as T;
      } catch (err) {
        throw invalidArgument(`load: "${name}" is not valid JSON`, err);
      }
    };
    if (!entries.has('manifest.json')) throw invalidArgument('load: the archive has no manifest.json (not a docker-archive)');
    const manifest = await readJson<Array<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }>>('manifest.json');
    if (!Array.isArray(manifest)) throw invalidArgument('load: manifest.json is not a list');
    const results: LoadResult[] = [];
    for (const m of manifest) {
      if (typeof m?.Config !== 'string' || !Array.isArray(m.Layers)) throw invalidArgument('load: a manifest.json entry lacks Config or Layers');
      const cfgEntry = resolveEntry(m.Config);
      const cfgBytes = await store.content.read(cfgEntry.digest);
      let config: ImageConfig;
      try {
        config = JSON.parse(cfgBytes.toString('utf8')) as ImageConfig;
      } catch (e) {
        throw invalidArgument(`load: config "${m.Config}" is not valid JSON`, e);
      }
      const diffIds = config.rootfs?.diff_ids;
      if (!Array.isArray(diffIds) || !diffIds.every(isDigest) || diffIds.length !== m.Layers.length) {
        throw invalidArgument(`load: config "${m.Config}" names ${diffIds?.length ?? 0} layers, the manifest ${m.Layers.length}`);
      }
      let parent: Digest | null = null;
      for (let i = 0; i < m.Layers.length; i++) {
        const l = resolveEntry(m.Layers[i]!);
        const want = diffIds[i]!;
        progress({ status: 'Loading layer', id: hexOf(want).slice(0, 12), progressDetail: { current: l.size, total: l.size } });
        let layer;
        if (l.digest === want) layer = await store.snapshots.addLayerFromBlob(parent, want, l.size!);
        else {
          const existing = store.snapshots.get(parent ? sha256(`${parent} ${want}`) : want);
          layer = existing ?? (await store.snapshots.addLayer(parent, store.content.stream(l.digest)));
        }
        if (layer.diffId !== want) throw invalidArgument(`load: layer "${m.Layers[i]}" does not match diff ID ${want} (got ${layer.diffId})`);
        parent = layer.chainId;
      }
      const image = await store.create(cfgBytes);
      const tags: string[] = [];
      for (const t of m.RepoTags ?? []) {
        const prev = store.tag(image.id, t);
        if (prev) progress({ status: `The image ${t} already exists, renaming the old one with ID ${prev} to empty string` });
        tags.push(familiarString(parseReference(t)));
      }
      results.push({ id: image.id, tags });
    }
    return results;
  } finally {
    // Blobs the archive brought that no image or layer uses now (manifests, stray files) go.
    const keep = new Set<string>(store.list().map((i) => i.id));
    for (const d of ingested) {
      if (keep.has(d)) continue;
      if (store.snapshots.isDiffIdUsed(d)) continue;
      await store.content.delete(d);
    }
  }
}
