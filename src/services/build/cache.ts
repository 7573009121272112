/**
 * The build cache: step key (parent image + the step as committed + content digests) → the
 * image the step made. Kept in `<data-root>/builder/cache.json`, written by atomic rename, so
 * it survives a daemon restart; entries whose image is gone are ignored and dropped.
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
