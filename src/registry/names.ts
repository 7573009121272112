/**
 * What the distribution spec accepts as repository names, tags and digests, checked before any
 * of them comes near a path: a name's components cannot be `.`, `..` or start with `_` (the
 * storage's own directories), a tag cannot start with `.` (temporary files), and a digest is
 * `sha256:` and 64 lower-case hex digits or `sha512:` and 128.
 */
import type { Digest } from '../spec/index.ts';
import { registryError } from './errors.ts';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export const MAX_NAME_LENGTH = 255;

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function checkRepositoryName(name: string): string {
  if (!isRepositoryName(name)) {
    throw registryError('NAME_INVALID', `invalid repository name "${name.slice(0, 300)}"`, {
      name: name.slice(0, 300),
    });
  }
  return name;
}

export function isTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/**
 * Parses a digest, telling apart a well-formed digest of an algorithm the registry does not
 * keep (blake3...) from garbage, so a client learns which it sent.
 */
export function checkDigest(s: string | null | undefined): Digest {
  if (s === null || s === undefined || s === '')
    throw registryError('DIGEST_INVALID', 'digest missing from the request');
  if (DIGEST_RE.test(s)) return s as Digest;
  if (ANY_DIGEST_RE.test(s) && !s.startsWith('sha256:') && !s.startsWith('sha512:')) {
    throw registryError(
      'DIGEST_INVALID',
      `unsupported digest algorithm in "${s.slice(0, 200)}": only sha256 and sha512 are supported`,
      { digest: s.slice(0, 200) },
    );
  }
  throw registryError('DIGEST_INVALID', `invalid digest "${s.slice(0, 200)}"`, { digest: s.slice(0, 200) });
}

/** A manifest reference: a digest when it has a colon (tags cannot), else a tag. */
export type ManifestReference = { digest: Digest; tag?: undefined } | { tag: string; digest?: undefined };

export function parseManifestReference(ref: string): ManifestReference {
  if (ref.includes(':')) return { digest: checkDigest(ref) };
  if (!isTag(ref))
    throw registryError('MANIFEST_INVALID', `invalid tag "${ref.slice(0, 200)}"`, { tag: ref.slice(0, 200) });
  return { tag: ref };
}
