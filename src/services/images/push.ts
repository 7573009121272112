/**
 * `docker push`: the tags of one repository to its registry, with dockerd's progress messages.
 *
 * Layers are kept uncompressed (a content blob per diff ID), so each is pushed in the form the
 * registry already has when that is known — the distribution table remembers every compressed
 * digest a layer had on a registry, by repository, from pulls and pushes: the same repository
 * is asked (HEAD, "Layer already exists"), another one on the same registry is mounted from
 * ("Mounted from <repo>"). Otherwise the layer's kept compressed form (made in the background
 * when the layer was made, or by an earlier push) is uploaded in resumable chunks; only a layer
 * without one is compressed, as it is uploaded, and its form kept. Five layers go at once
 * (dockerd's default). Then the config, then the manifest under the tag: Docker schema 2, or
 * OCI when a layer is zstd (`--compression zstd`), which schema 2 cannot name.
 */
import { createReadStream } from 'node:fs';
import { BerthError, failedPrecondition, internal, notFound, unavailable } from '../../errdefs/index.ts';
import type { LayerCompression } from '../../archive/index.ts';
import { byteMeter, type Image, type Progress } from '../../images/index.ts';
import { registryHosts, RegistryClient, schema2Manifest, type Credentials } from '../../registry/index.ts';
import {
  familiarName,
  familiarString,
  MediaType,
  parseReference,
  shortId,
  type Descriptor,
  type Digest,
  type Reference,
} from '../../spec/index.ts';
import type { PullDeps } from './pull.ts';

/** `push --compression gzip|zstd[:level]`. */
export interface PushCompression {
  kind: LayerCompression;
  level?: number;
}

export interface PushOptions {
  creds?: Credentials;
  /** How new layers are compressed (gzip by default, as dockerd). */
  compression?: PushCompression;
  out: Progress;
  /** `{"Tag","Digest","Size"}` after each tag's manifest, as dockerd's aux message. */
  aux: (a: { Tag: string; Digest: Digest; Size: number }) => void;
  signal?: AbortSignal;
}

export interface PushPlan {
  repo: Reference;
  tags: Array<{ tag: string; image: Image }>;
}

/** dockerd's max-concurrent-uploads default. */
export const UPLOAD_CONCURRENCY = 5;

/**
 * What a push will send, found before any streaming so an unknown image is a plain 404:
 * one tag, or every tag of the repository when `tag` is empty (dockerd's rule).
 */
export function planPush(d: Pick<PullDeps, 'store'>, name: string, tag: string | undefined): PushPlan {
  const repo = parseReference(name);
  const bare = familiarName(repo);
  if (tag) {
    const image = d.store.find(`${bare}:${tag}`);
    if (!image) throw notFound(`An image does not exist locally with the tag: ${bare}`);
    return { repo, tags: [{ tag, image }] };
  }
  const all = d.store.repoTags(bare).map((t) => ({ tag: parseReference(t.tag).tag!, image: d.store.get(t.id) }));
  if (!all.length) throw notFound(`An image does not exist locally with the tag: ${bare}`);
  return { repo, tags: all };
}

const LAYER_TYPES: Record<string, string> = {
  [MediaType.OciLayerGzip]: MediaType.DockerLayerGzip,
  [MediaType.OciLayer]: MediaType.DockerLayer,
};

/** The registry media type of a layer compressed so (Docker's for gzip, as dockerd pushes). */
function layerMediaType(kind: LayerCompression): string {
  return kind === 'zstd' ? MediaType.OciLayerZstd : MediaType.DockerLayerGzip;
}

/** Does a layer blob of this media type fit a push asking for `kind`? */
function fits(mediaType: string, kind: LayerCompression): boolean {
  return kind === 'zstd' ? mediaType === MediaType.OciLayerZstd : mediaType !== MediaType.OciLayerZstd;
}

/** An OCI image manifest; Docker's gzip and plain layer types become OCI's. */
function ociManifest(config: Descriptor, layers: Descriptor[]): Buffer {
  const oci: Record<string, string> = {
    [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
    [MediaType.DockerLayer]: MediaType.OciLayer,
  };
  const m = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: config.mediaType, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: oci[l.mediaType] ?? l.mediaType, size: l.size, digest: l.digest })),
  };
  return Buffer.from(JSON.stringify(m, null, 3));
}

/** Progress lines for `total` bytes: about a hundred, and always the last. */
function pushMeter(out: Progress, id: string, total: number) {
  return byteMeter(Math.max(32 * 1024, Math.floor(total / 100)), (current) =>
    out({ status: 'Pushing', progressDetail: { current, total }, id }),
  );
}

/**
 * Uploads a layer's compressed form: the kept one (made in the background or by an earlier
 * push) through a resumable chunked upload, else one compressed as it goes out — dockerd's
 * way — and kept for next time.
 */
async function uploadLayer(
  d: PullDeps,
  client: RegistryClient,
  path: string,
  diffId: Digest,
  compression: PushCompression,
  id: string,
  out: Progress,
  signal: AbortSignal,
): Promise<{ digest: Digest; size: number }> {
  const layers = d.store.compressed;
  let form = layers.find(diffId, compression.kind, compression.level);
  if (!form) {
    const made = await layers.pending(diffId, compression.kind)?.catch(() => undefined);
    if (made && (compression.level === undefined || made.level === compression.level)) form = made;
  }
  if (form) {
    const file = d.store.content.path(form.digest);
    const meter = pushMeter(out, id, form.size);
    await client.pushBlobResumable(
      path,
      form,
      (start, end) => createReadStream(file, { start, end, highWaterMark: 1 << 20 }),
      { onBytes: (n) => meter.add(n), signal },
    );
    meter.done();
    return form;
  }
  // Progress counts the tar read, against its size, as dockerd's does.
  const meter = pushMeter(out, id, (await layers.tar(diffId)).size);
  const c = layers.compressing(diffId, compression.kind, compression.level, (n) => meter.add(n));
  const abort = () => c.stream.destroy(unavailable('push cancelled: the client went away'));
  signal.addEventListener('abort', abort);
  let sent: { digest: Digest; size: number };
  try {
    sent = await client.pushBlobStream(path, c.stream);
  } catch (e) {
    c.stream.destroy();
    throw e;
  } finally {
    signal.removeEventListener('abort', abort);
  }
  const kept = await c.done;
  if (kept.digest !== sent.digest)
    throw internal(`push layer ${diffId}: uploaded ${sent.digest} but kept ${kept.digest}`);
  meter.done();
  return sent;
}

async function limited(n: number, jobs: Array<() => Promise<void>>, onQueued: (i: number) => void): Promise<void> {
  jobs.forEach((_, i) => i >= n && onQueued(i));
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < jobs.length && failed === undefined) {
      const i = next++;
      try {
        await jobs[i]!();
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  if (failed !== undefined) throw failed;
}

export async function pushImage(d: PullDeps, plan: PushPlan, o: PushOptions): Promise<void> {
  const { repo } = plan;
  const out = o.out;
  const [host] = await registryHosts(repo, d.registry, 'push');
  const client = new RegistryClient(host!.endpoint, o.creds);
  const registry = client.endpoint.name;
  const path = host!.repo;
  for (const { image } of plan.tags)
    for (const l of d.store.snapshots.stack(image.topChain)) {
      const file = await d.store.snapshots.fileSource(l.chainId);
      if (file)
        throw failedPrecondition(
          `push "${familiarName(repo)}": the image runs from the file "${file}": load it with berth image load to push it`,
        );
    }
  out({ status: `The push refers to repository [${repo.domain}/${path}]` });
  const check = () => {
    if (o.signal?.aborted) throw unavailable('push cancelled: the client went away');
  };
  const compression = o.compression ?? { kind: 'gzip' };
  /** Layers this push already placed, by diff ID. */
  const done = new Map<Digest, Descriptor>();

  const pushLayer = async (diffId: Digest): Promise<Descriptor> => {
    const id = shortId(diffId);
    const have = done.get(diffId);
    if (have) {
      out({ status: 'Layer already exists', progressDetail: {}, id });
      return have;
    }
    check();
    const known = d.store.knownBlobs(diffId, registry).filter((k) => fits(k.mediaType, compression.kind));
    const asDesc = (k: { digest: Digest; size: number; mediaType: string }): Descriptor => ({
      mediaType: LAYER_TYPES[k.mediaType] ?? k.mediaType,
      digest: k.digest,
      size: k.size,
    });
    for (const k of known.filter((k) => k.repo === path)) {
      if ((await client.statBlob(path, k.digest)) !== undefined) {
        out({ status: 'Layer already exists', progressDetail: {}, id });
        return asDesc(k);
      }
      d.store.forgetBlob(diffId, registry, path);
    }
    for (const k of known.filter((k) => k.repo !== path)) {
      check();
      if (await client.mountBlob(path, k.digest, k.repo)) {
        d.store.rememberBlob(diffId, { ...k, repo: path });
        out({ status: `Mounted from ${k.repo}`, progressDetail: {}, id });
        return asDesc(k);
      }
    }
    check();
    const abortCtl = new AbortController();
    const abort = () => abortCtl.abort();
    o.signal?.addEventListener('abort', abort);
    let sent: { digest: Digest; size: number };
    try {
      sent = await uploadLayer(d, client, path, diffId, compression, id, out, abortCtl.signal);
    } finally {
      o.signal?.removeEventListener('abort', abort);
    }
    out({ status: 'Pushed', progressDetail: {}, id });
    const desc: Descriptor = { mediaType: layerMediaType(compression.kind), digest: sent.digest, size: sent.size };
    d.store.rememberBlob(diffId, {
      registry,
      repo: path,
      digest: desc.digest,
      mediaType: desc.mediaType,
      size: desc.size,
    });
    return desc;
  };

  for (const { tag, image } of plan.tags) {
    const diffIds = image.config.rootfs.diff_ids;
    const unique = [...new Set(diffIds)];
    for (const x of unique) out({ status: 'Preparing', progressDetail: {}, id: shortId(x) });
    const descs = new Map<Digest, Descriptor>();
    await limited(
      UPLOAD_CONCURRENCY,
      unique.map((x) => async () => {
        const desc = await pushLayer(x);
        descs.set(x, desc);
        done.set(x, desc);
      }),
      (i) => out({ status: 'Waiting', progressDetail: {}, id: shortId(unique[i]!) }),
    );
    check();
    const configInfo = await d.store.content.info(image.id);
    if ((await client.statBlob(path, image.id)) === undefined) {
      await client.pushBlob(path, configInfo, d.store.content.stream(image.id));
    }
    const layerDescs = diffIds.map((x) => descs.get(x)!);
    // Docker's schema 2 has no zstd layers: with one, the image goes as OCI (what
    // BuildKit and containerd push for zstd).
    const oci = layerDescs.some((l) => l.mediaType === MediaType.OciLayerZstd);
    const manifest = oci
      ? ociManifest({ mediaType: MediaType.OciConfig, digest: image.id, size: configInfo.size }, layerDescs)
      : schema2Manifest({ mediaType: MediaType.DockerConfig, digest: image.id, size: configInfo.size }, layerDescs);
    let digest: Digest;
    try {
      digest = await client.putManifest(path, tag, oci ? MediaType.OciManifest : MediaType.DockerManifest, manifest);
    } catch (e) {
      if (e instanceof BerthError) throw e;
      throw unavailable(`push ${familiarString({ ...repo, tag })}: ${(e as Error).message}`, e);
    }
    d.store.addRepoDigest(image.id, repo, digest);
    out({ status: `${tag}: digest: ${digest} size: ${manifest.length}` });
    o.aux({ Tag: tag, Digest: digest, Size: manifest.length });
  }
}
