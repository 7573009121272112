/**
 * How a step becomes an image: the cache is asked first (a hit makes the cached image the
 * stage's), else the step's change is committed on its parent as the legacy builder does it
 * (config-only steps as an empty layer, file steps as the upper directory of a root mounted
 * for the step) and the cache remembers it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { diffOverlayUpper } from '../../archive/index.ts';
import type { Image } from '../../images/index.ts';
import { shortId, type Digest, type HistoryEntry, type ImageConfig } from '../../spec/index.ts';
import { BuildCache, cacheFromMatch } from './cache.ts';
import type { PreparedBuild, StageState, StepContext } from './step.ts';

/** A step that changes only the config: an image with an empty layer, or the cached one. */
export async function commitConfig(
  ctx: StepContext,
  b: PreparedBuild,
  st: StageState,
  createdBy: string,
  out: (s: string) => void,
  extra = '',
): Promise<void> {
  const key = BuildCache.key(st.image?.id ?? null, createdBy, extra);
  if (await useCache(ctx, b, st, key, createdBy, out)) return;
  // the legacy builder commits these through a container too, and says so
  const cid = randomBytes(6).toString('hex');
  out(` ---> Running in ${cid}\n`);
  out(`Removing intermediate container ${cid}\n`);
  const img = await ctx.images.commit({
    parent: st.image,
    layer: Readable.from([Buffer.alloc(1024)]),
    config: st.config,
    createdBy,
    author: st.author,
  });
  await finish(ctx, st, img, key, out);
}

/**
 * The cache for a step: this daemon's own (the step's key), else a `--cache-from` image whose
 * history has the step (dockerd's rule, see cacheFromMatch): the image it stands for is made
 * from the parent and that image's layer, with the step's config, and remembered under the key.
 */
export async function useCache(
  ctx: StepContext,
  b: PreparedBuild,
  st: StageState,
  key: string,
  createdBy: string,
  out: (s: string) => void,
): Promise<boolean> {
  if (b.opts.noCache) return false;
  const id = ctx.cache.get(key, (i) => !!ctx.images.store.find(i));
  let img = id ? ctx.images.store.get(id) : undefined;
  if (!img && b.cacheSources.length) {
    const match = cacheFromMatch(
      st.image?.config ?? null,
      createdBy,
      b.cacheSources.map((source) => ({ ...source.config, image: source })),
    );
    if (match) {
      // dockerd keeps to the source that matched first for the rest of the build
      b.cacheSources = [match.source.image];
      img = match.last ? match.source.image : await restoreFromSource(ctx, st, match);
      await ctx.cache.set(key, img.id);
    }
  }
  if (!img) return false;
  out(' ---> Using cache\n');
  out(` ---> ${shortId(img.id)}\n`);
  st.image = img;
  st.config = structuredClone(img.config.config ?? {});
  return true;
}

/** The image a `--cache-from` source stands for at a step: the parent, that history entry and its layer, the step's config. */
async function restoreFromSource(
  ctx: StepContext,
  st: StageState,
  match: { source: ImageConfig & { image: Image }; entry: HistoryEntry; layer?: Digest },
): Promise<Image> {
  const parent = st.image?.config;
  const config: ImageConfig = {
    architecture: match.source.architecture,
    os: match.source.os,
    ...(match.source.variant ? { variant: match.source.variant } : {}),
    ...(match.source.author ? { author: match.source.author } : {}),
    created: match.entry.created,
    config: st.config,
    rootfs: { type: 'layers', diff_ids: [...(parent?.rootfs.diff_ids ?? []), ...(match.layer ? [match.layer] : [])] },
    history: [...(parent?.history ?? []), match.entry],
  };
  return ctx.images.store.create(Buffer.from(JSON.stringify(config)), { parent: st.image?.id });
}

export async function finish(
  ctx: StepContext,
  st: StageState,
  img: Image,
  key: string,
  out: (s: string) => void,
): Promise<void> {
  st.image = img;
  st.config = structuredClone(img.config.config ?? {});
  await ctx.cache.set(key, img.id);
  out(` ---> ${shortId(img.id)}\n`);
}

/**
 * A step that changes files without running anything (COPY, ADD, WORKDIR): the parent's
 * root is mounted with a fresh upper directory, `fn` works in it, the upper becomes the layer.
 */
export async function fileStep(
  ctx: StepContext,
  b: PreparedBuild,
  st: StageState,
  createdBy: string,
  extra: string,
  out: (s: string) => void,
  fn: (rootfs: string, scratch: string) => Promise<void>,
  viaContainer = false,
): Promise<void> {
  const key = BuildCache.key(st.image?.id ?? null, createdBy, extra);
  if (await useCache(ctx, b, st, key, createdBy, out)) return;
  if (viaContainer) {
    // WORKDIR: the legacy builder makes the directory through a container, and says so
    const cid = randomBytes(6).toString('hex');
    out(` ---> Running in ${cid}\n`);
    out(`Removing intermediate container ${cid}\n`);
  }
  const work = join(ctx.mountsDir, `step-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(work, { recursive: true });
  let mounted = false;
  try {
    const rootfs = await ctx.snapshots.mountRootfs(work, (st.image?.topChain ?? null) as never);
    mounted = true;
    await fn(rootfs, join(work, 'staging'));
    await ctx.snapshots.unmountRootfs(work);
    mounted = false;
    const img = await ctx.images.commit({
      parent: st.image,
      layer: diffOverlayUpper(join(work, 'upper'), { host: ctx.host, idMap: ctx.snapshots.idMap }),
      config: st.config,
      createdBy,
      author: st.author,
    });
    await finish(ctx, st, img, key, out);
  } finally {
    if (mounted) await ctx.snapshots.unmountRootfs(work).catch(() => {});
    await fs.rm(work, { recursive: true, force: true }).catch(() => {});
  }
}
