/**
 * A container service for unit tests, over fakes: the fake runtime (runtime/testing.ts), the
 * recording host, one image (`busybox`, config only), root file systems that are plain
 * directories, and a real metadata database in a temporary directory. What a test checks is the
 * service's own logic — its state machine, locks, restarts and events — not runc's.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notFound, notImplemented } from '../../errdefs/index.ts';
import { EventBus } from '../../events/index.ts';
import type { ContainerCreateRequest as CreateRequest, EventMessage as EngineEvent } from '../../api/types/index.ts';
import { FakeHost } from '../../host/testing.ts';
import type { Image } from '../../images/index.ts';
import { MetadataDb } from '../../metadata/index.ts';
import { FakeRuntime } from '../../runtime/testing.ts';
import type { Digest } from '../../spec/index.ts';
import { Runtimes } from './runtimes.ts';
import { ContainerService } from './service.ts';
import type { ContainerImages, ContainerRootfs } from './context.ts';

export interface TestService {
  svc: ContainerService;
  runtime: FakeRuntime;
  /** The service's runtimes: `fake` (the default, `runtime`), and any others asked for. */
  runtimes: Runtimes<FakeRuntime>;
  events: EventBus;
  host: FakeHost;
  dir: string;
  /** The service's debug log lines so far (what it decided, e.g. a restart's delay). */
  debug: string[];
  /** Creates a container of `busybox` running `cmd` (the fake runtime's program sees it). */
  create(cmd: string[], extra?: Partial<CreateRequest>, name?: string): Promise<string>;
  /** The actions of the container events published so far for `id`, in order. */
  actions(id: string): string[];
  close(): Promise<void>;
}

export const TEST_IMAGE_ID = `sha256:${'ab'.repeat(32)}` as Digest;

export async function openTestService(
  o: { precreateTtlMs?: number; liveRestore?: boolean; otherRuntimes?: string[] } = {},
): Promise<TestService> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-containers-'));
  const db = new MetadataDb(join(dir, 'metadata.db'));
  const runtime = new FakeRuntime();
  const events = new EventBus();
  const host = new FakeHost();
  const runtimes = new Runtimes(
    new Map([['fake', runtime], ...(o.otherRuntimes ?? []).map((n): [string, FakeRuntime] => [n, new FakeRuntime()])]),
    'fake',
  );
  const seen: EngineEvent[] = [];
  const debug: string[] = [];
  events.subscribe((e) => seen.push(e));
  const svc = new ContainerService({
    db,
    images: fakeImages(),
    snapshots: fakeRootfs(),
    runtimes,
    host,
    events,
    root: join(dir, 'containers'),
    liveRestore: o.liveRestore ?? false,
    log: { debug: (m: string) => void debug.push(m), info() {}, warn() {}, error() {} },
    precreateTtlMs: o.precreateTtlMs,
  });
  await mkdir(join(dir, 'containers'), { recursive: true });
  return {
    svc,
    runtime,
    runtimes,
    events,
    host,
    dir,
    debug,
    async create(cmd, extra = {}, name) {
      return (await svc.create({ Image: 'busybox', Cmd: cmd, ...extra }, name)).Id;
    },
    actions: (id) => seen.filter((e) => e.Type === 'container' && e.Actor.ID === id).map((e) => e.Action),
    async close() {
      await svc.shutdown();
      await runtime.close();
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function fakeImages(): ContainerImages {
  const image: Image = {
    id: TEST_IMAGE_ID,
    config: {
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [] },
    },
    created: '2026-01-01T00:00:00Z',
    added: '2026-01-01T00:00:00Z',
    topChain: null,
    size: 1000,
    parent: null,
    tags: ['busybox:latest'],
    digests: [],
  };
  const find = (ref: string) => (['busybox', 'busybox:latest', TEST_IMAGE_ID].includes(ref) ? image : undefined);
  return {
    require(ref: string) {
      const img = find(ref);
      if (!img) throw notFound(`No such image: ${ref}`);
      return img;
    },
    async commit() {
      throw notImplemented('commit: not in unit tests');
    },
    usage: () => [],
    layersInUse: () => new Set(),
    releaseHolders: async () => {},
    store: { find, idOf: (ref: string) => find(ref)?.id },
  };
}

/** Root file systems as plain directories: "mounted" is remembered, nothing is mounted. */
function fakeRootfs(): ContainerRootfs {
  const mounted = new Set<string>();
  return {
    async mountRootfs(dir: string) {
      await mkdir(join(dir, 'rootfs'), { recursive: true });
      await mkdir(join(dir, 'upper'), { recursive: true });
      mounted.add(dir);
      return join(dir, 'rootfs');
    },
    async unmountRootfs(dir: string) {
      mounted.delete(dir);
    },
    async isMounted(dir: string) {
      return mounted.has(dir);
    },
    lowerDirs: () => [],
  };
}

/** Resolves once `cond` holds (checked every 5 ms); throws, naming `what`, after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    // A timer that holds the event loop (delay's does not): the test waits on it alone.
    await new Promise((r) => setTimeout(r, 5));
  }
}
