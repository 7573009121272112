/**
 * What is kept per sandbox between its ADD and its DEL: the request (port mappings included:
 * portmap's DEL is told them again), the network as it was configured at ADD (so a file edited
 * or removed since does not change which plugins DEL runs), and the ADD's final result, which
 * DEL and CHECK get as `prevResult` (libcni keeps the same in /var/lib/cni/results).
 *
 * One JSON file per sandbox under the data root, not the exec root: host-local's allocations
 * live on disk too (/var/lib/cni/networks), so after a reboot the record is what lets DEL free
 * them. A record is written before ADD starts (without a result) so that a crash half-way
 * still leaves DEL something to run. Writes are atomic (a temporary file renamed over).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import type { NetworkConfList } from './config.ts';
import type { SandboxNetworkRequest } from './networking.ts';

export interface SandboxRecord {
  request: SandboxNetworkRequest;
  network: NetworkConfList;
  /**
   * The namespace's identity at ADD (device and inode of its nsfs file): a /proc/<pid>/ns/net
   * path whose pid was reused names another namespace at DEL, which must not be touched.
   */
  netns?: { dev: number; ino: number };
  /** The ADD's final result as the last plugin printed it; absent while ADD runs or after it failed. */
  result?: unknown;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class RecordStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private path(id: string): string {
    if (!ID.test(id) || id.length > 256) throw invalidArgument(`cni: sandbox id "${id}" is not a valid id`);
    return join(this.dir, `${id}.json`);
  }

  async get(id: string): Promise<SandboxRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.path(id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as SandboxRecord;
    } catch {
      // A torn file cannot happen with rename; a hand-edited one is as good as none.
      return undefined;
    }
  }

  async put(id: string, rec: SandboxRecord): Promise<void> {
    const path = this.path(id);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
    await fs.rename(tmp, path);
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.path(id), { force: true });
  }

  /** The ids of every sandbox with a record: what berthd can still tear down. */
  async list(): Promise<string[]> {
    try {
      return (await fs.readdir(this.dir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    } catch {
      return [];
    }
  }
}
