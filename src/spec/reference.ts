import { invalidArgument } from '../errdefs/index.ts';
import { isDigest, type Digest } from './digest.ts';

/**
 * A parsed image reference, normalised the way Docker does it: `busybox` is
 * `docker.io/library/busybox:latest`. `familiar` is the short form users see
 * (`busybox:latest`, `localhost:5000/app:v1`).
 */
export interface Reference {
  readonly domain: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DEFAULT_DOMAIN = 'docker.io';
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

export function parseReference(input: string): Reference {
  const bad = (why: string) => invalidArgument(`invalid reference format "${input}": ${why}`);
  if (input === '' || input.length > 255 + 128 + 72) throw bad('empty or too long');
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad('invalid digest');
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad('invalid tag');
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (!/^[a-zA-Z0-9.-]+(?::[0-9]+)?$/.test(domain)) throw bad('invalid domain');
  if (path === '' || path.split('/').some((c) => !NAME_COMPONENT.test(c))) {
    throw bad(path !== path.toLowerCase() ? 'repository name must be lowercase' : 'invalid repository name');
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, tag, digest };
}

/** `docker.io/library/busybox` → `busybox`; other domains stay. */
export function familiarName(ref: Pick<Reference, 'domain' | 'path'>): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith('library/') ? ref.path.slice(8) : ref.path;
}

/** `busybox:latest`, `repo@sha256:…` — the string `docker images` and RepoTags show. */
export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Could the string be a (possibly short) image ID rather than a name? */
export function looksLikeId(s: string): boolean {
  return /^(sha256:)?[a-f0-9]{4,64}$/.test(s);
}

/**
 * How dockerd names an image it cannot find ("No such image: busybox:latest"): a reference in
 * its familiar form with the default tag; an ID, or what does not parse, as given.
 */
export function missingImageName(nameOrId: string): string {
  if (looksLikeId(nameOrId)) return nameOrId;
  try {
    return familiarString(parseReference(nameOrId));
  } catch {
    return nameOrId;
  }
}
