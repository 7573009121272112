/**
 * The image store: image records (ID = config digest), their tags, and the link to the layer
 * stack in the snapshotter. Configs live as content blobs; this store keeps what `images`,
 * `inspect` and the container service need to answer without reading blobs.
 *
 * Invariants: every tag points at an existing image; every image's `top_chain` is a layer the
 * snapshotter has; an image row is written only after its config blob and layers exist.
 */
import { join } from 'node:path';
import { conflict, invalidArgument, notFound } from '../errdefs/index.ts';
import type { ContentStore } from '../content/index.ts';
import type { MetadataDb } from '../metadata/index.ts';
import type { Snapshotter } from '../snapshots/index.ts';
import { CompressedLayers } from './compressed.ts';
import {
  familiarString,
  isDigest,
  looksLikeId,
  missingImageName,
  parseReference,
  type Digest,
  type ImageConfig,
  type Reference,
} from '../spec/index.ts';

export interface Image {
  id: Digest;
  config: ImageConfig;
  created: string;
  added: string;
  topChain: Digest | null;
  size: number;
  parent: string | null;
  /** Familiar tags (`busybox:latest`), sorted. */
  tags: string[];
  /** Familiar `repo@sha256:...` of the manifests it was pulled by or pushed as, sorted. */
  digests: string[];
}

/** A layer's compressed blob in one registry repository: what push reuses. */
export interface KnownBlob {
  registry: string;
  repo: string;
  digest: Digest;
  mediaType: string;
  size: number;
}

interface ImageRow {
  id: string;
  created: string;
  added: string;
  top_chain: string | null;
  size: number;
  parent: string | null;
}

/** The database key of a reference: fully qualified, with its tag or digest. */
export function refKey(ref: Reference): string {
  return `${ref.domain}/${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

function keyToFamiliar(key: string): string {
  return familiarString(parseReference(key));
}

export class ImageStore {
  readonly content: ContentStore;
  readonly snapshots: Snapshotter;
  private readonly db: MetadataDb;
  private readonly configCache = new Map<string, ImageConfig>();

  /** Layers' compressed forms, kept for pushes. */
  readonly compressed: CompressedLayers;

  constructor(db: MetadataDb, content: ContentStore, snapshots: Snapshotter) {
    this.db = db;
    this.content = content;
    this.snapshots = snapshots;
    this.compressed = new CompressedLayers(db, content, snapshots, join(content.root, 'ingest'));
  }

  /**
   * Records an image from its config; the layers named by `rootfs.diff_ids` must already be
   * in the snapshotter (added in order). Returns the existing image if the config is known.
   */
  async create(configBytes: Buffer, opts: { parent?: string; compressLater?: boolean } = {}): Promise<Image> {
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch (e) {
      throw invalidArgument('create image: the config is not valid JSON', e);
    }
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids) || !config.rootfs.diff_ids.every(isDigest)) {
      throw invalidArgument('create image: the config has no valid rootfs.diff_ids');
    }
    const blob = await this.content.put(configBytes);
    const top = this.snapshots.topChain(config.rootfs.diff_ids);
    const layers = this.snapshots.stack(top);
    const size = layers.reduce((n, l) => n + l.size, 0);
    const now = new Date().toISOString();
    this.db
      .stmt('INSERT OR IGNORE INTO images (id, created, added, top_chain, size, parent) VALUES (?, ?, ?, ?, ?, ?)')
      .run(blob.digest, config.created ?? now, now, top, size, opts.parent ?? null);
    // Layers made here get their gzip form in the background, for a later push (a pull's
    // layers came compressed: they are compressed again only if they are pushed).
    if (opts.compressLater !== false) this.compressed.schedule(config.rootfs.diff_ids);
    return this.get(blob.digest);
  }

  /** Looks up by exact ID. */
  get(id: string): Image {
    const row = this.db.stmt('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    if (!row) throw notFound(`No such image: ${id}`);
    return this.toImage(row);
  }

  /** Resolves a name, `name:tag`, `name@digest`, a full or short ID. */
  resolve(nameOrId: string): Image {
    const id = this.resolveId(nameOrId);
    if (!id) throw notFound(`No such image: ${missingImageName(nameOrId)}`);
    return this.get(id);
  }

  /** The ID a name or ID resolves to, without reading the image; undefined if none. */
  idOf(nameOrId: string): Digest | undefined {
    return this.resolveId(nameOrId) as Digest | undefined;
  }

  /** Like `resolve`, but undefined instead of an error. */
  find(nameOrId: string): Image | undefined {
    const id = this.resolveId(nameOrId);
    return id ? this.get(id) : undefined;
  }

  private resolveId(s: string): string | undefined {
    if (s.startsWith('sha256:') && isDigest(s)) {
      return (this.db.stmt('SELECT id FROM images WHERE id = ?').get(s) as { id: string } | undefined)?.id;
    }
    let ref: Reference | undefined;
    try {
      ref = parseReference(s);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const row = this.db.stmt('SELECT image_id FROM tags WHERE ref = ?').get(refKey(ref)) as
        { image_id: string } | undefined;
      if (row) return row.image_id;
      if (ref.digest !== undefined) {
        const d = this.db
          .stmt('SELECT image_id FROM repo_digests WHERE ref = ?')
          .get(`${ref.domain}/${ref.path}@${ref.digest}`) as { image_id: string } | undefined;
        if (d) return d.image_id;
      }
    }
    if (looksLikeId(s)) {
      const hex = s.replace(/^sha256:/, '');
      const rows = this.db.stmt('SELECT id FROM images WHERE id LIKE ? LIMIT 2').all(`sha256:${hex}%`) as {
        id: string;
      }[];
      if (rows.length > 1) throw invalidArgument(`image ID "${s}" is ambiguous`);
      return rows[0]?.id;
    }
    return undefined;
  }

  list(): Image[] {
    return (this.db.stmt('SELECT * FROM images ORDER BY added DESC').all() as unknown as ImageRow[]).map((r) =>
      this.toImage(r),
    );
  }

  /** Points `ref` at image `id`, moving the tag if it pointed elsewhere. Returns the previous image. */
  tag(id: string, ref: string): string | undefined {
    const parsed = parseReference(ref);
    if (parsed.digest !== undefined && parsed.tag === undefined)
      throw invalidArgument(`tag "${ref}": refusing to create a tag with a digest reference`);
    const key = refKey(parsed);
    this.get(id);
    const prev = this.db.stmt('SELECT image_id FROM tags WHERE ref = ?').get(key) as { image_id: string } | undefined;
    this.db
      .stmt(
        'INSERT INTO tags (ref, image_id, tagged) VALUES (?, ?, ?) ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id, tagged = excluded.tagged',
      )
      .run(key, id, new Date().toISOString());
    return prev && prev.image_id !== id ? prev.image_id : undefined;
  }

  /** When a tag was last set on this image (Docker's LastTagTime), if ever. */
  lastTagTime(id: string): string | undefined {
    const row = this.db.stmt('SELECT MAX(tagged) AS t FROM tags WHERE image_id = ?').get(id) as
      { t: string | null } | undefined;
    return row?.t ?? undefined;
  }

  /** Every tag of one repository (`busybox` → `busybox:latest`, `busybox:1.36`, ...), by tag. */
  repoTags(name: string): Array<{ tag: string; id: Digest }> {
    const ref = parseReference(name);
    const prefix = `${ref.domain}/${ref.path}:`;
    const rows = this.db
      .stmt('SELECT ref, image_id FROM tags WHERE substr(ref, 1, ?) = ? ORDER BY ref')
      .all(prefix.length, prefix) as { ref: string; image_id: string }[];
    return rows
      .filter((r) => /^[\w][\w.-]*$/.test(r.ref.slice(prefix.length)))
      .map((r) => ({ tag: keyToFamiliar(r.ref), id: r.image_id as Digest }));
  }

  /** Records that image `id` is `repo@digest` in a registry (pulled by it or pushed as it). */
  addRepoDigest(id: string, ref: Pick<Reference, 'domain' | 'path'>, digest: Digest): void {
    this.get(id);
    this.db
      .stmt(
        'INSERT INTO repo_digests (ref, image_id) VALUES (?, ?) ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id',
      )
      .run(`${ref.domain}/${ref.path}@${digest}`, id);
  }

  /** Remembers where a layer's compressed blob is, so a later push can reuse it. */
  rememberBlob(diffId: Digest, b: KnownBlob): void {
    this.db
      .stmt(
        'INSERT INTO distribution (diff_id, registry, repo, digest, media_type, size) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(diff_id, registry, repo) DO UPDATE SET digest = excluded.digest, media_type = excluded.media_type, size = excluded.size',
      )
      .run(diffId, b.registry, b.repo, b.digest, b.mediaType, b.size);
  }

  /** The compressed blobs known for a layer on one registry, in any repository. */
  knownBlobs(diffId: Digest, registry: string): KnownBlob[] {
    return (
      this.db
        .stmt('SELECT registry, repo, digest, media_type, size FROM distribution WHERE diff_id = ? AND registry = ?')
        .all(diffId, registry) as { registry: string; repo: string; digest: string; media_type: string; size: number }[]
    ).map((r) => ({
      registry: r.registry,
      repo: r.repo,
      digest: r.digest as Digest,
      mediaType: r.media_type,
      size: r.size,
    }));
  }

  /** Forgets a blob a registry turned out not to have any more. */
  forgetBlob(diffId: Digest, registry: string, repo: string): void {
    this.db
      .stmt('DELETE FROM distribution WHERE diff_id = ? AND registry = ? AND repo = ?')
      .run(diffId, registry, repo);
  }

  /** Removes one tag (or repo digest); returns the image it pointed at. */
  untag(ref: string): string {
    const key = refKey(parseReference(ref));
    const row = this.db.stmt('SELECT image_id FROM tags WHERE ref = ?').get(key) as { image_id: string } | undefined;
    if (!row) {
      const d = this.db.stmt('SELECT image_id FROM repo_digests WHERE ref = ?').get(key) as
        { image_id: string } | undefined;
      if (d) {
        this.db.stmt('DELETE FROM repo_digests WHERE ref = ?').run(key);
        return d.image_id;
      }
    }
    if (!row) throw notFound(`No such image: ${ref}`);
    this.db.stmt('DELETE FROM tags WHERE ref = ?').run(key);
    return row.image_id;
  }

  /** Is `s` a tag (as opposed to an ID) that exists? */
  isTag(s: string): boolean {
    try {
      const key = refKey(parseReference(s));
      return (
        !!this.db.stmt('SELECT 1 FROM tags WHERE ref = ?').get(key) ||
        !!this.db.stmt('SELECT 1 FROM repo_digests WHERE ref = ?').get(key)
      );
    } catch {
      return false;
    }
  }

  tagCount(id: string): number {
    return (this.db.stmt('SELECT count(*) AS n FROM tags WHERE image_id = ?').get(id) as { n: number }).n;
  }

  /** Images whose parent is `id` (built or committed from it). */
  children(id: string): string[] {
    return (this.db.stmt('SELECT id FROM images WHERE parent = ?').all(id) as { id: string }[]).map((r) => r.id);
  }

  /** Deletes an untagged image record and its config blob; layers go in `snapshots.prune`. */
  async delete(id: string): Promise<void> {
    if (this.tagCount(id) > 0) throw conflict(`delete image "${id}": it is still tagged`);
    this.db.tx(() => {
      this.db.stmt('UPDATE images SET parent = NULL WHERE parent = ?').run(id);
      this.db.stmt('DELETE FROM repo_digests WHERE image_id = ?').run(id);
      this.db.stmt('DELETE FROM images WHERE id = ?').run(id);
    });
    this.configCache.delete(id);
    await this.content.delete(id as Digest);
  }

  /**
   * Deletes a content blob that is neither an image's config nor a layer's diff: what a failed
   * import or load ingested. A blob something still uses is left alone.
   */
  async dropUnusedBlob(digest: Digest): Promise<void> {
    if (this.db.stmt('SELECT 1 FROM images WHERE id = ?').get(digest)) return;
    if (this.snapshots.isDiffIdUsed(digest)) return;
    await this.content.delete(digest);
  }

  /**
   * Removes layers that a failed operation created, unless an image uses them by now. Every
   * other layer is protected: the set of layers to keep is taken synchronously, right before
   * the prune reads its own view, so a concurrent import's fresh layers are never touched.
   */
  async dropLayers(created: Iterable<string>): Promise<void> {
    const mine = new Set(created);
    if (!mine.size) return;
    const keep = new Set(
      (this.db.stmt('SELECT chain_id FROM layers').all() as { chain_id: string }[])
        .map((r) => r.chain_id)
        .filter((c) => !mine.has(c)),
    );
    await this.snapshots.prune(keep);
  }

  private toImage(r: ImageRow): Image {
    let config = this.configCache.get(r.id);
    if (!config) {
      const { readFileSync } = process.getBuiltinModule('node:fs');
      config = JSON.parse(readFileSync(this.content.path(r.id as Digest), 'utf8')) as ImageConfig;
      this.configCache.set(r.id, config);
    }
    const tags = (
      this.db.stmt('SELECT ref FROM tags WHERE image_id = ? ORDER BY ref').all(r.id) as { ref: string }[]
    ).map((t) => keyToFamiliar(t.ref));
    const digests = (
      this.db.stmt('SELECT ref FROM repo_digests WHERE image_id = ? ORDER BY ref').all(r.id) as { ref: string }[]
    ).map((t) => keyToFamiliar(t.ref));
    return {
      id: r.id as Digest,
      config,
      created: r.created,
      added: r.added,
      topChain: r.top_chain as Digest | null,
      size: r.size,
      parent: r.parent,
      tags,
      digests,
    };
  }
}
