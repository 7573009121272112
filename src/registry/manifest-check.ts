/**
 * What the registry accepts as a manifest: its kind (from the Content-Type, or its own
 * `mediaType` when the Content-Type is generic; schema 1 is refused), and the descriptors it
 * references, each checked for a media type, a size and a sha256 digest. Pure functions;
 * failures are the distribution spec's MANIFEST_INVALID.
 */
import { descriptorProblem, MediaType, type Descriptor, type Digest } from '../spec/index.ts';
import { registryError } from './errors.ts';

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.OciIndex,
];

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

function mediaTypeOfContentType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  return base === '' ? undefined : base;
}

/** Which kind of manifest this is, refusing what the registry does not store. */
export function manifestMediaType(manifest: Record<string, unknown>, contentType: string | undefined): string {
  const declared = mediaTypeOfContentType(contentType);
  const own = typeof manifest.mediaType === 'string' ? manifest.mediaType : undefined;
  if (declared !== undefined && SCHEMA1_TYPES.has(declared)) {
    throw registryError(
      'MANIFEST_INVALID',
      `manifest type "${declared}" (schema 1) is not supported: push schema 2 or OCI`,
    );
  }
  if (declared !== undefined && MANIFEST_MEDIA_TYPES.includes(declared)) {
    if (own !== undefined && own !== declared) {
      throw registryError('MANIFEST_INVALID', `manifest says it is "${own}" but was sent as "${declared}"`);
    }
    return declared;
  }
  if (own !== undefined) {
    if (MANIFEST_MEDIA_TYPES.includes(own)) return own;
    throw registryError('MANIFEST_INVALID', `manifest type "${own}" is not supported`);
  }
  // Neither says: an OCI manifest or index may leave out its mediaType (image-spec).
  if (manifest.schemaVersion === 2 && 'config' in manifest && 'layers' in manifest) return MediaType.OciManifest;
  if (manifest.schemaVersion === 2 && 'manifests' in manifest) return MediaType.OciIndex;
  throw registryError('MANIFEST_INVALID', `manifest type${declared ? ` "${declared}"` : ''} is not supported`);
}

export interface Reference {
  digest: Digest;
  size: number;
}

export function descriptor(value: unknown, where: string): Reference & { urls: boolean } {
  const problem = descriptorProblem(value, { sha512: true });
  if (problem !== undefined) throw registryError('MANIFEST_INVALID', `manifest ${where}: ${problem}`);
  const d = value as Descriptor & { urls?: unknown };
  return { digest: d.digest, size: d.size, urls: Array.isArray(d.urls) && d.urls.length > 0 };
}

/** The blobs (config, layers) or manifests (index entries) a manifest needs in its repository. */
export function referencesOf(
  manifest: Record<string, unknown>,
  mediaType: string,
): { blobs: Reference[]; manifests: Reference[] } {
  if (manifest.schemaVersion !== 2) throw registryError('MANIFEST_INVALID', 'manifest schemaVersion must be 2');
  if (mediaType === MediaType.DockerManifestList || mediaType === MediaType.OciIndex) {
    if (!Array.isArray(manifest.manifests)) throw registryError('MANIFEST_INVALID', 'index has no manifests list');
    return { blobs: [], manifests: manifest.manifests.map((m, i) => descriptor(m, `manifests[${i}]`)) };
  }
  const blobs: Reference[] = [descriptor(manifest.config, 'config')];
  if (!Array.isArray(manifest.layers)) throw registryError('MANIFEST_INVALID', 'manifest has no layers list');
  manifest.layers.forEach((l, i) => {
    const d = descriptor(l, `layers[${i}]`);
    // Foreign (non-distributable) layers live at their URLs, not in the registry.
    if (!d.urls) blobs.push(d);
  });
  return { blobs, manifests: [] };
}
