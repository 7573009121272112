/**
 * The subset of the OCI runtime spec (`config.json`, runtime-spec 1.0.2, config.md and
 * config-linux.md) that Berth writes. Field names are the JSON names, so a `Spec` serialises
 * with `JSON.stringify` as it is. Optional fields are left out rather than set to null: runc
 * reads a missing field as "not set", and some runtimes refuse nulls.
 */

/** A mount in the container. `destination` is absolute inside the container. */
export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/**
 * A number written into JSON as its exact decimal text (`JSON.rawJSON`): what a JS number
 * cannot hold, such as 2^64-1.
 */
export interface RawJSONNumber {
  readonly rawJSON: string;
}

const rawJSON = (JSON as unknown as { rawJSON: (text: string) => RawJSONNumber }).rawJSON;

/** The kernel's RLIM_INFINITY (2^64-1), which `JSON.stringify` writes exactly. */
export const RLIM_INFINITY: RawJSONNumber = rawJSON('18446744073709551615');

/** `RLIMIT_*` by its kernel name; `soft` must not exceed `hard`. */
export interface Rlimit {
  type: string;
  hard: number | RawJSONNumber;
  soft: number | RawJSONNumber;
}

export interface ProcessUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

/** Capability names with the `CAP_` prefix, upper case. */
export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: ProcessUser;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface Root {
  path: string;
  readonly?: boolean;
}

/** A device-cgroup rule; a missing `major`/`minor` is the wildcard `*`, a missing `type` is `a`. */
export interface DeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

/** A device node the runtime creates in the container's /dev. */
export interface LinuxDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  /** Memory plus swap; -1 is unlimited. */
  swap?: number;
  kernel?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
}

export interface LinuxResources {
  devices?: DeviceRule[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  /** -1 (or absent) is unlimited. */
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    throttleReadBpsDevice?: ThrottleRule[];
    throttleWriteBpsDevice?: ThrottleRule[];
    throttleReadIOPSDevice?: ThrottleRule[];
    throttleWriteIOPSDevice?: ThrottleRule[];
  };
}

/** A block device (by its numbers) and its limit a second. */
export interface ThrottleRule {
  major: number;
  minor: number;
  rate: number;
}

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** The OCI `linux.seccomp` section: already filtered for one architecture and capability set. */
export interface Seccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompSyscall[];
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

/** A namespace to create, or to join when `path` is set (e.g. `/proc/<pid>/ns/net`). */
export interface Namespace {
  type: NamespaceType;
  path?: string;
}

export interface Linux {
  namespaces: Namespace[];
  uidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
  gidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
  devices?: LinuxDevice[];
  resources?: LinuxResources;
  cgroupsPath?: string;
  sysctl?: Record<string, string>;
  seccomp?: Seccomp;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
  mountLabel?: string;
}

export interface Spec {
  ociVersion: string;
  process: Process;
  root: Root;
  hostname?: string;
  /** The UTS namespace's NIS domain name (`--domainname`). */
  domainname?: string;
  mounts: Mount[];
  linux: Linux;
  annotations?: Record<string, string>;
}

/**
 * One change to a spec, containerd's `oci.SpecOpts` style. Options mutate the spec they are
 * given and throw a `BerthError` (InvalidArgument, FailedPrecondition) when the request cannot
 * work; `generateSpec` applies them in order on top of `defaultSpec`.
 */
export type SpecOpt = (spec: Spec) => void;
