import { createHash } from 'node:crypto';
import { invalidArgument } from '../errdefs/index.ts';

/**
 * A content digest, `sha256:<64 hex>` — or `sha512:<128 hex>`, which the distribution spec
 * allows and berth-registry stores; the engine itself makes and expects sha256 (`isDigest`).
 */
export type Digest = `sha256:${string}` | `sha512:${string}`;
export type DigestAlgorithm = 'sha256' | 'sha512';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

export function parseDigest(s: string): Digest {
  if (!isDigest(s)) throw invalidArgument(`invalid digest "${s}"`);
  return s;
}

export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** A sha256 or sha512 digest in canonical form (the registry's wider set). */
export function isRegistryDigest(s: string): s is Digest {
  return /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(s);
}

export function algorithmOf(d: Digest): DigestAlgorithm {
  return d.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** The digest of `data` by `algorithm`. */
export function digestWith(algorithm: DigestAlgorithm, data: string | Uint8Array): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function shortId(d: string): string {
  return (d.startsWith('sha256:') ? d.slice(7) : d).slice(0, 12);
}

/**
 * Chain ID of a layer stack (image-spec config.md): ChainID(L0) = DiffID(L0),
 * ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}
