/**
 * Real stores on a temporary directory for image tests: content store, metadata database,
 * overlay snapshotter (with the real host: unpacking layers needs root for ownership and
 * device nodes) and the image store over them. `close()` removes everything.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentStore } from '../content/index.ts';
import { MetadataDb } from '../metadata/index.ts';
import { Snapshotter } from '../snapshots/index.ts';
import { RealHost } from '../host/index.ts';
import { ImageStore } from './store.ts';

export interface TestStores {
  dir: string;
  /** Scratch directory, as the daemon's `<data-root>/tmp`. */
  tmp: string;
  db: MetadataDb;
  content: ContentStore;
  snapshots: Snapshotter;
  store: ImageStore;
  host: RealHost;
  /** What is on disk besides the database: blobs, layer directories, scratch entries. */
  footprint(): Promise<{ blobs: string[]; layers: string[]; tmp: string[]; ingest: string[] }>;
  close(): Promise<void>;
}

export async function openTestStores(prefix = 'berth-images-'): Promise<TestStores> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const host = new RealHost();
  const db = new MetadataDb(join(dir, 'metadata.db'));
  const content = await ContentStore.open(join(dir, 'content'));
  const snapshots = await Snapshotter.open(join(dir, 'overlay'), db, content, host);
  const store = new ImageStore(db, content, snapshots);
  const tmp = join(dir, 'tmp');
  const ls = (p: string) => readdir(p).catch(() => [] as string[]);
  return {
    dir,
    tmp,
    db,
    content,
    snapshots,
    store,
    host,
    async footprint() {
      return {
        blobs: (await content.list()).sort(),
        layers: (await ls(join(dir, 'overlay', 'layers'))).sort(),
        tmp: (await ls(tmp)).sort(),
        ingest: (await ls(join(dir, 'content', 'ingest'))).sort(),
      };
    },
    async close() {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
