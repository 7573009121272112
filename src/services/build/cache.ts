/**
 * The build cache: step key (parent image + the step as committed + content digests) → the
 * image the step made. Kept in `<data-root>/builder/cache.json`, written by atomic rename, so
 * it survives a daemon restart; entries whose image is gone are ignored and dropped.
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest, HistoryEntry, ImageConfig } from '../../spec/index.ts';

export class BuildCache {
  private readonly file: string;
  private entries = new Map<string, string>();
  private saving: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.file = join(dir, 'cache.json');
    try {
      const obj = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
      for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') this.entries.set(k, v);
    } catch {
      // no cache yet, or unreadable: start empty
    }
  }

  static key(parent: string | null, step: string, extra = ''): string {
    return createHash('sha256')
      .update(`${parent ?? 'scratch'}\n${step}\n${extra}`)
      .digest('hex');
  }

  get(key: string, exists: (id: string) => boolean): string | undefined {
    const id = this.entries.get(key);
    if (id === undefined) return undefined;
    if (!exists(id)) {
      this.entries.delete(key);
      return undefined;
    }
    return id;
  }

  async set(key: string, id: string): Promise<void> {
    this.entries.set(key, id);
    await this.save();
  }

  /** Every image the cache points at, oldest entry first. */
  images(): string[] {
    return [...new Set(this.entries.values())];
  }

  async clear(): Promise<number> {
    const n = this.entries.size;
    this.entries.clear();
    await this.save();
    return n;
  }

  private save(): Promise<void> {
    const body = JSON.stringify(Object.fromEntries(this.entries));
    this.saving = this.saving.then(async () => {
      const dir = join(this.file, '..');
      await fs.mkdir(dir, { recursive: true });
      const tmp = `${this.file}.tmp`;
      await fs.writeFile(tmp, body);
      await fs.rename(tmp, this.file);
    });
    return this.saving;
  }
}

/** What `--cache-from` matching reads of an image: its history and its layers. */
export type CacheCandidate = Pick<ImageConfig, 'history' | 'rootfs'>;

/**
 * dockerd's `--cache-from` rule (its image cache for the legacy builder): a source image stands
 * for a step when its history and layers begin with the parent's exactly and its next history
 * entry was made by the same command. Answers the source, the history entry that matched and the
 * layer it added (none for an empty layer), and whether that entry is the source's last (then
 * the source itself is the step's image).
 */
export function cacheFromMatch<T extends CacheCandidate>(
  parent: CacheCandidate | null,
  createdBy: string,
  sources: readonly T[],
): { source: T; entry: HistoryEntry; layer?: Digest; last: boolean } | undefined {
  const parentHistory = parent?.history ?? [];
  const parentLayers = parent?.rootfs.diff_ids ?? [];
  for (const source of sources) {
    const history = source.history ?? [];
    const layers = source.rootfs.diff_ids;
    if (!history.length || parentHistory.length >= history.length || parentLayers.length > layers.length) continue;
    if (!parentHistory.every((h, i) => sameEntry(h, history[i]!))) continue;
    if (!parentLayers.every((d, i) => d === layers[i])) continue;
    const entry = history[parentHistory.length]!;
    if (entry.created_by !== createdBy) continue;
    const layer = entry.empty_layer
      ? undefined
      : layers[history.slice(0, parentHistory.length).filter((h) => !h.empty_layer).length];
    if (!entry.empty_layer && !layer) continue;
    return { source, entry, layer, last: history.length - 1 === parentHistory.length };
  }
  return undefined;
}

function sameEntry(a: HistoryEntry, b: HistoryEntry): boolean {
  return (
    sameTime(a.created ?? '', b.created ?? '') &&
    (a.created_by ?? '') === (b.created_by ?? '') &&
    (a.author ?? '') === (b.author ?? '') &&
    (a.comment ?? '') === (b.comment ?? '') &&
    !!a.empty_layer === !!b.empty_layer
  );
}

/**
 * Two RFC 3339 times as instants, as dockerd compares parsed history entries: Go writes
 * "20:33:45Z" where Berth wrote "20:33:45.000Z" for the same one, so an image dockerd built
 * on Berth's busybox (or saved and loaded) carries its history in the other spelling.
 */
function sameTime(a: string, b: string): boolean {
  if (a === b) return true;
  const t = Date.parse(a);
  const fraction = (s: string) => (/\.(\d+)/.exec(s)?.[1] ?? '').replace(/0+$/, '');
  return !Number.isNaN(t) && t === Date.parse(b) && fraction(a) === fraction(b);
}
