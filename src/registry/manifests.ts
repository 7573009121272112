/**
 * Manifests and tags of a repository: a manifest is checked (manifest-check.ts) and all it
 * references must be in the repository before it is stored; its exact bytes go to the blob
 * store, a revision link (holding its media type) makes it the repository's, a tag file
 * names the digest a tag points at, and a manifest with a `subject` gets a referrers link.
 * Writes are ordered blob → revision → referrer → tag and deletes tag → referrer → revision,
 * and a repository's writes and deletes are serialised, so a kill at any point leaves no tag
 * on a missing manifest.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ContentStore } from '../content/index.ts';
import type { Digest } from '../spec/index.ts';
import type { RepositoryBlobs } from './blobs.ts';
import { RegistryError, registryError } from './errors.ts';
import type { KeyedLock } from '../async/index.ts';
import { compareLexical, digestOfHex, isDigestText, readText, writeAtomic, type RepositoryLayout } from './layout.ts';
import { pathExists } from '../fs/index.ts';
import { descriptor, manifestMediaType, referencesOf } from './manifest-check.ts';
import { isTag, type ManifestReference } from './names.ts';

/** Manifests are small; anything bigger is refused before it is read in full. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  body: Buffer;
}

export class Manifests {
  private readonly layout: RepositoryLayout;
  private readonly content: ContentStore;
  private readonly blobs: RepositoryBlobs;
  /** The repository's lock, shared with blob deletes. */
  private readonly repoLock: KeyedLock;

  constructor(layout: RepositoryLayout, content: ContentStore, blobs: RepositoryBlobs, repoLock: KeyedLock) {
    this.layout = layout;
    this.content = content;
    this.blobs = blobs;
    this.repoLock = repoLock;
  }

  /**
   * Stores a manifest under a tag or digest after checking it: its media type (from the
   * Content-Type, or its own `mediaType` field when the Content-Type is generic), its shape,
   * and that everything it references is in the repository. The exact bytes are kept.
   */
  async put(
    name: string,
    reference: ManifestReference,
    body: Buffer,
    contentType: string | undefined,
  ): Promise<{ digest: Digest; mediaType: string; subject?: Digest }> {
    // By the reference's algorithm when it is a digest (sha512 is allowed), else sha256.
    const algorithm = reference.digest?.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(body).digest('hex')}` as Digest;
    if (reference.digest !== undefined && reference.digest !== digest) {
      throw registryError(
        'DIGEST_INVALID',
        `manifest digest mismatch: the reference is "${reference.digest}", the content is "${digest}"`,
        {
          expected: reference.digest,
          actual: digest,
        },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new RegistryError('MANIFEST_INVALID', `manifest is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw registryError('MANIFEST_INVALID', 'manifest is not a JSON object');
    }
    const manifest = parsed as Record<string, unknown>;
    const mediaType = manifestMediaType(manifest, contentType);
    const refs = referencesOf(manifest, mediaType);
    // The subject need not be in the repository (an artifact may arrive before its image).
    const subject = manifest.subject === undefined ? undefined : descriptor(manifest.subject, 'subject').digest;
    return this.repoLock.run(name, async () => {
      for (const ref of refs.blobs) {
        let size: number;
        try {
          size = await this.blobs.stat(name, ref.digest);
        } catch (e) {
          if (e instanceof RegistryError && e.code === 'BLOB_UNKNOWN') {
            throw registryError(
              'MANIFEST_BLOB_UNKNOWN',
              `manifest references blob "${ref.digest}" unknown to repository "${name}"`,
              { digest: ref.digest },
            );
          }
          throw e;
        }
        if (size !== ref.size) {
          throw registryError(
            'MANIFEST_INVALID',
            `manifest gives blob "${ref.digest}" size ${ref.size}, it has ${size}`,
            { digest: ref.digest },
          );
        }
      }
      for (const ref of refs.manifests) {
        if (!(await pathExists(this.layout.revisionLink(name, ref.digest)))) {
          throw new RegistryError(
            'MANIFEST_UNKNOWN',
            `index references manifest "${ref.digest}" unknown to repository "${name}"`,
            {
              detail: { digest: ref.digest },
              status: 400,
            },
          );
        }
      }
      await this.content.ingest(Readable.from([body]), { digest, size: body.length });
      await writeAtomic(this.layout.revisionLink(name, digest), mediaType);
      if (subject !== undefined) await writeAtomic(this.layout.referrerLink(name, subject, digest), '');
      if (reference.tag !== undefined) await writeAtomic(this.layout.tagFile(name, reference.tag), digest);
      return subject === undefined ? { digest, mediaType } : { digest, mediaType, subject };
    });
  }

  private unknownManifest(name: string, ref: string): RegistryError {
    return registryError('MANIFEST_UNKNOWN', `manifest "${ref}" unknown to repository "${name}"`, {
      name,
      reference: ref,
    });
  }

  /** The digest a tag or digest reference resolves to in the repository. */
  async resolve(name: string, reference: ManifestReference): Promise<{ digest: Digest; mediaType: string }> {
    let digest: Digest;
    if (reference.tag !== undefined) {
      const text = await readText(this.layout.tagFile(name, reference.tag));
      if (text === undefined) throw this.unknownManifest(name, reference.tag);
      const target = text.trim();
      if (!isDigestText(target)) throw this.unknownManifest(name, reference.tag);
      digest = target;
    } else {
      digest = reference.digest;
    }
    const mediaType = await readText(this.layout.revisionLink(name, digest));
    if (mediaType === undefined || !(await this.content.has(digest))) {
      throw this.unknownManifest(name, reference.tag ?? digest);
    }
    return { digest, mediaType };
  }

  async get(name: string, reference: ManifestReference): Promise<StoredManifest> {
    const { digest, mediaType } = await this.resolve(name, reference);
    try {
      return { digest, mediaType, body: await this.content.read(digest) };
    } catch (e) {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest "${digest}" unknown to repository "${name}"`, { cause: e });
    }
  }

  /** Removes a manifest from a repository and every tag that points at it. */
  async delete(name: string, digest: Digest): Promise<void> {
    await this.repoLock.run(name, async () => {
      const link = this.layout.revisionLink(name, digest);
      if (!(await pathExists(link))) throw this.unknownManifest(name, digest);
      const tagsDir = this.layout.tagsDir(name);
      for (const tag of await this.tags(name).catch(() => [])) {
        const path = join(tagsDir, tag);
        if ((await readText(path))?.trim() === digest) await fs.rm(path, { force: true });
      }
      const subject = await this.content
        .read(digest)
        .then((b) => (JSON.parse(b.toString('utf8')) as { subject?: { digest?: unknown } }).subject?.digest)
        .catch(() => undefined);
      if (typeof subject === 'string' && isDigestText(subject))
        await fs.rm(this.layout.referrerLink(name, subject, digest), { force: true });
      await fs.rm(link, { force: true });
    });
  }

  /**
   * The manifests of the repository whose `subject` is `digest`, as the descriptors of an OCI
   * index (the referrers API), optionally only those of one artifact type.
   */
  async referrers(name: string, digest: Digest, artifactType?: string): Promise<Record<string, unknown>[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.layout.referrersDir(name, digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: Record<string, unknown>[] = [];
    for (const hex of entries.sort()) {
      const referrer = digestOfHex(hex);
      if (referrer === undefined) continue;
      let m: StoredManifest;
      try {
        m = await this.get(name, { digest: referrer });
      } catch {
        continue; // deleted meanwhile, or a link a crash left behind
      }
      const manifest = JSON.parse(m.body.toString('utf8')) as Record<string, any>;
      const type = typeof manifest.artifactType === 'string' ? manifest.artifactType : manifest.config?.mediaType;
      if (artifactType !== undefined && type !== artifactType) continue;
      const d: Record<string, unknown> = { mediaType: m.mediaType, digest: m.digest, size: m.body.length };
      if (typeof type === 'string') d.artifactType = type;
      if (manifest.annotations !== undefined) d.annotations = manifest.annotations;
      out.push(d);
    }
    return out;
  }

  /** Tags of a repository in lexical order; NAME_UNKNOWN when there is no such repository. */
  async tags(name: string): Promise<string[]> {
    if (!(await this.layout.exists(name))) {
      throw registryError('NAME_UNKNOWN', `repository "${name}" not known to the registry`, { name });
    }
    let entries: string[];
    try {
      entries = await fs.readdir(this.layout.tagsDir(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.filter(isTag).sort(compareLexical);
  }
}
