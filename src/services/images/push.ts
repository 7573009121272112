/**
 * `docker push`: the tags of one repository to its registry, with dockerd's progress messages.
 *
 * Layers are kept uncompressed (a content blob per diff ID), so each is pushed in the form the
 * registry already has when that is known — the distribution table remembers every compressed
 * digest a layer had on a registry, by repository, from pulls and pushes: the same repository
 * is asked (HEAD, "Layer already exists"), another one on the same registry is mounted from
 * ("Mounted from <repo>"). Only otherwise is the tar gzipped, as it is uploaded (the digest is
 * given when the upload is closed). Then the config, then a Docker schema 2 manifest under the tag.
 */
import { Transform } from 'node:stream';
import { BerthError, notFound, unavailable } from '../../errdefs/index.ts';
import { parallelGzip } from '../../archive/index.ts';
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

export interface PushOptions {
  creds?: Credentials;
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
  out({ status: `The push refers to repository [${repo.domain}/${path}]` });
  const check = () => {
    if (o.signal?.aborted) throw unavailable('push cancelled: the client went away');
  };
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
    const known = d.store.knownBlobs(diffId, registry);
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
    // Compressed as it goes out, as dockerd does: the digest is known only at the end, when
    // the upload is closed with it. Progress counts the tar read, against its size.
    check();
    const total = (await d.store.content.info(diffId)).size;
    const meter = byteMeter(Math.max(32 * 1024, Math.floor(total / 100)), (current) =>
      out({ status: 'Pushing', progressDetail: { current, total }, id }),
    );
    const tar = d.store.content.stream(diffId);
    const gzip = parallelGzip();
    tar
      .pipe(
        new Transform({
          transform(c: Buffer, _e, cb) {
            meter.add(c.length);
            cb(null, c);
          },
        }),
      )
      .pipe(gzip);
    tar.once('error', (e) => gzip.destroy(e));
    gzip.once('close', () => tar.destroy());
    const abort = () => gzip.destroy(unavailable('push cancelled: the client went away'));
    o.signal?.addEventListener('abort', abort);
    let sent: { digest: Digest; size: number };
    try {
      sent = await client.pushBlobStream(path, gzip);
    } finally {
      o.signal?.removeEventListener('abort', abort);
    }
    meter.done();
    out({ status: 'Pushed', progressDetail: {}, id });
    const desc: Descriptor = { mediaType: MediaType.DockerLayerGzip, digest: sent.digest, size: sent.size };
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
    const manifest = schema2Manifest(
      { mediaType: MediaType.DockerConfig, digest: image.id, size: configInfo.size },
      diffIds.map((x) => descs.get(x)!),
    );
    let digest: Digest;
    try {
      digest = await client.putManifest(path, tag, MediaType.DockerManifest, manifest);
    } catch (e) {
      if (e instanceof BerthError) throw e;
      throw unavailable(`push ${familiarString({ ...repo, tag })}: ${(e as Error).message}`, e);
    }
    d.store.addRepoDigest(image.id, repo, digest);
    out({ status: `${tag}: digest: ${digest} size: ${manifest.length}` });
    o.aux({ Tag: tag, Digest: digest, Size: manifest.length });
  }
}
