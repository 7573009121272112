/**
 * The registry's storage: blobs, repositories, manifests, tags and upload sessions on disk.
 *
 * Layout under the root:
 *
 *   blobs/sha256/<hex>                          every blob and manifest, once (ContentStore)
 *   ingest/                                     ContentStore's scratch, emptied at open
 *   repositories/<name>/_blobs/<hex>            link: the repository has this blob
 *   repositories/<name>/_manifests/revisions/<hex>   link: it has this manifest; holds its media type
 *   repositories/<name>/_manifests/tags/<tag>   the digest the tag points at
 *   repositories/<name>/_manifests/referrers/<subject hex>/<hex>   link: a manifest whose
 *                                               `subject` is that manifest (referrers API)
 *   uploads/<uuid>/repository                   the repository an upload session belongs to
 *   uploads/<uuid>/data                         the bytes received so far
 *
 * Names, tags and digests are validated (names.ts) before they become path components, and
 * none of them can be `.`, `..`, or collide with `_blobs`, `_manifests` or `.tmp-*` files.
 *
 * Invariants, kept across a kill -9 at any instant by the order of writes (every file that
 * has content is written to a temporary name and renamed):
 * - a blob file, once present, is complete and matches its digest;
 * - a repository's blob link is written after the blob, a revision link after the manifest
 *   blob and the blobs/manifests it references are linked, a tag after its revision link;
 * - deleting a manifest removes the tags pointing at it before its revision link.
 * Blob files are never removed here, so no link can outlive its blob. Manifest writes and
 * deletions of one repository are serialised, so a concurrent delete cannot remove what a put
 * has just checked.
 *
 * The work is in three stores over one layout (layout.ts): `blobs` (which blobs a repository
 * has: blobs.ts), `uploads` (upload sessions: uploads.ts), `manifests` (manifests, tags and
 * referrers: manifests.ts, with manifest-check.ts for what a manifest may be).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ContentStore } from '../content/index.ts';
import { RepositoryBlobs } from './blobs.ts';
import { KeyedLock } from '../async/index.ts';
import { RepositoryLayout } from './layout.ts';
import { Manifests } from './manifests.ts';
import { Uploads } from './uploads.ts';

export interface StorageOptions {
  /** An upload untouched this long is removed by `uploads.expire` (default 24 hours). */
  uploadTtlMs?: number;
  /** Remove abandoned uploads at open (`uploadpurging.enabled`; default true). */
  purgeUploads?: boolean;
  /** Clock, for tests. */
  now?: () => number;
}

export class RegistryStorage {
  readonly root: string;
  readonly content: ContentStore;
  readonly blobs: RepositoryBlobs;
  readonly uploads: Uploads;
  readonly manifests: Manifests;
  private readonly layout: RepositoryLayout;

  private constructor(root: string, content: ContentStore, options: StorageOptions) {
    this.root = root;
    this.content = content;
    this.layout = new RepositoryLayout(join(root, 'repositories'));
    // one lock per repository: manifest writes and deletes, blob unlinks
    const repoLock = new KeyedLock();
    this.blobs = new RepositoryBlobs(this.layout, content, repoLock);
    this.manifests = new Manifests(this.layout, content, this.blobs, repoLock);
    this.uploads = new Uploads(
      { dir: join(root, 'uploads'), ttlMs: options.uploadTtlMs ?? 24 * 3600 * 1000, now: options.now ?? Date.now },
      this.layout,
      content,
      this.blobs,
    );
  }

  static async open(root: string, options: StorageOptions = {}): Promise<RegistryStorage> {
    const content = await ContentStore.open(root);
    const storage = new RegistryStorage(root, content, options);
    await fs.mkdir(join(root, 'repositories'), { recursive: true });
    await fs.mkdir(join(root, 'uploads'), { recursive: true });
    if (options.purgeUploads !== false) await storage.uploads.expire();
    return storage;
  }

  async repositoryExists(name: string): Promise<boolean> {
    return this.layout.exists(name);
  }

  /** Every repository with content, in lexical order (the catalog). */
  async listRepositories(): Promise<string[]> {
    return this.layout.list();
  }
}
