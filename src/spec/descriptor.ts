/**
 * The one check of a content descriptor that arrives from outside Berth: the entries of a
 * manifest a registry sends or a client pushes, and those of an image archive's index.json.
 * A descriptor is trusted downstream (its digest names a blob, its size bounds a download), so
 * every reader checks it here, the same way, and only wraps the problem in its own words.
 *
 *     const config = parseDescriptor(manifest.config, `manifest ${digest} config`);
 */
import { invalidArgument } from '../errdefs/index.ts';
import { isDigest, isRegistryDigest } from './digest.ts';
import type { Descriptor } from './image.ts';

/**
 * Why `value` is not a descriptor (a JSON object with a sha256 `digest`, a non-negative integer
 * `size` and a non-empty `mediaType`, checked in that order), or undefined when it is one.
 * The registry passes `{ sha512: true }`: it stores what the spec allows, the engine only sha256.
 */
export function descriptorProblem(value: unknown, o: { sha512?: boolean } = {}): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a descriptor';
  const d = value as Record<string, unknown>;
  if (typeof d.digest !== 'string' || !(o.sha512 ? isRegistryDigest(d.digest) : isDigest(d.digest)))
    return `digest "${String(d.digest).slice(0, 200)}" is not a ${o.sha512 ? 'sha256 or sha512' : 'sha256'} digest`;
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) return 'bad size';
  if (typeof d.mediaType !== 'string' || d.mediaType === '') return 'no media type';
  return undefined;
}

export function isDescriptor(value: unknown): value is Descriptor {
  return descriptorProblem(value) === undefined;
}

/**
 * The descriptor in `value` (media type, digest, size, and the platform of an index entry),
 * or InvalidArgument `<where>: <problem>`.
 */
export function parseDescriptor(value: unknown, where: string): Descriptor {
  const problem = descriptorProblem(value);
  if (problem !== undefined) throw invalidArgument(`${where}: ${problem}`);
  const d = value as Descriptor;
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform && typeof d.platform === 'object') out.platform = d.platform;
  return out;
}
