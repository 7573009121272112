/**
 * `docker info`'s answer (`GET /info`): what berthd counts (images, containers by state), what it
 * was started with (runtimes, live restore, remap, rootless) and what it found out once at start
 * (the runtime's and init's versions, which runtimes cannot checkpoint here). The daemon hands
 * in what it knows; the host's own facts (kernel, OS, CPUs, memory) are read here.
 *
 * @example
 *   const refusals = await checkpointRefusals(runtimes); // ['WARNING: runtime crun cannot checkpoint: ...']
 *   const versions = await componentVersions(host, '/usr/bin/crun', '/usr/bin/tini-static');
 *   router.get('/info', () => systemInfo({ ...facts, versions, checkpointRefusals: refusals }));
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/index.ts';
import type { RuntimeDriver } from '../runtime/index.ts';
import type { ContainerRecord, ContainerService, Runtimes } from '../services/containers/index.ts';
import { BERTH_VERSION } from '../api/server/index.ts';
import type { SystemInfo } from '../api/types/index.ts';
import { cgroupVersion, swapLimitSupported } from '../oci/index.ts';
import { shortId } from '../spec/index.ts';
import type { DaemonConfig } from './config.ts';
import { infoWarnings } from './apitls.ts';

/** The OCI runtime's commit and the init's version, as `docker info` shows them. */
export interface ComponentVersions {
  runtime?: string;
  init?: string;
  /** The runtime's version (`runc version 1.1.5` → `1.1.5`), for `docker version`. */
  runtimeVersion?: string;
  /** Berth's own build (build/version.json, written by setup's bundling): the Engine's Git commit and Built. */
  build?: { GitCommit: string; BuildTime: string };
}

const VERSION_INFO = join(import.meta.dirname, '..', '..', 'build', 'version.json');

/**
 * `docker version`'s server components beside the Engine, as dockerd lists containerd, runc
 * and docker-init: here the default runtime under its own name and the init (Berth has no
 * containerd). Versions not known yet (asked at start, off its path) are left out.
 */
export function versionComponents(
  runtimeName: string,
  v: ComponentVersions,
): Array<{ Name: string; Version: string; Details: Record<string, string> }> {
  const out = [];
  if (v.runtimeVersion)
    out.push({ Name: runtimeName, Version: v.runtimeVersion, Details: { GitCommit: v.runtime ?? '' } });
  if (v.init) out.push({ Name: 'docker-init', Version: v.init, Details: { GitCommit: '' } });
  return out;
}

/** What the daemon knows that `docker info` shows. */
export interface InfoFacts {
  id: string;
  config: DaemonConfig;
  images: number;
  containers: readonly ContainerRecord[];
  /** `docker info`'s line on the warm pool (`warmPoolLine`). */
  warmPool: string;
  /** The runtimes by name, with their programs. */
  runtimes: ReadonlyMap<string, string>;
  versions: ComponentVersions;
  checkpointRefusals: readonly string[];
  /** Under `--userns-remap`. */
  remapped: boolean;
  /** How image layers are owned by the range (snapshots' `layerOwners`). */
  layerOwners?: string;
  rootless: boolean;
}

export function systemInfo(f: InfoFacts): SystemInfo {
  const { config } = f;
  const running = f.containers.filter((x) => x.State.Running && !x.State.Paused).length;
  const paused = f.containers.filter((x) => x.State.Paused).length;
  return {
    ID: f.id,
    Containers: f.containers.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: f.containers.length - running - paused,
    Images: f.images,
    Driver: 'overlay2',
    DriverStatus: [
      ['Backing Filesystem', 'extfs'],
      ['Supports d_type', 'true'],
      // As dockerd's overlay2: layers are diffed from the upper directory (archive's
      // diffOverlayUpper), and a rootless daemon's overlays keep whiteouts as user xattrs.
      ['Native Overlay Diff', 'true'],
      ['userxattr', String(f.rootless)],
      // The docker CLI prints these lines as they come, under the storage driver.
      ['Warm pool', f.warmPool],
    ],
    Plugins: {
      Volume: ['local'],
      Network: ['bridge', 'host', 'none'],
      Authorization: null,
      Log: ['json-file', 'local', 'none'],
    },
    MemoryLimit: true,
    SwapLimit: swapLimitSupported(),
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: config.logLevel === 'debug',
    NFd: openFds(),
    OomKillDisable: true,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: String(cgroupVersion()),
    NEventsListener: 0,
    KernelVersion: os.release(),
    OperatingSystem: osRelease('PRETTY_NAME') ?? 'Linux',
    OSVersion: osRelease('VERSION_ID') ?? '',
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: registryConfig(config.insecureRegistries, config.registryMirrors),
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    DockerRootDir: config.dataRoot,
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: config.experimental,
    ServerVersion: BERTH_VERSION,
    Runtimes: Object.fromEntries([...f.runtimes].map(([n, path]) => [n, { path }])),
    DefaultRuntime: config.defaultRuntime,
    LiveRestoreEnabled: config.liveRestore,
    Isolation: '',
    InitBinary: 'docker-init',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: f.versions.runtime ?? '', Expected: f.versions.runtime ?? '' },
    InitCommit: { ID: f.versions.init ?? '', Expected: f.versions.init ?? '' },
    // dockerd lists name=userns when containers run remapped; Berth says how layers are owned.
    SecurityOptions: [
      'name=seccomp,profile=builtin',
      ...(f.remapped ? [`name=userns,layers=${f.layerOwners}`] : []),
      ...(f.rootless ? ['name=rootless'] : []),
    ],
    Swarm: {
      NodeID: '',
      NodeAddr: '',
      LocalNodeState: 'inactive',
      ControlAvailable: false,
      Error: '',
      RemoteManagers: null,
    },
    Warnings: warnings(config, f.checkpointRefusals),
  };
}

/**
 * docker info's warnings: an exposed or untrusted API socket always; which runtimes cannot
 * checkpoint only where checkpoints are offered (`--experimental`: the CLI hides `docker
 * checkpoint` from other daemons), not as noise on every `docker info` of a daemon without
 * them. None is null, as dockerd sends.
 */
function warnings(config: DaemonConfig, checkpointRefusals: readonly string[]): string[] | null {
  const all = [...infoWarnings(config.hosts, config.apiTls), ...(config.experimental ? checkpointRefusals : [])];
  return all.length ? all : null;
}

/** `docker info`'s line on the warm pool: its ready sandboxes, its size, its image (`imageName` of its id, if known). */
export function warmPoolLine(
  p: ReturnType<ContainerService['poolStatus']>,
  imageName: (id: string) => string | undefined,
): string {
  if (!p) return 'off';
  const name = (p.image ? imageName(p.image) : undefined) ?? (p.image ? shortId(p.image) : 'none yet');
  return `${p.ready} of ${p.size} ready (${name})`;
}

/** Which runtimes cannot checkpoint here, and why: `docker info` warns of them. */
export async function checkpointRefusals(runtimes: Runtimes<RuntimeDriver>): Promise<string[]> {
  const answers = await Promise.all(
    runtimes.entries().map(async ([name, rt]) => [name, await rt.checkpointSupport()] as const),
  );
  return answers
    .filter(([, s]) => !s.supported)
    .map(([name, s]) => `WARNING: runtime ${name} cannot checkpoint: ${s.reason}`);
}

/** The runtime's commit and the init's version, asked of the programs (`--version`). */
export async function componentVersions(
  host: Host,
  runtime: string,
  init: string | undefined,
): Promise<ComponentVersions> {
  const ask = (cmd: string) =>
    host.run(cmd, ['--version'], { allowFailure: true }).then(
      (r) => r.stdout,
      () => '',
    );
  const build = fs.readFile(VERSION_INFO, 'utf8').then(
    (text) => {
      const v = JSON.parse(text) as { GitCommit?: unknown; BuildTime?: unknown };
      return { GitCommit: String(v.GitCommit ?? ''), BuildTime: String(v.BuildTime ?? '') };
    },
    () => undefined, // not set up (`npm run setup` writes it): the lines stay empty
  );
  const [rt, ini] = await Promise.all([ask(runtime), init ? ask(init) : Promise.resolve('')]);
  // runc and crun print "commit: <id>"; tini "tini version 0.19.0 - git.de40ad0" (Debian's lacks the hash).
  return {
    runtime: /^commit: (\S+)/m.exec(rt)?.[1],
    runtimeVersion: /^\S+ version (\S+)/m.exec(rt)?.[1],
    init: /git\.([0-9a-f]+)/.exec(ini)?.[1] ?? /version (\S+)/.exec(ini)?.[1],
    build: await build.catch(() => undefined),
  };
}

/**
 * The registry settings as dockerd shows them: `--insecure-registry` CIDRs before the loopback
 * one every daemon has, host names as indexes of their own (not secure), and Docker Hub's index
 * always, with the mirrors.
 */
function registryConfig(insecure: readonly string[], mirrors: readonly string[]): SystemInfo['RegistryConfig'] {
  const hosts = insecure.filter((s) => !s.includes('/'));
  return {
    IndexConfigs: {
      'docker.io': { Mirrors: [...mirrors], Name: 'docker.io', Official: true, Secure: true },
      ...Object.fromEntries(hosts.map((h) => [h, { Mirrors: [], Name: h, Official: false, Secure: false }])),
    },
    InsecureRegistryCIDRs: [...insecure.filter((s) => s.includes('/')), '127.0.0.0/8'],
    Mirrors: [...mirrors],
  };
}

/** A field of /etc/os-release (PRETTY_NAME for OperatingSystem, VERSION_ID for OSVersion). */
function osRelease(key: string): string | undefined {
  try {
    return readFileSync('/etc/os-release', 'utf8').match(new RegExp(`^${key}="?([^"\n]*)"?`, 'm'))?.[1];
  } catch {
    return undefined;
  }
}

/** The daemon's open file descriptors (`docker info` in debug mode shows them). */
function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/**
 * The engine's ID (`docker info`'s ID line): a UUID made at the first start and kept in
 * `<data-root>/engine-id`, as moby keeps its own, so that it names this engine across
 * restarts. Written whole by a rename: a crash leaves the old file or none, never half of one.
 */
export async function engineId(dataRoot: string): Promise<string> {
  const file = join(dataRoot, 'engine-id');
  const kept = await fs.readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(kept)) return kept;
  const id = randomUUID();
  // Owner-only, as moby writes its engine-id and as all else directly under the data root is.
  await fs.writeFile(`${file}.tmp`, `${id}\n`, { mode: 0o600 });
  await fs.rename(`${file}.tmp`, file);
  return id;
}
