/**
 * The CRI beside the Engine API, loaded when its first caller connects. berthd listens on
 * `<exec-root>/cri.sock` at start, as before, but gRPC (grpc-js, protobufjs compiling
 * api.proto), the CRI's handlers and the streaming server are loaded only then: at start they
 * held the event loop for 0.25–0.5 s right after the Engine API began to listen, while the
 * clients of a live restore waited, and kept some 15 MB that a daemon nobody drives through
 * the CRI never used. A connection made while they load waits in a queue and is then served as
 * any other; a load that fails closes the waiting connections, and the next one tries again.
 * Networks kept for sandboxes removed while berthd was down are still torn down at start: the
 * CRI is loaded then if there are any.
 */
import { promises as fs } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { removeStaleSocket, BERTH_VERSION } from '../api/server/index.ts';
import { loadCni, type PodNetworking } from '../cni/index.ts';
import type { CriServer } from '../cri/index.ts';
import type { EventBus } from '../events/index.ts';
import type { ContainerService } from '../services/containers/index.ts';
import type { ExecService } from '../services/exec/index.ts';
import type { ImageService } from '../services/images/index.ts';
import type { PodService } from '../services/pods/index.ts';
import type { StreamingServer } from '../streaming/index.ts';
import type { DaemonConfig } from './config.ts';
import type { Logger } from './log.ts';

/** What the CRI's handlers are built over: the daemon's services, made before the API listens. */
export interface CriDeps {
  config: DaemonConfig;
  log: Logger;
  images: ImageService;
  containers: ContainerService;
  pods: PodService;
  execs: ExecService;
  events: EventBus;
  networking: PodNetworking;
  socketGid?: number;
}

/** The loaded CRI: its gRPC server and the streaming server its exec URLs point at. */
interface Loaded {
  server: CriServer;
  streaming: StreamingServer;
  reapNetworks(): Promise<string[]>;
}

export class LazyCri {
  private readonly d: CriDeps;
  private listener?: NetServer;
  private path?: string;
  private loading?: Promise<Loaded>;
  /** Connections accepted while the CRI loads: handed to it once loaded. */
  private readonly waiting = new Set<Socket>();
  private closed = false;

  constructor(d: CriDeps) {
    this.d = d;
  }

  /** Whether the CRI's modules have been asked for (by a connection, or by networks to reap). */
  get loaded(): boolean {
    return this.loading !== undefined;
  }

  /** Listens on `path` (a stale socket left by a dead daemon is replaced, a live one refused). */
  async listen(path: string): Promise<void> {
    await removeStaleSocket(path);
    const listener = createServer((sock) => this.connected(sock));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(path, () => resolve());
    });
    this.listener = listener;
    this.path = path;
    // Whoever can call the CRI can run anything as root: the Engine API socket's rule.
    await fs.chmod(path, 0o660);
    if (this.d.socketGid !== undefined) await fs.chown(path, 0, this.d.socketGid);
  }

  /**
   * Tears down the CNI networks kept for sandboxes that are gone (as containerd does at start),
   * loading the CRI only if some network is kept at all. Answers the sandboxes torn down.
   */
  async reapNetworks(): Promise<string[]> {
    if (!this.loading && !(await this.d.networking.kept()).length) return [];
    return (await this.load()).reapNetworks();
  }

  private connected(sock: Socket): void {
    this.waiting.add(sock);
    sock.once('close', () => this.waiting.delete(sock));
    this.load().then(
      (cri) => {
        if (!this.waiting.delete(sock) || sock.destroyed) return;
        cri.server.accept(sock);
      },
      () => sock.destroy(),
    );
  }

  /** The CRI, loaded once; after a failure the next caller tries again. */
  private load(): Promise<Loaded> {
    this.loading ??= loadCri(this.d).catch((e: Error) => {
      this.d.log.error(`CRI: loading the CRI server: ${e.stack ?? e.message}`);
      this.loading = undefined;
      throw e;
    });
    return this.loading;
  }

  /** Stops serving: the socket removed, calls in flight cancelled (after a load under way ends). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listener?.close();
    for (const s of this.waiting) s.destroy();
    if (this.path) await fs.rm(this.path, { force: true });
    const cri = await this.loading?.catch(() => undefined);
    if (!cri) return;
    await cri.server.close().catch((e) => this.d.log.warn(`CRI shutdown: ${(e as Error).message}`));
    await cri.streaming.close().catch((e) => this.d.log.warn(`CRI streaming shutdown: ${(e as Error).message}`));
  }
}

/** Imports the CRI's modules and builds its servers over the daemon's services. */
async function loadCri(d: CriDeps): Promise<Loaded> {
  const started = performance.now();
  const {
    CriServer,
    CriPods,
    eventsHandler,
    execRuntime,
    execSyncHandlers,
    imageHandlers,
    ownOomScoreAdj,
    podHandlers,
    runtimeHandlers,
    sandboxImageSource,
    statsHandlers,
    streamingHandlers,
  } = await import('../cri/index.ts');
  const { StreamingServer } = await import('../streaming/index.ts');
  const { config: c, images, containers, networking } = d;
  const criPods = new CriPods({
    pods: d.pods,
    containers,
    oomScoreFloor: await ownOomScoreAdj(),
    networking,
    ...(c.sandboxImage
      ? { sandboxImage: sandboxImageSource({ images, tmp: join(c.dataRoot, 'tmp'), sandboxImage: c.sandboxImage }) }
      : {}),
  });
  const streamingRuntime = execRuntime(d.execs, { pods: criPods, containers });
  // Exec's URLs point here; it listens on loopback only, as kubelet's and containerd's do.
  const streaming = new StreamingServer({ runtime: streamingRuntime, log: d.log });
  const streamingUrl = await streaming.listen();
  d.log.info(`CRI streaming server on ${streamingUrl}`);
  const server = new CriServer({
    runtime: {
      ...streamingHandlers(streaming),
      ...podHandlers(criPods),
      ...statsHandlers(criPods),
      ...execSyncHandlers(streamingRuntime),
      ...runtimeHandlers({
        version: BERTH_VERSION,
        network: () => networking.status(),
        config: () => ({
          dataRoot: c.dataRoot,
          execRoot: c.execRoot,
          imageFsRoot: images.fsRoot,
          registry: images.registry,
          cniConfDir: c.cniConfDir,
          cniBinDirs: c.cniBinDirs,
          cniDefaultNetwork: c.cniDefaultNetwork,
          sandboxImage: c.sandboxImage || 'berth-pause (made locally)',
        }),
        // Read at each call, as kubelet polls Status: a network dropped in later is seen.
        cni: async () => {
          const s = await loadCni(c.cniConfDir, c.cniBinDirs);
          return {
            network: s.network
              ? { name: s.network.name, file: s.network.file, cniVersion: s.network.cniVersion }
              : null,
            skipped: s.skipped,
            missingPlugins: s.missing,
          };
        },
      }),
    },
    runtimeStreams: { GetContainerEvents: eventsHandler(criPods, d.events) },
    images: imageHandlers({ images, tmp: join(c.dataRoot, 'tmp'), sandboxImage: c.sandboxImage || undefined }),
    log: d.log,
  });
  d.log.info(`CRI server loaded in ${Math.round(performance.now() - started)} ms`);
  return { server, streaming, reapNetworks: () => criPods.reapNetworks() };
}
