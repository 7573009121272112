/**
 * Which blobs a repository has: a blob's bytes are stored once (ContentStore), and a
 * repository has it through an empty link file. As in distribution, a blob pushed to one
 * repository is readable through another only after a push or a cross-repository mount there.
 * Blob files are never removed here, so no link can outlive its blob.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ContentStore } from '../content/index.ts';
import type { Digest } from '../spec/index.ts';
import { RegistryError, registryError } from './errors.ts';
import type { KeyedLock } from '../async/index.ts';
import type { RepositoryLayout } from './layout.ts';
import { pathExists } from '../fs/index.ts';
import { isRepositoryName } from './names.ts';

export class RepositoryBlobs {
  private readonly layout: RepositoryLayout;
  private readonly content: ContentStore;
  /** The repository's lock, shared with manifest writes (a manifest put checks its blobs). */
  private readonly repoLock: KeyedLock;

  constructor(layout: RepositoryLayout, content: ContentStore, repoLock: KeyedLock) {
    this.layout = layout;
    this.content = content;
    this.repoLock = repoLock;
  }

  /** Size of a blob the repository has; BLOB_UNKNOWN otherwise. */
  async stat(name: string, digest: Digest): Promise<number> {
    if (!(await pathExists(this.layout.blobLink(name, digest)))) {
      throw registryError('BLOB_UNKNOWN', `blob "${digest}" unknown to repository "${name}"`, { digest });
    }
    try {
      return (await this.content.info(digest)).size;
    } catch (e) {
      throw new RegistryError('BLOB_UNKNOWN', `blob "${digest}" unknown to repository "${name}"`, {
        detail: { digest },
        cause: e,
      });
    }
  }

  /** Path of a blob's bytes (after `stat` said the repository has it). */
  path(digest: Digest): string {
    return this.content.path(digest);
  }

  /** Unlinks a blob from one repository; its bytes stay for other repositories. */
  async delete(name: string, digest: Digest): Promise<void> {
    await this.repoLock.run(name, async () => {
      await this.stat(name, digest);
      await fs.rm(this.layout.blobLink(name, digest), { force: true });
    });
  }

  /** Links a blob `from` has into `name`; false when `from` does not have it. */
  async mount(name: string, from: string, digest: Digest): Promise<boolean> {
    if (!isRepositoryName(from)) return false;
    try {
      await this.stat(from, digest);
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'BLOB_UNKNOWN') return false;
      throw e;
    }
    await this.link(name, digest);
    return true;
  }

  /** Gives the repository a blob already in the store (after an upload, or a mount). */
  async link(name: string, digest: Digest): Promise<void> {
    const link = this.layout.blobLink(name, digest);
    await fs.mkdir(join(link, '..'), { recursive: true });
    // An empty file: its existence is the whole message, so creating it is already atomic.
    await fs.writeFile(link, '');
  }
}
