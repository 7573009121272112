/**
 * What concurrent pulls in one daemon share, per image store: the layers each pull is building
 * on (so a failed pull drops only what no other pull stands on), the layer downloads (one per
 * blob), and the layers being unpacked (a second pull of a layer waits for the first).
 */
import type { ImageStore } from '../../images/index.ts';
import { Downloads } from './download.ts';

/**
 * Layers that pulls in progress are building on, counted per pull, per store: a pull that
 * fails must not drop a layer another pull of the same image (docker-compose pulls services
 * that share an image at once) has just found in place and is stacking on.
 */
const inFlight = new WeakMap<ImageStore, Map<string, number>>();

export function hold(store: ImageStore, chains: readonly string[]): () => void {
  let m = inFlight.get(store);
  if (!m) inFlight.set(store, (m = new Map()));
  for (const c of chains) m.set(c, (m.get(c) ?? 0) + 1);
  return () => {
    for (const c of chains) {
      const n = (m.get(c) ?? 1) - 1;
      if (n > 0) m.set(c, n);
      else m.delete(c);
    }
  };
}

export function heldByOthers(store: ImageStore, chain: string): boolean {
  return (inFlight.get(store)?.get(chain) ?? 0) > 1;
}

/** One store's shared layer downloads (concurrent pulls of one layer download it once). */
const downloadsByStore = new WeakMap<ImageStore, Downloads>();

export function downloadsOf(store: ImageStore): Downloads {
  let d = downloadsByStore.get(store);
  if (!d) downloadsByStore.set(store, (d = new Downloads()));
  return d;
}

/** Layers being unpacked, by chain ID, per store: a second pull waits for the first. */
const unpacking = new WeakMap<ImageStore, Map<string, Promise<void>>>();

export function extracting(store: ImageStore, chain: string): Promise<void> | undefined {
  return unpacking.get(store)?.get(chain);
}

/**
 * Claims the unpacking of a layer before any await, so that a concurrent pull deciding at the
 * same moment sees it; undefined when another pull has it. `settle` runs the work under it.
 */
export function claimUnpack(
  store: ImageStore,
  chain: string,
): { settle(work: Promise<void>): Promise<void> } | undefined {
  let m = unpacking.get(store);
  if (!m) unpacking.set(store, (m = new Map()));
  if (m.has(chain)) return undefined;
  let done!: () => void;
  let failed!: (e: unknown) => void;
  const p = new Promise<void>((res, rej) => ((done = res), (failed = rej)));
  p.catch(() => {});
  m.set(chain, p);
  const map = m;
  return {
    async settle(work) {
      try {
        await work;
        done();
      } catch (e) {
        failed(e);
        throw e;
      } finally {
        if (map.get(chain) === p) map.delete(chain);
      }
    },
  };
}

export async function startExtracting(store: ImageStore, chain: string, work: Promise<void>): Promise<void> {
  let m = unpacking.get(store);
  if (!m) unpacking.set(store, (m = new Map()));
  m.set(chain, work);
  try {
    await work;
  } finally {
    if (m.get(chain) === work) m.delete(chain);
  }
}
