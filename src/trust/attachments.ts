/**
 * Where signatures live in a registry, as cosign and containers/image ("sigstore attachments")
 * put them:
 *
 * - the tag scheme: in the image's repository, the tag `sha256-<hex>.sig` names an OCI image
 *   manifest whose layers are simple-signing payloads (media type
 *   `application/vnd.dev.cosign.simplesigning.v1+json`), each with its base64 signature in
 *   the annotation `dev.cosignproject.cosign/signature`; a new signature is appended to the
 *   layers already there, so several keys can sign one image;
 * - OCI 1.1 referrers: a manifest of artifact type `application/vnd.dev.cosign.artifact.sig.v1+json`
 *   whose `subject` is the signed manifest (what `cosign sign --registry-referrers-mode oci-1-1`
 *   writes), found through the registry's referrers API.
 *
 * Reading takes both and never throws for what a registry lacks (no tag, no referrers API):
 * the result then has fewer signatures, and the policy decides what that means.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BerthError, failedPrecondition } from '../errdefs/index.ts';
import type { RegistryClient } from '../registry/index.ts';
import { hexOf, MediaType, type Descriptor, type Digest } from '../spec/index.ts';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

/** Bounds on what one image's signatures may cost to read. */
const MAX_SIGNATURES = 64;
const MAX_REFERRERS = 16;

/** Where `sign` puts a signature: cosign's `--registry-referrers-mode`, plus both. */
export type AttachMode = 'legacy' | 'oci-1-1' | 'both';

export interface AttachedSignature {
  /** The payload's exact bytes, as signed. */
  readonly payload: Buffer;
  /** base64 of the signature. */
  readonly signature: string;
  /** Where it was found, for messages: `tag sha256-….sig` or `referrer sha256:…`. */
  readonly source: string;
}

/** `sha256:abc…` → `sha256-abc….sig`. */
export function signatureTag(digest: Digest): string {
  return `sha256-${hexOf(digest)}.sig`;
}

interface ImageManifestJson {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
}

function digestOf(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
}

function parseManifest(bytes: Buffer): ImageManifestJson | undefined {
  try {
    const j = JSON.parse(bytes.toString('utf8')) as ImageManifestJson;
    return j && typeof j === 'object' && Array.isArray(j.layers) ? j : undefined;
  } catch {
    return undefined;
  }
}

/** The manifest behind a tag or digest, or undefined when the registry has none. */
async function manifestOrNone(client: RegistryClient, repo: string, ref: string): Promise<Buffer | undefined> {
  try {
    return (await client.getManifest(repo, ref)).bytes;
  } catch (e) {
    if (e instanceof BerthError && e.category === 'NotFound') return undefined;
    throw e;
  }
}

function signatureLayers(m: ImageManifestJson): Descriptor[] {
  return (m.layers ?? []).filter(
    (l) =>
      l &&
      l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE &&
      typeof l.annotations?.[SIGNATURE_ANNOTATION] === 'string' &&
      typeof l.digest === 'string',
  );
}

/** Every signature the registry holds for the manifest `digest` in `repo`, by both schemes. */
export async function readSignatures(
  client: RegistryClient,
  repo: string,
  digest: Digest,
): Promise<AttachedSignature[]> {
  const found: AttachedSignature[] = [];
  const seen = new Set<string>();
  const collect = async (bytes: Buffer, source: string) => {
    const m = parseManifest(bytes);
    if (!m) return;
    const layers = signatureLayers(m);
    for (const [i, l] of layers.entries()) {
      if (found.length >= MAX_SIGNATURES) return;
      const signature = l.annotations![SIGNATURE_ANNOTATION]!;
      const key = `${l.digest} ${signature}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const payload = await client.getBlob(repo, l);
      found.push({ payload, signature, source: layers.length > 1 ? `${source} (signature ${i + 1})` : source });
    }
  };
  const tag = signatureTag(digest);
  const tagged = await manifestOrNone(client, repo, tag);
  if (tagged) await collect(tagged, `tag ${tag}`);
  let referrers: Descriptor[] | undefined;
  try {
    referrers = await client.referrers(repo, digest, SIGNATURE_ARTIFACT_TYPE);
  } catch (e) {
    // A registry that answers the referrers API with an error has none to offer.
    if (!(e instanceof BerthError)) throw e;
  }
  for (const r of (referrers ?? []).slice(0, MAX_REFERRERS)) {
    const bytes = await manifestOrNone(client, repo, r.digest);
    if (bytes) await collect(bytes, `referrer ${r.digest}`);
  }
  return found;
}

/**
 * The config of a signature image as go-containerregistry makes one (cosign's and
 * containers/image's): empty but for one diff ID and history entry per layer. Its bytes are
 * never signed; they only make the signature manifest a well-formed image.
 */
function signatureConfig(layers: readonly Descriptor[]): Buffer {
  const zero = '0001-01-01T00:00:00Z';
  return Buffer.from(
    JSON.stringify({
      architecture: '',
      created: zero,
      history: layers.map(() => ({ created: zero })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
}

async function ensureBlob(client: RegistryClient, repo: string, bytes: Buffer): Promise<Digest> {
  const digest = digestOf(bytes);
  if ((await client.statBlob(repo, digest)) === undefined)
    await client.pushBlob(repo, { digest, size: bytes.length }, Readable.from([bytes]));
  return digest;
}

export interface Attached {
  /** The tag written (tag scheme). */
  tag?: string;
  /** The referrer manifest written (OCI 1.1). */
  referrer?: Digest;
}

/**
 * Adds one signature of `subject` to the registry. `both` writes the tag and, where the
 * registry has the referrers API, a referrer; `oci-1-1` insists on a referrer.
 */
export async function attachSignature(
  client: RegistryClient,
  repo: string,
  subject: Descriptor,
  payload: Buffer,
  signature: string,
  mode: AttachMode,
): Promise<Attached> {
  const layer: Descriptor = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: payload.length,
    digest: await ensureBlob(client, repo, payload),
    annotations: { [SIGNATURE_ANNOTATION]: signature },
  };
  const same = (l: Descriptor) =>
    l.digest === layer.digest && l.annotations?.[SIGNATURE_ANNOTATION] === layer.annotations![SIGNATURE_ANNOTATION];
  const out: Attached = {};

  if (mode !== 'oci-1-1') {
    const tag = signatureTag(subject.digest);
    const existing = await manifestOrNone(client, repo, tag);
    const layers = [...(existing ? (parseManifest(existing)?.layers ?? []) : [])];
    if (!layers.some(same)) layers.push(layer);
    const config = signatureConfig(layers);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, size: config.length, digest: await ensureBlob(client, repo, config) },
      layers,
    };
    await client.putManifest(repo, tag, MediaType.OciManifest, Buffer.from(JSON.stringify(manifest)));
    out.tag = tag;
  }

  if (mode !== 'legacy') {
    const existing = await client.referrers(repo, subject.digest, SIGNATURE_ARTIFACT_TYPE).catch((e: unknown) => {
      if (mode === 'oci-1-1') throw e;
      return undefined;
    });
    if (existing === undefined) {
      if (mode === 'oci-1-1')
        throw failedPrecondition(`sign "${repo}@${subject.digest}": the registry has no OCI 1.1 referrers API`);
      return out;
    }
    // cosign reads only the newest referrer: this one carries the earlier signatures as well.
    const layers: Descriptor[] = [];
    for (const r of existing.slice(0, MAX_REFERRERS)) {
      const bytes = await manifestOrNone(client, repo, r.digest);
      for (const l of bytes ? signatureLayers(parseManifest(bytes) ?? {}) : [])
        if (
          !layers.some(
            (x) =>
              x.digest === l.digest && x.annotations?.[SIGNATURE_ANNOTATION] === l.annotations?.[SIGNATURE_ANNOTATION],
          )
        )
          layers.push(l);
    }
    if (!layers.some(same)) layers.push(layer);
    const config = signatureConfig(layers);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: {
        mediaType: SIGNATURE_ARTIFACT_TYPE,
        size: config.length,
        digest: await ensureBlob(client, repo, config),
      },
      layers,
      subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
      artifactType: SIGNATURE_ARTIFACT_TYPE,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    out.referrer = await client.putManifest(repo, digestOf(bytes), MediaType.OciManifest, bytes);
  }
  return out;
}
