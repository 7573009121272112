/** The container's configuration as the Engine API carries it (the subset Berth acts on). */
import type { HealthConfig } from '../../spec/index.ts';
import type { State } from './state.ts';
import type { Endpoint } from '../../network/index.ts';
import type { MountPoint } from '../volumes/index.ts';

export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | string | null;
  NetworkDisabled?: boolean;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[];
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/**
 * What berthd applies to every container that does not say otherwise (dockerd's
 * --default-ulimit and --no-new-privileges): merged in at each start and shown by inspect,
 * never written into the record, so changing berthd's flags changes old containers' next start.
 */
export interface ContainerDefaults {
  ulimits?: readonly Ulimit[];
  noNewPrivileges?: boolean;
}

/** The container's own ulimits, then the defaults for the names it does not set (dockerd's mergeUlimits). */
export function mergeUlimits(own: readonly Ulimit[] | null | undefined, defaults?: readonly Ulimit[]): Ulimit[] {
  const mine = [...(own ?? [])];
  for (const d of defaults ?? []) if (!mine.some((u) => u.Name === d.Name)) mine.push({ ...d });
  return mine;
}

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'on-failure' | 'unless-stopped';
  MaximumRetryCount?: number;
}

export interface HostConfig {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: { Type: string; Config: Record<string, string> };
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>> | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  Mounts?: unknown[];
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Links?: string[] | null;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string>;
  UTSMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Runtime?: string;
  Init?: boolean | null;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  OomKillDisable?: boolean | null;
  Devices?: unknown[] | null;
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  /** `--cgroupns`: '' (the host's default: host on cgroup v1, private on v2), host, private. */
  CgroupnsMode?: string;
  /** `--gpus`: device drivers Berth does not have. */
  DeviceRequests?: Array<{ Driver?: string; Capabilities?: string[][] }> | null;
  /** `--storage-opt`: per-container quotas overlay2 has only on xfs with pquota. */
  StorageOpt?: Record<string, string> | null;
}

/** What the store keeps per container. */
export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  /** The image ID (config digest). */
  Image: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: State;
  RestartCount: number;
  /** The chain ID of the image's top layer when the container was made. */
  TopChain: string | null;
  /** Set by a user-requested stop, so restart policies do not bring the container back. */
  ManuallyStopped?: boolean;
  /** Its volumes, binds and tmpfs mounts (absent: none). */
  MountPoints?: MountPoint[];
  /** The pid of the container's monitor, when running. */
  MonitorPid?: number;
  /** Its endpoint on the default bridge while it runs. */
  Network?: Endpoint;
  /** Endpoints on further user networks (`docker network connect`), while it runs. */
  ExtraNetworks?: Endpoint[];
  /** Per-network settings asked for at create or connect (aliases, --ip, links), by network name. */
  EndpointsConfig?: Record<string, EndpointConfig>;
  /**
   * Disconnected from the network its NetworkMode names (Docker keeps the mode and drops the
   * network from the container's list): not attached at start until connected again. Compose
   * disconnects and reconnects every container it creates to give it its aliases.
   */
  PrimaryDetached?: boolean;
}

export interface EndpointConfig {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string } | null;
  Links?: string[] | null;
  MacAddress?: string;
  NetworkID?: string;
}

export interface CreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: unknown;
}
