/**
 * The daemon as a whole on the wire: version, info, disk usage, events, registry logins, the
 * build cache's prune, `filters` values (moby's `api/types/{system,events,registry,filters}`).
 */
import type { ContainerSummary } from './container.ts';
import type { ImageSummary } from './image.ts';
import type { Volume } from './volume.ts';

/** `GET /version`. */
export interface SystemVersion {
  Platform: { Name: string };
  Components: Array<{ Name: string; Version: string; Details: Record<string, string> }>;
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  /** dockerd sends it when its experimental features are on; berthd has none and never does. */
  Experimental?: boolean;
  BuildTime: string;
}

/** `GET /info`. The proxies are dockerd's (from its environment); berthd sends none. */
export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DriverStatus: Array<[string, string]> | null;
  Plugins: { Volume: string[]; Network: string[]; Authorization: string[] | null; Log: string[] };
  MemoryLimit: boolean;
  SwapLimit: boolean;
  CpuCfsPeriod: boolean;
  CpuCfsQuota: boolean;
  CPUShares: boolean;
  CPUSet: boolean;
  PidsLimit: boolean;
  IPv4Forwarding: boolean;
  Debug: boolean;
  NFd: number;
  OomKillDisable: boolean;
  NGoroutines: number;
  SystemTime: string;
  LoggingDriver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  NEventsListener: number;
  KernelVersion: string;
  OperatingSystem: string;
  OSVersion: string;
  OSType: string;
  Architecture: string;
  IndexServerAddress: string;
  RegistryConfig: {
    IndexConfigs: Record<string, { Mirrors?: string[]; Name?: string; Official?: boolean; Secure?: boolean }>;
    InsecureRegistryCIDRs: string[];
    Mirrors: string[];
  };
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
  HttpProxy?: string;
  HttpsProxy?: string;
  NoProxy?: string;
  Name: string;
  Labels: string[];
  ExperimentalBuild: boolean;
  ServerVersion: string;
  Runtimes: Record<string, { path: string }>;
  DefaultRuntime: string;
  LiveRestoreEnabled: boolean;
  Isolation: string;
  InitBinary: string;
  ContainerdCommit: { ID: string; Expected: string };
  RuncCommit: { ID: string; Expected: string };
  InitCommit: { ID: string; Expected: string };
  SecurityOptions: string[];
  Swarm: {
    NodeID: string;
    NodeAddr: string;
    LocalNodeState: string;
    ControlAvailable: boolean;
    Error: string;
    RemoteManagers: null | Array<{ NodeID: string; Addr: string }>;
  };
  Warnings: string[] | null;
}

/** A build cache record of `GET /system/df` (BuildKit's; the legacy builder has none to list). */
export interface BuildCache {
  ID: string;
  Type?: string;
  Size: number;
  CreatedAt?: string;
  LastUsedAt?: string | null;
  UsageCount?: number;
  InUse?: boolean;
  Shared?: boolean;
}

/** `GET /system/df`. */
export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[];
  Containers: ContainerSummary[];
  Volumes: Volume[];
  BuildCache: BuildCache[];
}

/** One event of `GET /events`. */
export interface EventMessage {
  Type: 'container' | 'image' | 'network' | 'volume' | 'daemon' | 'builder' | 'pod';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  /** Nanoseconds since the epoch: 19 digits, more than a JS number holds exactly. */
  timeNano: number;
  // Deprecated fields Docker still sends for containers and images.
  status?: string;
  id?: string;
  from?: string;
}

/** `POST /auth`'s body, and the decoded `X-Registry-Auth` header. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** `POST /auth`'s answer. */
export interface AuthResponse {
  Status: string;
  IdentityToken: string;
}

/** `POST /build/prune`'s answer. */
export interface BuildCachePruneReport {
  CachesDeleted: string[];
  SpaceReclaimed: number;
}

/** `filters` query values: `{"dangling": ["true"]}`. */
export type Filters = Record<string, string[]>;

/** The answer of a create that makes one object: `{"Id": "..."}` (commit, exec create). */
export interface IdResponse {
  Id: string;
}
