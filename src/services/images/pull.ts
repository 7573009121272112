/**
 * `docker pull`: an image from a registry into the stores, with dockerd's progress messages.
 *
 * Layers download three at a time into the data root's scratch directory (each blob verified
 * by size and digest as it arrives) and are extracted strictly in order as they arrive (the
 * first straight from the connection): decompressed and unpacked by the snapshotter on a
 * worker thread (archive/offthread.ts), checked against the diff ID the config names. No uncompressed tar is stored, as dockerd stores none:
 * the compressed blob, as downloaded, is kept in its place (by diff ID and compression), for
 * save and push. The image row and its tag are written last, so a pull that fails — a bad
 * blob, a dropped connection, the client gone — removes the layers it made and leaves no image;
 * a daemon killed mid-pull leaves only unreferenced layers and blobs, which the start-up
 * garbage collection removes.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { BerthError, categoryOf, invalidArgument, notFound, unavailable } from '../../errdefs/index.ts';
import { detectCompression, warmApplyThreads } from '../../archive/index.ts';
import { byteMeter, type Image, type ImageStore, type Progress } from '../../images/index.ts';
import type { DistributionInspect } from '../../api/types/index.ts';
import {
  choosePlatform,
  isIndex,
  parseImageManifest,
  RegistryClient,
  registryHosts,
  type Credentials,
  type FetchedManifest,
  type RegistryConfig,
  type RegistryHost,
} from '../../registry/index.ts';
import { admit, readSignatures, type SignaturePolicyFile } from '../../trust/index.ts';
import type { Download } from './download.ts';
import { claimUnpack, downloadsOf, extracting, heldByOthers, hold, startExtracting } from './inflight.ts';
import { coalescing, counting } from './streams.ts';
import {
  chainIds,
  familiarString,
  hostPlatform,
  isDigest,
  shortId,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Platform,
  type Reference,
} from '../../spec/index.ts';

export interface PullDeps {
  store: ImageStore;
  registry: RegistryConfig;
  /** berthd's `--signature-policy`: checked before anything of the image is stored. */
  policy?: SignaturePolicyFile;
  /** Scratch directory on the data root (emptied at daemon start). */
  tmp: string;
}

export interface PullOptions {
  creds?: Credentials;
  platform?: Platform;
  out: Progress;
  /** Aborted when the client goes away: the pull stops and cleans up. */
  signal?: AbortSignal;
}

export interface PullResult {
  image: Image;
  /** The digest of the manifest (or index) the reference named. */
  digest: Digest;
  upToDate: boolean;
}

/** dockerd's max-concurrent-downloads default. */
export const DOWNLOAD_CONCURRENCY = 3;

/** `linux/amd64[/v8]` → a platform; only linux images run here. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.toLowerCase().split('/');
  if (os !== 'linux' || (architecture !== undefined && !architecture))
    throw invalidArgument(`invalid platform "${s}": only linux platforms are supported`);
  const host = hostPlatform();
  return { os, architecture: architecture ?? host.architecture, ...(variant ? { variant } : {}) };
}

/** The text after the client's own prefix: what the registry said. */
function registrySaid(e: unknown): string {
  const m = (e as Error).message ?? String(e);
  const i = m.indexOf(': ');
  return i >= 0 ? m.slice(i + 2) : m;
}

/** Runs `jobs` with at most `n` at a time; `onQueued(i)` for each job that has to wait. */
async function limited<T>(
  n: number,
  jobs: Array<() => Promise<T>>,
  onQueued: (i: number) => void,
): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array(jobs.length);
  jobs.forEach((_, i) => i >= n && onQueued(i));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await jobs[i]!() };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  return results;
}

/** Progress lines for `total` bytes: about a hundred of them, and always the last. */
function meterFor(total: number, emit: (current: number) => void) {
  return byteMeter(Math.max(32 * 1024, Math.floor(total / 100)), emit);
}

/** Where a pull's content comes from: the host, its client, the repository's path there. */
interface Source {
  client: RegistryClient;
  repo: string;
  /** The manifest (or index) the reference names. */
  top: FetchedManifest;
}

/**
 * The host to pull `ref` from (mirrors.ts has the order): a tag is resolved on the first host
 * that may resolve and answers; the content comes from the first host that may pull and has
 * that digest. Every host failing gives the first one's error, as containerd reports it.
 */
async function findSource(hosts: RegistryHost[], ref: Reference, creds?: Credentials): Promise<Source> {
  const clients = new Map<RegistryHost, RegistryClient>();
  const clientOf = (h: RegistryHost) => {
    let c = clients.get(h);
    if (!c) clients.set(h, (c = new RegistryClient(h.endpoint, creds)));
    return c;
  };
  let firstError: unknown;
  let top: FetchedManifest | undefined;
  let resolvedBy: RegistryHost | undefined;
  if (!ref.digest) {
    for (const h of hosts.filter((x) => x.capabilities.includes('resolve'))) {
      try {
        top = await clientOf(h).getManifest(h.repo, ref.tag ?? 'latest');
        resolvedBy = h;
        break;
      } catch (e) {
        firstError ??= e;
      }
    }
    if (!top) throw firstError ?? unavailable(`no host of registry "${ref.domain}" may resolve tags`);
  }
  const digest = ref.digest ?? top!.digest;
  for (const h of hosts.filter((x) => x.capabilities.includes('pull'))) {
    if (h === resolvedBy) return { client: clientOf(h), repo: h.repo, top: top! };
    try {
      const m = await clientOf(h).getManifest(h.repo, digest);
      return { client: clientOf(h), repo: h.repo, top: top ?? m };
    } catch (e) {
      firstError ??= e;
    }
  }
  throw firstError ?? unavailable(`no host of registry "${ref.domain}" may pull ${digest}`);
}

export async function pullImage(d: PullDeps, ref: Reference, o: PullOptions): Promise<PullResult> {
  const out = o.out;
  const name = familiarString(ref);
  const want = ref.digest ?? ref.tag ?? 'latest';
  const denied = (e: unknown) =>
    notFound(
      `pull access denied for ${familiarString({ domain: ref.domain, path: ref.path })}, repository does not exist or may require 'docker login': ${registrySaid(e)}`,
      e,
    );
  const hosts = await registryHosts(ref, d.registry, 'pull');

  let source: Source;
  try {
    source = await findSource(hosts, ref, o.creds);
  } catch (e) {
    const cat = categoryOf(e);
    if (cat === 'Unauthorized' || cat === 'Forbidden') throw denied(e);
    if (cat === 'NotFound') throw notFound(`manifest for ${name} not found: ${registrySaid(e)}`, e);
    throw e;
  }
  const { client, repo, top } = source;
  // The policy judges what the name points at (an index, as signed, or a manifest) before a
  // single blob is fetched, so a refused image leaves nothing behind.
  if (d.policy) await admit(d.policy.current(), ref, top, () => readSignatures(client, repo, top.digest));
  let manifest = top;
  if (isIndex(top)) {
    const entry = choosePlatform(top, o.platform ?? hostPlatform());
    manifest = await client.getManifest(repo, entry.digest);
    if (isIndex(manifest)) throw invalidArgument(`manifest ${entry.digest}: an index inside an index is not supported`);
  }
  const im = parseImageManifest(manifest);
  // The thread that will unpack the layers starts while the config is fetched.
  if (im.layers.length > 0) warmApplyThreads();
  // dockerd names a digest pull by its whole reference, a tag pull by its tag.
  out({ status: `Pulling from ${ref.path}`, id: ref.digest ? `${ref.domain}/${ref.path}@${ref.digest}` : want });

  const configBytes = await client.getBlob(repo, im.config);
  let config: ImageConfig;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  } catch (e) {
    throw invalidArgument(`image config ${im.config.digest}: not JSON`, e);
  }
  if (!config || typeof config !== 'object')
    throw invalidArgument(`image config ${im.config.digest}: not a JSON object`);
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((x) => typeof x === 'string' && isDigest(x)))
    throw invalidArgument(`image config ${im.config.digest}: no valid rootfs.diff_ids`);
  if (diffIds.length !== im.layers.length)
    throw invalidArgument(
      `image ${manifest.digest}: the manifest has ${im.layers.length} layers but the config ${diffIds.length} diff IDs`,
    );
  if (config.os && config.os !== 'linux')
    throw invalidArgument(`image ${name} is for ${config.os}: only linux images run here`);

  // What the name pointed at before: the same image means "up to date" (a tag or a digest).
  const previous = d.store.idOf(name);
  let image = d.store.find(im.config.digest);
  if (!image) image = await fetchLayers(d, source, ref, im.layers, diffIds, configBytes, o);
  if (ref.tag !== undefined) d.store.tag(image.id, name);
  d.store.addRepoDigest(image.id, ref, top.digest);
  out({ status: `Digest: ${top.digest}` });
  const upToDate = previous === image.id;
  out({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${name}` });
  return { image: d.store.get(image.id), digest: top.digest, upToDate };
}

async function fetchLayers(
  d: PullDeps,
  { client, repo }: Source,
  ref: Reference,
  layers: Descriptor[],
  diffIds: Digest[],
  configBytes: Buffer,
  o: PullOptions,
): Promise<Image> {
  const out = o.out;
  const chains = chainIds(diffIds);
  const release = hold(d.store, chains);
  const created: Digest[] = [];
  const ingested: Digest[] = [];
  const handles: Download[] = [];
  let releaseClaim: (() => void) | undefined;
  const open = new Set<Readable>();
  let cancelled = false;
  const abort = () => {
    cancelled = true;
    for (const s of open) s.destroy(unavailable('pull cancelled: the client went away'));
  };
  o.signal?.addEventListener('abort', abort);
  const checkAbort = () => {
    if (o.signal?.aborted) throw unavailable('pull cancelled: the client went away');
    if (cancelled) throw unavailable('pull cancelled');
  };
  /** Layer `i`'s registry form, for a push that can mount it instead of uploading it. */
  const remember = (i: number) =>
    d.store.rememberBlob(diffIds[i]!, {
      registry: client.endpoint.name,
      repo: ref.path,
      digest: layers[i]!.digest,
      mediaType: layers[i]!.mediaType,
      size: layers[i]!.size,
    });
  try {
    // Which layers are new; dockerd's order of lines: one per layer, bottom first.
    const todo: number[] = [];
    layers.forEach((l, i) => {
      const id = shortId(l.digest);
      if (d.store.snapshots.get(chains[i]!)) out({ status: 'Already exists', progressDetail: {}, id });
      else {
        out({ status: 'Pulling fs layer', progressDetail: {}, id });
        todo.push(i);
      }
    });
    await fs.mkdir(d.tmp, { recursive: true });
    // Downloads run ahead, three at a time; each layer is unpacked, in order, as soon as its
    // download has started — from the file being written, so the two overlap.
    const shared = downloadsOf(d.store);
    // Each layer's download once it has started; undefined: another pull is unpacking the layer.
    const started = new Map<number, Promise<Download | undefined>>();
    const resolvers = new Map<number, { resolve: (x: Download | undefined) => void; reject: (e: unknown) => void }>();
    for (const i of todo) {
      started.set(i, new Promise<Download | undefined>((resolve, reject) => resolvers.set(i, { resolve, reject })));
      started.get(i)!.catch(() => {});
    }
    const download = async (i: number): Promise<void> => {
      checkAbort();
      if (extracting(d.store, chains[i]!)) return resolvers.get(i)!.resolve(undefined);
      const l = layers[i]!;
      const id = shortId(l.digest);
      const meter = meterFor(l.size, (current) =>
        out({ status: 'Downloading', progressDetail: { current, total: l.size }, id }),
      );
      const dl = shared.acquire(
        `${client.endpoint.name} ${l.digest}`,
        d.tmp,
        () => client.openBlob(repo, l),
        (n) => meter.add(n),
      );
      handles.push(dl);
      resolvers.get(i)!.resolve(dl);
      await dl.done;
      meter.done();
      out({ status: 'Verifying Checksum', progressDetail: {}, id });
      out({ status: 'Download complete', progressDetail: {}, id });
    };
    // The first layer to unpack is unpacked straight from the connection (no scratch file to
    // write and read back), unless another pull is already fetching or unpacking it.
    const first = todo[0];
    const firstClaim =
      first !== undefined && !shared.has(`${client.endpoint.name} ${layers[first]!.digest}`)
        ? claimUnpack(d.store, chains[first]!)
        : undefined;
    const direct = firstClaim !== undefined;
    releaseClaim = () => void firstClaim?.settle(Promise.reject(unavailable('pull ended'))).catch(() => {});
    const viaFile = direct ? todo.slice(1) : todo;
    const downloads = limited(
      DOWNLOAD_CONCURRENCY - (direct ? 1 : 0),
      viaFile.map((i) => async () => {
        try {
          await download(i);
        } catch (e) {
          resolvers.get(i)!.reject(e);
          throw e;
        }
      }),
      (k) => out({ status: 'Waiting', progressDetail: {}, id: shortId(layers[viaFile[k]!]!.digest) }),
    );
    let failure: unknown;
    try {
      for (const i of todo) {
        const streamed = direct && i === first;
        const dl = streamed ? undefined : await started.get(i)!;
        checkAbort();
        const l = layers[i]!;
        const id = shortId(l.digest);
        const meter = meterFor(l.size, (current) =>
          out({ status: 'Extracting', progressDetail: { current, total: l.size }, id }),
        );
        const parent = i > 0 ? chains[i - 1]! : null;
        // Another pull of the same layer unpacking it already: wait for it rather than do it twice.
        if (!streamed) await extracting(d.store, chains[i]!)?.catch(() => {});
        const had = !!d.store.snapshots.get(chains[i]!);
        if (had && streamed) firstClaim!.settle(Promise.resolve());
        if (!had) {
          let read: Readable;
          let fetched: (() => void) | undefined;
          // Where the compressed bytes are kept: linked from the download, or written here.
          const keepFile = join(d.tmp, `keep-${randomBytes(8).toString('hex')}`);
          let written: Promise<unknown> | undefined;
          if (dl) read = dl.reader();
          else {
            const conn = await client.openBlob(repo, l);
            read = conn.pipe(coalescing());
            conn.once('error', (e) => read.destroy(e));
            read.once('close', () => conn.destroy());
            const dlMeter = meterFor(l.size, (current) =>
              out({ status: 'Downloading', progressDetail: { current, total: l.size }, id }),
            );
            read.on('data', (c: Buffer) => dlMeter.add(c.length));
            fetched = () => {
              dlMeter.done();
              out({ status: 'Verifying Checksum', progressDetail: {}, id });
              out({ status: 'Download complete', progressDetail: {}, id });
            };
            const file = createWriteStream(keepFile, { flags: 'wx', highWaterMark: 1 << 20 });
            const src = read;
            src.once('error', (e) => file.destroy(e));
            src.once('close', () => {
              if (!src.readableEnded) file.destroy(unavailable(`layer ${l.digest}: download ended early`));
            });
            written = finished(file);
            written.catch(() => {});
            src.pipe(file);
          }
          open.add(read);
          let tarSize = 0;
          const unpacked = (async () => {
            const counted = read.pipe(counting((n) => meter.add(n)));
            // A failed download fails the reader: that must reach the unpacking, not go unheard.
            read.once('error', (e) => counted.destroy(e));
            // Until the unpacking starts reading, nothing else listens; it finds the error then.
            counted.on('error', () => {});
            try {
              await d.store.snapshots.addLayerFromStream(parent, diffIds[i]!, counted, (n) => (tarSize = n));
              if (dl) {
                await dl.done;
                await fs.link(dl.file, keepFile);
              } else await written;
              await keepBlob(d.store, keepFile, l, diffIds[i]!, tarSize, ingested);
            } catch (e) {
              // A bad download is the cause to report, not what unpacking it then found.
              const bad = dl ? dl.failure() : read.errored;
              if (bad) throw bad;
              if (e instanceof BerthError && /digest mismatch/.test(e.message))
                throw invalidArgument(
                  `layer ${l.digest}: its content does not match the diff ID ${diffIds[i]} the image config names`,
                  e,
                );
              throw e;
            } finally {
              open.delete(read);
              read.destroy();
              await fs.rm(keepFile, { force: true });
            }
          })();
          if (streamed) await firstClaim!.settle(unpacked);
          else await startExtracting(d.store, chains[i]!, unpacked);
          created.push(chains[i]!);
          fetched?.();
        }
        meter.done();
        checkAbort();
        remember(i);
        out({ status: 'Pull complete', progressDetail: {}, id });
      }
    } catch (e) {
      failure = e;
      abort();
    }
    await downloads;
    if (failure) throw failure;
    // Layers that already existed still get their registry form remembered for push.
    layers.forEach((_, i) => remember(i));
    checkAbort();
    return await d.store.create(configBytes, { compressLater: false });
  } catch (e) {
    await d.store.dropLayers(created.filter((c) => !heldByOthers(d.store, c))).catch(() => {});
    for (const b of ingested) await d.store.dropUnusedBlob(b).catch(() => {});
    // The compressed blobs kept for the layers just dropped.
    await d.store.compressed.prune().catch(() => {});
    throw e;
  } finally {
    release();
    o.signal?.removeEventListener('abort', abort);
    await Promise.all(handles.map((h) => h.release()));
    // A claim this pull never got to use is given back (a no-op once it has settled).
    releaseClaim?.();
  }
}

/**
 * Keeps what a layer was pulled as, now that it is unpacked and checked: a compressed blob as
 * the layer's gzip or zstd form (what the bytes are, whatever the media type says), an
 * uncompressed one as the layer's tar blob. Neither is flushed to disk here (the kernel does it).
 */
async function keepBlob(
  store: ImageStore,
  file: string,
  l: Descriptor,
  diffId: Digest,
  tarSize: number,
  ingested: Digest[],
): Promise<void> {
  const head = Buffer.alloc(8);
  const fh = await fs.open(file, 'r');
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const kind = detectCompression(head);
  if (kind === 'gzip' || kind === 'zstd') {
    await store.compressed.keep(file, { diffId, compression: kind, digest: l.digest, size: l.size, tarSize });
    return;
  }
  // A plain tar: the blob the manifest names is the diff ID's own bytes.
  ingested.push(diffId);
  await store.content.adoptWithoutSync(file, { digest: diffId, size: l.size });
}

/**
 * `GET /distribution/{name}/json` (`docker manifest`-less inspection, `buildx imagetools`-like):
 * the descriptor of what the reference names in the registry and the platforms it offers.
 */
export async function distributionInspect(
  d: Pick<PullDeps, 'registry'>,
  ref: Reference,
  creds?: Credentials,
): Promise<DistributionInspect> {
  let source: Source;
  try {
    source = await findSource(await registryHosts(ref, d.registry, 'pull'), ref, creds);
  } catch (e) {
    const cat = categoryOf(e);
    if (cat === 'NotFound') throw notFound(registrySaid(e), e);
    throw e;
  }
  const { client, repo, top: m } = source;
  const descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
  if (isIndex(m)) {
    const j = JSON.parse(m.bytes.toString('utf8')) as { manifests?: Array<{ platform?: Platform }> };
    return {
      Descriptor: descriptor,
      Platforms: (j.manifests ?? []).map((x) => x.platform).filter((p): p is Platform => Boolean(p)),
    };
  }
  const im = parseImageManifest(m);
  const config = JSON.parse((await client.getBlob(repo, im.config)).toString('utf8')) as ImageConfig;
  return {
    Descriptor: descriptor,
    Platforms: [
      { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) },
    ],
  };
}

/**
 * `docker pull -a` (an empty tag): every tag of the repository, one after the other, each with
 * its own lines; the last status names the repository, as dockerd's does.
 */
export async function pullAllTags(d: PullDeps, repo: Reference, o: PullOptions): Promise<PullResult[]> {
  // Tags are listed where tags are resolved.
  const hosts = (await registryHosts(repo, d.registry, 'pull')).filter((h) => h.capabilities.includes('resolve'));
  let tags: string[] | undefined;
  try {
    let firstError: unknown;
    for (const h of hosts) {
      try {
        tags = await new RegistryClient(h.endpoint, o.creds).listTags(h.repo);
        break;
      } catch (e) {
        firstError ??= e;
      }
    }
    if (!tags) throw firstError ?? unavailable(`no host of registry "${repo.domain}" may list tags`);
  } catch (e) {
    const cat = categoryOf(e);
    if (cat === 'Unauthorized' || cat === 'Forbidden' || cat === 'NotFound') {
      throw notFound(
        `pull access denied for ${familiarString({ domain: repo.domain, path: repo.path })}, repository does not exist or may require 'docker login': ${registrySaid(e)}`,
        e,
      );
    }
    throw e;
  }
  const results: PullResult[] = [];
  const quiet: Progress = (m) => {
    if (!m.status?.startsWith('Status: ')) o.out(m);
  };
  for (const tag of tags)
    results.push(await pullImage(d, { domain: repo.domain, path: repo.path, tag }, { ...o, out: quiet }));
  const name = familiarString({ domain: repo.domain, path: repo.path });
  o.out({
    status: `Status: ${results.every((r) => r.upToDate) ? 'Image is up to date' : 'Downloaded newer image'} for ${name}`,
  });
  return results;
}
