/**
 * Parsing what a registry sends as a manifest, at the edge: an index or manifest list is
 * reduced to the entry for a platform; an image manifest to its config and layer descriptors,
 * every digest and size checked, so nothing downstream meets a malformed descriptor.
 */
import { invalidArgument, notFound } from '../errdefs/index.ts';
import { MediaType, parseDescriptor, type Descriptor, type Platform } from '../spec/index.ts';
import type { FetchedManifest } from './client.ts';

export interface ImageManifest {
  config: Descriptor;
  layers: Descriptor[];
}

/** At most this many layers in one image: more is a registry sending nonsense. */
export const MAX_LAYERS = 256;

export function isIndex(m: Pick<FetchedManifest, 'mediaType'>): boolean {
  return m.mediaType === MediaType.OciIndex || m.mediaType === MediaType.DockerManifestList;
}

function json(m: FetchedManifest): Record<string, unknown> {
  try {
    const j = JSON.parse(m.bytes.toString('utf8')) as unknown;
    if (!j || typeof j !== 'object') throw new Error('not an object');
    return j as Record<string, unknown>;
  } catch (e) {
    throw invalidArgument(`manifest ${m.digest}: not a JSON object`, e);
  }
}

/** The entry of an index for `platform` (os, architecture, and variant when both name one). */
export function choosePlatform(m: FetchedManifest, platform: Platform): Descriptor {
  const j = json(m);
  if (!Array.isArray(j.manifests)) throw invalidArgument(`manifest list ${m.digest}: no manifests`);
  const entries = j.manifests.map((e, i) => parseDescriptor(e, `manifest list ${m.digest} entry ${i}`));
  const match = entries.find(
    (e) =>
      e.platform?.os === platform.os &&
      e.platform?.architecture === platform.architecture &&
      (!platform.variant || !e.platform.variant || e.platform.variant === platform.variant),
  );
  if (!match)
    throw notFound(
      `no matching manifest for ${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''} in the manifest list entries`,
    );
  return match;
}

/** An image manifest's config and layers. */
export function parseImageManifest(m: FetchedManifest): ImageManifest {
  const j = json(m);
  if (j.schemaVersion !== 2)
    throw invalidArgument(`manifest ${m.digest}: schema version ${String(j.schemaVersion)} is not supported`);
  if (!Array.isArray(j.layers)) throw invalidArgument(`manifest ${m.digest}: no layers`);
  if (j.layers.length > MAX_LAYERS) throw invalidArgument(`manifest ${m.digest}: more than ${MAX_LAYERS} layers`);
  const config = parseDescriptor(j.config, `manifest ${m.digest} config`);
  const layers = j.layers.map((l, i) => parseDescriptor(l, `manifest ${m.digest} layer ${i}`));
  for (const l of layers) {
    if (/foreign|nondistributable/.test(l.mediaType)) continue;
    if (!/tar/.test(l.mediaType))
      throw invalidArgument(`manifest ${m.digest}: layer media type "${l.mediaType}" is not a tar`);
  }
  return { config, layers };
}

/**
 * A Docker schema 2 manifest as Berth pushes it: dockerd's layout (three-space indentation),
 * so the same image pushed by either has the same digest.
 */
export function schema2Manifest(config: Descriptor, layers: Descriptor[]): Buffer {
  const m = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: { mediaType: config.mediaType, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
  };
  return Buffer.from(JSON.stringify(m, null, 3));
}
