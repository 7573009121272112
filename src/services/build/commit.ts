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
import { shortId } from '../../spec/index.ts';
import { BuildCache } from './cache.ts';
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
  if (useCache(ctx, b, st, key, out)) return;
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

export function useCache(
  ctx: StepContext,
  b: PreparedBuild,
  st: StageState,
  key: string,
  out: (s: string) => void,
): boolean {
  if (b.opts.noCache) return false;
  const id = ctx.cache.get(key, (i) => !!ctx.images.store.find(i));
  if (!id) return false;
  const img = ctx.images.store.get(id);
  out(' ---> Using cache\n');
  out(` ---> ${shortId(img.id)}\n`);
  st.image = img;
  st.config = structuredClone(img.config.config ?? {});
  return true;
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
  if (useCache(ctx, b, st, key, out)) return;
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
      layer: diffOverlayUpper(join(work, 'upper'), { host: ctx.host }),
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
