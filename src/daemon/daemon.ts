/**
 * The composition root: opens the stores, builds the services, serves the API, and shuts
 * everything down in order. Beside it: listeners.ts (the API's and the CRI's sockets, opened
 * last), info.ts (`docker info`'s answer from what this file knows), pidfile.ts (one berthd per
 * data root), runtime.ts (the runtimes by name), config.ts (flags and daemon.json).
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import { RealHost, launcherMismatch, type Host } from '../host/index.ts';
import { MetadataDb } from '../metadata/index.ts';
import type { RuntimeDriver } from '../runtime/index.ts';
import { ContentStore } from '../content/index.ts';
import { Snapshotter } from '../snapshots/index.ts';
import { ImageStore } from '../images/index.ts';
import { checkRegistryFiles } from '../registry/index.ts';
import type { CniNetwork } from '../cni/index.ts';
import { EventBus } from '../events/index.ts';
import { ImageService } from '../services/images/index.ts';
import { SignaturePolicyFile } from '../trust/index.ts';
import { ContainerService, type ContainerRecord, type Runtimes } from '../services/containers/index.ts';
import { registerContainers, registerExec, registerTransfer } from '../api/server/index.ts';
import { ExecService } from '../services/exec/index.ts';
import { HealthMonitor } from '../services/health/index.ts';
import { diskUsage } from '../services/system/index.ts';
import { BuildService } from '../services/build/index.ts';
import { VolumeService } from '../services/volumes/index.ts';
import { LocalDriver } from '../volumes/index.ts';
import { registerVolumes } from '../api/server/index.ts';
import { registerNetworks } from '../api/server/index.ts';
import { registerBuild } from '../api/server/index.ts';
import { createRuntimes, defaultRuntimeName, runtimePath } from './runtime.ts';
import { close, Router, type Listener } from '../api/server/index.ts';
import { registerSystem, registerImages, registerSwarm, registerPlugins, BERTH_VERSION } from '../api/server/index.ts';
import { containerDefaults, type DaemonConfig } from './config.ts';
import { hostHardLimits, inUserNamespace } from '../oci/index.ts';
import type { SystemInfo } from '../api/types/index.ts';
import { Logger } from './log.ts';
import { checkExposure, loadApiTls } from './remote.ts';
import { secureDataRoot } from './dataroot.ts';
import { setUpRemap, type Remap } from './userns.ts';
import { rootOf } from '../spec/index.ts';
import {
  checkpointRefusals,
  componentVersions,
  engineId,
  systemInfo,
  versionComponents,
  warmPoolLine,
  type ComponentVersions,
} from './info.ts';
import type { LazyCri } from './cri.ts';
import { listenApi, listenCri, socketGroup } from './listeners.ts';
import { claimPidfile } from './pidfile.ts';

/** berth-launcher, built by scripts/setup.sh: programs start through it (src/host/launcher.ts). */
const LAUNCHER = join(import.meta.dirname, '..', '..', 'build', 'berth-launcher');
import { NetworkManager, UserNetworks } from '../network/index.ts';
import { rootlessPorts } from './rootless.ts';
import { NetworkService } from '../services/networks/index.ts';
import { InfraImage, PodService } from '../services/pods/index.ts';
import { registerLibpod, registerLibpodEvents, registerPods } from '../api/server/index.ts';

/**
 * A container kubelet owns through the CRI (a sandbox's infra or a container in it: cri/labels.ts's
 * `io.kubernetes.docker.type`, not imported here, as cri/ loads with gRPC at its first caller:
 * cri.ts): it keeps running through a berthd restart even without --live-restore, as
 * containerd's tasks do.
 */
function criOwned(c: DaemonConfig, ct: ContainerRecord): boolean {
  return c.cri && ct.Config.Labels?.['io.kubernetes.docker.type'] !== undefined;
}

/** The warm pool's sandbox process (services/containers/berth-zygote.c), built by setup. */
const ZYGOTE_PROGRAM = join(import.meta.dirname, '..', '..', 'build', 'berth-zygote');
/** The pods' infra program (services/pods/berth-pause.c), built by setup. */
const PAUSE_PROGRAM = join(import.meta.dirname, '..', '..', 'build', 'berth-pause');

export class Daemon {
  readonly config: DaemonConfig;
  readonly log: Logger;
  readonly host: Host;
  private runtimes?: Runtimes<RuntimeDriver>;
  /** Each runtime's program, for `docker info`. */
  private runtimePaths = new Map<string, string>();
  readonly events = new EventBus();
  private listeners: Listener[] = [];
  /** The CRI's socket; its servers load when a caller first connects (cri.ts). */
  private cri?: LazyCri;
  /** The pods' CNI network (with --cri): what CRI sandboxes are attached through. */
  podNetworking?: CniNetwork;
  private db?: MetadataDb;
  images?: ImageService;
  containers?: ContainerService;
  volumes?: VolumeService;
  private health?: HealthMonitor;
  network?: NetworkManager;
  userNetworks?: UserNetworks;
  /** `docker info`'s ID: this data root's engine-id (info.ts), set at start. */
  private id: string;
  private ownsPidfile = false;
  /** The OCI runtime's commit and the init's version, as `docker info` shows them. */
  private componentVersions: ComponentVersions = {};
  /** What each runtime says of checkpoints here, found once at start (for `docker info`). */
  private checkpointRefusals: string[] = [];
  /** `--userns-remap`: the user, the id map and the remapped data root. */
  remap?: Remap;
  /** Under a remap: how image layers are owned by the range (docker info's security options). */
  private layerOwners?: string;
  /** berthd runs in an ordinary user's user namespace (under rootlesskit): see rootless.ts. */
  readonly rootless = inUserNamespace();

  constructor(config: DaemonConfig, host?: Host) {
    this.config = config;
    this.log = new Logger(config.logLevel);
    this.host = host ?? this.realHost();
    this.id = '';
  }

  /** The real host, through berth-launcher when the checkout has one built for this berthd. */
  private realHost(): Host {
    if (!existsSync(LAUNCHER)) {
      this.log.warn(`${LAUNCHER} is not built (run \`npm run setup\`): programs start through Node, slower`);
      return new RealHost();
    }
    const mismatch = launcherMismatch(LAUNCHER);
    if (mismatch) {
      this.log.warn(`${mismatch} (run \`npm run setup\` to rebuild it): programs start through Node, slower`);
      return new RealHost();
    }
    return new RealHost({ launcherPath: LAUNCHER });
  }

  async start(): Promise<void> {
    const c = this.config;
    // Where a start's time goes (a live restore of many containers above all), at debug level:
    // milliseconds since the process began, module loading included, and the CPU time spent.
    const stage = (what: string) => {
      const cpu = process.cpuUsage();
      this.log.debug(
        `start-up: ${what} at ${Math.round(performance.now())} ms (CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms)`,
      );
    };
    stage('modules loaded');
    // First, as dockerd: a refused address or bad certificate stops the start before it touches anything.
    const apiTls = loadApiTls(c.apiTls, this.log);
    await checkExposure(c.hosts, c.apiTls, this.log);
    const socketGid = await socketGroup(c, this.rootless);
    // A policy that does not parse stops start-up before anything is touched.
    const policy = c.signaturePolicy ? SignaturePolicyFile.open(c.signaturePolicy, (m) => this.log.warn(m)) : undefined;
    await fs.mkdir(c.dataRoot, { recursive: true, mode: 0o711 });
    // Rootless containers already run in the user's namespace; there are no ids to remap them to.
    if (c.usernsRemap && this.rootless) throw invalidArgument('--userns-remap is not supported in rootless mode');
    if (c.usernsRemap) {
      // As dockerd: everything is kept under <data-root>/<uid>.<gid>, images unpacked for this map.
      this.remap = await setUpRemap(this.host, c.usernsRemap, c.dataRoot);
      c.dataRoot = this.remap.dataRoot;
      this.log.info(`user namespaces: ID ranges will be mapped to user ${this.remap.user}, group ${this.remap.group}`);
    }
    const idMap = this.remap?.map;
    await fs.mkdir(c.execRoot, { recursive: true, mode: 0o700 });
    await claimPidfile(c.pidfile);
    this.ownsPidfile = true;
    // Scratch space: whatever a crash left there is garbage.
    await fs.rm(join(c.dataRoot, 'tmp'), { recursive: true, force: true });
    await fs.mkdir(join(c.dataRoot, 'tmp'), { recursive: true });
    this.id = await engineId(c.dataRoot);

    this.db = new MetadataDb(join(c.dataRoot, 'metadata.db'));
    const content = await ContentStore.open(join(c.dataRoot, 'content'));
    const snapshots = await Snapshotter.open(join(c.dataRoot, 'overlay'), this.db, content, this.host, idMap, {
      idmap: c.usernsIdmap,
    });
    this.layerOwners = snapshots.layerOwners;
    if (snapshots.layerOwners === 'idmapped')
      this.log.info('user namespaces: image layers are idmapped into the range (no chowned copy)');
    else if (snapshots.layerOwners === 'shifted')
      this.log.info(
        `user namespaces: image layers are unpacked as a chowned copy for the range (${snapshots.layerOwnersReason})`,
      );
    const imageStore = new ImageStore(this.db, content, snapshots);
    stage('stores open');
    imageStore.compressed.background = true;
    imageStore.compressed.onError = (diffId, e) =>
      this.log.warn(`compress layer ${diffId} in the background: ${(e as Error).message}`);
    this.images = new ImageService(imageStore, this.events);
    this.images.registry = {
      insecure: c.insecureRegistries,
      mirrors: c.registryMirrors,
      certsDirs: c.registryCertsDirs,
      registriesConf: c.registriesConf || undefined,
    };
    await checkRegistryFiles(this.images.registry);
    this.images.policy = policy;

    this.volumes = new VolumeService(
      await LocalDriver.open(join(c.dataRoot, 'volumes'), this.host, idMap && rootOf(idMap)),
      this.events,
      this.host,
    );

    c.defaultRuntime ||= defaultRuntimeName();
    // The runtimes (their programs resolved and asked) and the networks (the launcher's
    // netlink and nftables requests, or ip and nft without it) each wait on others: side by
    // side, not one after the other.
    const runtimesReady = createRuntimes(this.host, c.execRoot, c.defaultRuntime, c.monitor, c.addedRuntimes);
    // Awaited below whatever happens; meanwhile a failure is not an unhandled rejection.
    runtimesReady.catch(() => {});
    this.network = new NetworkManager({
      host: this.host,
      root: join(c.dataRoot, 'network'),
      bridge: c.bridge,
      bip: c.bip,
      fixedCidrV6: c.ipv6 ? c.fixedCidrV6 : undefined,
      log: this.log,
      ports: rootlessPorts(this.rootless, this.log),
    });
    // As dockerd: IPv6 on the default bridge needs a subnet; there is no default one.
    if (c.ipv6 && !c.fixedCidrV6 && this.network.enabled)
      throw invalidArgument(
        'Error initializing network controller: IPv6 is enabled for the default bridge, but no subnet is configured. Specify an IPv6 subnet using --fixed-cidr-v6',
      );
    await this.network.init();
    const bridge = this.network;
    this.userNetworks = new UserNetworks({
      host: this.host,
      root: join(c.dataRoot, 'network'),
      icc: c.icc,
      table: bridge.enabled
        ? `${bridge.table}_nets`
        : `berth_nets_${createHash('sha256').update(c.dataRoot).digest('hex').slice(0, 8)}`,
      log: this.log,
      defaultBridge: () =>
        bridge.enabled
          ? { name: bridge.bridgeName, subnet: bridge.info()?.subnet, subnet6: bridge.info()?.subnet6 }
          : undefined,
    });
    await this.userNetworks.init();
    stage('networks loaded');
    const { runtimes, paths } = await runtimesReady;
    this.runtimes = runtimes;
    this.runtimePaths = paths;
    stage('runtimes ready');
    const initPath = await firstExisting(['/usr/bin/tini-static', '/usr/bin/docker-init']);
    // For docker info, asked of the programs once, off the start's path.
    void componentVersions(this.host, runtimePath(c.defaultRuntime), initPath).then(
      (v) => (this.componentVersions = v),
    );
    void checkpointRefusals(runtimes).then((r) => (this.checkpointRefusals = r));
    this.containers = new ContainerService({
      db: this.db,
      images: this.images,
      snapshots,
      runtimes,
      host: this.host,
      events: this.events,
      root: join(c.dataRoot, 'containers'),
      liveRestore: c.liveRestore,
      keepRunning: (ct) => criOwned(c, ct),
      log: this.log,
      initPath,
      network: this.network,
      userNetworks: this.userNetworks,
      volumes: this.volumes,
      defaults: containerDefaults(c, hostHardLimits().get('RLIMIT_NOFILE') ?? Infinity),
      idMap,
      rootless: this.rootless,
      warmPool: { size: c.warmPool, zygote: ZYGOTE_PROGRAM },
    });
    await fs.mkdir(join(c.dataRoot, 'containers'), { recursive: true, mode: 0o710 });
    stage(`${this.containers.store.all().length} container records read`);
    const pods = new PodService({
      db: this.db,
      containers: this.containers,
      events: this.events,
      infraImage: new InfraImage(this.images, PAUSE_PROGRAM),
    });
    const execs = new ExecService({ containers: this.containers, runtimes, events: this.events });
    // Before restore: containers its restart policies start are watched like any other.
    this.health = new HealthMonitor({ containers: this.containers, execs, events: this.events, log: this.log });
    // Addresses of containers that no longer run go back to the pool (a crash left them).
    const runningIds = new Set(
      this.containers.store
        .all()
        .filter((ct) => ct.State.Running)
        .map((ct) => ct.Id),
    );
    this.network.reconcile(runningIds);
    this.userNetworks.reconcile(runningIds);
    await this.containers.restore();
    stage('containers restored');
    await this.volumes.unmountUnused().catch((e) => this.log.warn(`volumes: ${(e as Error).message}`));
    await this.containers.republishPorts();
    this.health.watchRunning();
    stage('ports and health checks');
    const garbage = await this.images.collectGarbage();
    if (garbage.layers || garbage.blobs)
      this.log.info(
        `removed ${garbage.layers} unused layers and ${garbage.blobs} stray blobs left by interrupted work`,
      );

    const router = new Router(
      (m) => this.log.error(m),
      this.log.enabled('debug') ? (m) => this.log.debug(m) : undefined,
    );
    registerSystem(router, {
      events: this.events,
      info: () => this.info(),
      components: () => versionComponents(c.defaultRuntime, this.componentVersions),
      build: () => this.componentVersions.build,
      experimental: c.experimental,
      df: () => diskUsage({ containers: this.containers!, images: this.images!, volumes: this.volumes }),
    });
    registerTransfer(router, { images: this.images, host: this.host, tmp: join(c.dataRoot, 'tmp') });
    registerImages(router, this.images, join(c.dataRoot, 'tmp'));
    const containers = this.containers;
    registerContainers(router, {
      containers,
      lowerDirs: (ct) => snapshots.lowerDirs((ct.TopChain ?? null) as never),
      imageIdOf: (ref) => this.images!.store.find(ref)?.id,
      exportRootfs: (ref) => containers.export(ref),
      rootfsFile: async (path) => (await this.images!.attachFile(path)).id,
      createInPod: (pod, body, name, opts) => pods.createMember(pod, body, name, opts),
    });
    registerPods(router, pods);
    registerLibpodEvents(router, this.events);
    registerLibpod(router, {
      containers,
      images: this.images,
      tmp: join(c.dataRoot, 'tmp'),
      createInPod: (pod, body, name) => pods.createMember(pod, body, name),
      lowerDirs: (ct) => snapshots.lowerDirs((ct.TopChain ?? null) as never),
      events: this.events,
    });
    registerExec(router, execs);
    registerVolumes(router, this.volumes);
    registerSwarm(router);
    registerPlugins(router);
    registerNetworks(
      router,
      new NetworkService({ bridge: this.network, user: this.userNetworks, containers, events: this.events }),
    );
    const builds = new BuildService({
      images: this.images,
      containers,
      snapshots,
      host: this.host,
      tmp: join(c.dataRoot, 'tmp'),
      root: join(c.dataRoot, 'builder'),
      log: this.log,
    });
    await builds.cleanup();
    stage('routes');
    registerBuild(router, builds);
    // Last, when every store has made its directories: nothing under the root is open to others.
    for (const m of await secureDataRoot(c.dataRoot, idMap && rootOf(idMap).gid))
      this.log.info(`data root: mode of ${m}`);

    await listenApi(router, c, { socketGid, tls: apiTls, rootless: this.rootless, log: this.log }, this.listeners);
    if (c.cri) {
      const deps = { config: c, log: this.log, images: this.images, containers, pods, execs, events: this.events };
      ({ cri: this.cri, podNetworking: this.podNetworking } = await listenCri(this.host, { ...deps, socketGid }));
    }
    this.log.info(`berthd ${BERTH_VERSION} started (data-root ${c.dataRoot}, exec-root ${c.execRoot})`);
  }

  async shutdown(): Promise<void> {
    await this.cri?.close().catch((e) => this.log.warn(`CRI shutdown: ${(e as Error).message}`));
    for (const l of this.listeners) await close(l);
    this.health?.stop();
    await this.containers?.shutdown();
    // With live restore, running containers keep their bridge and NAT.
    await this.network
      ?.shutdown(
        !!this.containers?.store
          .all()
          .some((ct) => ct.State.Running && (this.config.liveRestore || criOwned(this.config, ct))),
      )
      .catch((e) => this.log.warn(`network shutdown: ${(e as Error).message}`));
    await this.userNetworks
      ?.shutdown(this.config.liveRestore)
      .catch((e) => this.log.warn(`user networks shutdown: ${(e as Error).message}`));
    this.listeners = [];
    this.images?.store.compressed.close();
    this.db?.close();
    for (const [name, rt] of this.runtimes?.entries() ?? [])
      await rt.close().catch((e) => this.log.warn(`runtime ${name} shutdown: ${(e as Error).message}`));
    // Not the pidfile of another berthd that made this one's start fail.
    if (this.ownsPidfile) await fs.rm(this.config.pidfile, { force: true });
    this.host.close?.();
    this.log.info('berthd stopped');
  }

  info(): SystemInfo {
    const c = this.config;
    return systemInfo({
      id: this.id,
      config: c,
      images: this.images?.store.list().length ?? 0,
      containers: this.containers?.list() ?? [],
      warmPool: warmPoolLine(this.containers?.poolStatus(), (id) => this.images?.store.find(id)?.tags[0]),
      runtimes: new Map(
        (this.runtimes?.names() ?? [c.defaultRuntime]).map((n) => [n, this.runtimePaths.get(n) ?? runtimePath(n)]),
      ),
      versions: this.componentVersions,
      checkpointRefusals: this.checkpointRefusals,
      remapped: !!this.remap,
      layerOwners: this.layerOwners,
      rootless: this.rootless,
    });
  }
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      await fs.access(p);
      return p;
    } catch {
      // try the next
    }
  }
  return undefined;
}
