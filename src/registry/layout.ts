/**
 * Where the registry's storage keeps a repository's links under `repositories/` (storage.ts
 * draws the whole tree), and the small file operations its stores share. Names and tags are
 * validated here, before they become path components, so no path can leave the root.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../spec/index.ts';
import { registryError } from './errors.ts';
import { pathExists } from '../fs/index.ts';
import { isRepositoryName, isTag } from './names.ts';

export class RepositoryLayout {
  /** `<root>/repositories` */
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  repoDir(name: string): string {
    // Validated names have no `.`/`..`/empty components: joining them cannot leave the root.
    if (!isRepositoryName(name)) throw registryError('NAME_INVALID', `invalid repository name "${name}"`);
    return join(this.dir, ...name.split('/'));
  }

  blobLink(name: string, digest: Digest): string {
    return join(this.repoDir(name), '_blobs', hexOfDigest(digest));
  }

  revisionLink(name: string, digest: Digest): string {
    return join(this.repoDir(name), '_manifests', 'revisions', hexOfDigest(digest));
  }

  referrersDir(name: string, subject: Digest): string {
    return join(this.repoDir(name), '_manifests', 'referrers', hexOfDigest(subject));
  }

  referrerLink(name: string, subject: Digest, referrer: Digest): string {
    return join(this.referrersDir(name, subject), hexOfDigest(referrer));
  }

  tagsDir(name: string): string {
    return join(this.repoDir(name), '_manifests', 'tags');
  }

  tagFile(name: string, tag: string): string {
    if (!isTag(tag)) throw registryError('MANIFEST_INVALID', `invalid tag "${tag}"`);
    return join(this.tagsDir(name), tag);
  }

  async exists(name: string): Promise<boolean> {
    return pathExists(this.repoDir(name));
  }

  /** Every repository with content, in lexical order. */
  async list(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (prefix !== '' && entries.some((e) => e.isDirectory() && (e.name === '_blobs' || e.name === '_manifests'))) {
        found.push(prefix);
      }
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith('_') || e.name.startsWith('.')) continue;
        const candidate = prefix === '' ? e.name : `${prefix}/${e.name}`;
        if (isRepositoryName(candidate)) await walk(join(dir, e.name), candidate);
      }
    };
    await walk(this.dir, '');
    return found.sort(compareLexical);
  }
}

/** Writes `data` to `path` through a temporary file in the same directory and a rename. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const dir = join(path, '..');
  await fs.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
  try {
    await fs.writeFile(tmp, data, { flag: 'wx' });
    await fs.rename(tmp, path);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** A file's text, or undefined when there is no such file. */
export async function readText(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * A digest's link file name: its hex, which says the algorithm by its length (64 for sha256,
 * 128 for sha512), so sha256 links keep the names they always had.
 */
export function hexOfDigest(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** The digest a link file name stands for; undefined for other names. */
export function digestOfHex(hex: string): Digest | undefined {
  if (/^[a-f0-9]{64}$/.test(hex)) return `sha256:${hex}`;
  if (/^[a-f0-9]{128}$/.test(hex)) return `sha512:${hex}`;
  return undefined;
}

export function isDigestText(s: string): s is Digest {
  return /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(s);
}

export function compareLexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
