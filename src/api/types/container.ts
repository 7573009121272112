/**
 * Containers on the wire: create requests, `GET /containers/json` rows, inspect, wait, top,
 * changes, archive stats and stats samples (moby's `api/types/container`).
 *
 * `ContainerConfig` and `HostConfig` go both ways, as in Docker: a create request carries them
 * (every field optional) and inspect answers with them filled in. Where berthd keeps a request's
 * value as it came, the type says so: `Cmd` and `Entrypoint` may be a string (one word, as the
 * request gave it) and are then shown as that string.
 */
import type { HealthConfig } from '../../spec/index.ts';
import type { EndpointSettings } from './network.ts';

export type { HealthConfig };

export type Labels = Record<string, string>;

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
  /** Deprecated in the API (1.44) for the endpoint's own; sent by older clients. */
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Labels | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[];
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'on-failure' | 'unless-stopped';
  MaximumRetryCount?: number;
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

export interface LogConfig {
  Type: string;
  Config?: Record<string, string>;
}

/** A `HostConfig.Mounts` entry (`--mount`), moby's `mount.Mount`. */
export interface Mount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: {
    Propagation?: string;
    NonRecursive?: boolean;
    CreateMountpoint?: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
  } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Subpath?: string;
    Labels?: Labels | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

export interface HostConfig {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: LogConfig;
  NetworkMode?: string;
  PortBindings?: Record<string, PortBinding[]> | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  ConsoleSize?: [number, number] | null;
  Mounts?: Mount[];
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  /** `--cgroupns`: '' (the host's default: host on cgroup v1, private on v2), host, private. */
  CgroupnsMode?: string;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Cgroup?: string;
  Links?: string[] | null;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  /** `--storage-opt`: per-container quotas overlay2 has only on xfs with pquota. */
  StorageOpt?: Record<string, string> | null;
  Tmpfs?: Record<string, string>;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Runtime?: string;
  Isolation?: string;
  CpuShares?: number;
  Memory?: number;
  NanoCpus?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  /** `--device-read-bps` and its kin: a host block device's path and its limit (bytes or operations a second). */
  BlkioWeightDevice?: Array<{ Path: string; Weight: number }> | null;
  BlkioDeviceReadBps?: ThrottleDevice[] | null;
  BlkioDeviceWriteBps?: ThrottleDevice[] | null;
  BlkioDeviceReadIOps?: ThrottleDevice[] | null;
  BlkioDeviceWriteIOps?: ThrottleDevice[] | null;
  CpuPeriod?: number;
  /** cgroup v1's real-time budget, in microseconds (`--cpu-rt-period`, `--cpu-rt-runtime`). */
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[] | null;
  /** `--gpus`: device drivers Berth does not have. */
  DeviceRequests?: Array<{ Driver?: string; Capabilities?: string[][] }> | null;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  Init?: boolean | null;
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
}

export interface NetworkingConfig {
  EndpointsConfig?: Record<string, EndpointSettings> | null;
}

/** `POST /containers/create`'s body. */
export interface ContainerCreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: NetworkingConfig | null;
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

/**
 * `POST /containers/{id}/update`'s body: Docker's resources of a host config and its restart
 * policy. berthd changes the memory, CPU and pids limits and the policy; of the others it
 * checks only the types.
 */
export type ContainerUpdateRequest = Pick<
  HostConfig,
  | 'BlkioWeight'
  | 'CpuShares'
  | 'CpuPeriod'
  | 'CpuQuota'
  | 'CpusetCpus'
  | 'CpusetMems'
  | 'Devices'
  | 'Memory'
  | 'MemoryReservation'
  | 'MemorySwap'
  | 'MemorySwappiness'
  | 'NanoCpus'
  | 'OomKillDisable'
  | 'PidsLimit'
  | 'Ulimits'
  | 'RestartPolicy'
>;

export interface ContainerUpdateResponse {
  Warnings: string[];
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** `State.Health`, kept by the health monitor. */
export interface Health {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: HealthcheckResult[];
}

export interface HealthcheckResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface ContainerState {
  Health?: Health;
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** A mount as inspect and `GET /containers/json` show it. */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** The volume's name (volumes only). */
  Name?: string;
  /** Host path: the volume's `_data` or the bind source; '' for tmpfs. */
  Source: string;
  Destination: string;
  /** Volumes only. */
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** A row of `GET /containers/json` (`SizeRw` and `SizeRootFs` with `size=true`). */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Port[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Labels;
  State: ContainerStatus;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, EndpointSettings> };
  Mounts: MountPoint[];
}

export interface NetworkSettings {
  Bridge: string;
  SandboxID: string;
  SandboxKey: string;
  Ports: Record<string, PortBinding[] | null>;
  HairpinMode: boolean;
  LinkLocalIPv6Address: string;
  LinkLocalIPv6PrefixLen: number;
  SecondaryIPAddresses: Array<{ Addr: string; PrefixLen: number }> | null;
  SecondaryIPv6Addresses: Array<{ Addr: string; PrefixLen: number }> | null;
  EndpointID: string;
  Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  MacAddress: string;
  Networks: Record<string, EndpointSettings>;
}

/** `GET /containers/{id}/json` (`SizeRw` and `SizeRootFs` with `size=true`). */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: NetworkSettings;
}

export interface WaitResponse {
  StatusCode: number;
  Error: { Message: string } | null;
}

/** `POST /containers/{id}/checkpoints` (moby's checkpoint.CreateOptions). */
export interface CheckpointCreateRequest {
  CheckpointID?: string;
  CheckpointDir?: string;
  /** Stop the container once saved (the CLI sends false for `--leave-running`). */
  Exit?: boolean;
}

/** An entry of `GET /containers/{id}/checkpoints`. */
export interface CheckpointSummary {
  Name: string;
}

export interface ContainerTop {
  Titles: string[];
  Processes: string[][];
}

export interface FilesystemChange {
  Path: string;
  /** 0 modified, 1 added, 2 deleted */
  Kind: 0 | 1 | 2;
}

/** `X-Docker-Container-Path-Stat` of `HEAD`/`GET /containers/{id}/archive`, base64 JSON. */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits, which the docker CLI decodes. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  /** Absent while the container does not run. */
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface MemoryStats {
  usage?: number;
  max_usage?: number;
  limit?: number;
  failcnt?: number;
  stats?: Record<string, number>;
}

export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/**
 * A sample of `GET /containers/{id}/stats`. A container that does not run gets the zero
 * sample: empty pids, blkio and memory stats, zero CPU, no networks.
 */
export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export type BlkioKey =
  | 'io_service_bytes_recursive'
  | 'io_serviced_recursive'
  | 'io_queue_recursive'
  | 'io_service_time_recursive'
  | 'io_wait_time_recursive'
  | 'io_merged_recursive'
  | 'io_time_recursive'
  | 'sectors_recursive';

export interface StatsResponse {
  id: string;
  name: string;
  /** When it was read, RFC 3339; `preread`: the previous sample's (the zero time for the first). */
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  /** On cgroup v1 all eight lists, as dockerd fills them ([] when empty); on v2 the bytes alone. */
  blkio_stats: Partial<Record<BlkioKey, BlkioEntry[] | null>>;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: MemoryStats;
  networks?: Record<string, NetworkStats>;
}

/** A block device's throttle, as the Engine API has it. */
export interface ThrottleDevice {
  Path: string;
  Rate: number;
}
