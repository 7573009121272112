/**
 * OCI runtime-spec generation: Docker's default `config.json` for a container and the
 * composable `with*()` options that change it (containerd's SpecOpts style), the ENTRYPOINT/CMD
 * rules, `--user` resolution inside an untrusted image, and Docker-format seccomp profiles
 * converted for this host.
 *
 * Plain data in, plain data out: nothing here spawns a process. The I/O is reading small host
 * facts (the default seccomp profile, /proc/self/status, the cgroup mount; cached) and, on
 * request, the image's passwd/group files, the host's /dev (`--privileged`) and rlimits
 * (`--ulimit`).
 */
export type {
  Spec,
  SpecOpt,
  Mount,
  Process,
  ProcessUser,
  Root,
  Linux,
  LinuxResources,
  LinuxMemory,
  LinuxCPU,
  LinuxCapabilities,
  LinuxDevice,
  DeviceRule,
  Seccomp,
  SeccompSyscall,
  SeccompArg,
  Namespace,
  NamespaceType,
  Rlimit,
  RawJSONNumber,
} from './types.ts';
export { RLIM_INFINITY } from './types.ts';
export {
  defaultSpec,
  generateSpec,
  late,
  DEFAULT_PATH_ENV,
  DEFAULT_CGROUP_PARENT,
  MASKED_PATHS,
  READONLY_PATHS,
  DEFAULT_DEVICE_RULES,
} from './spec.ts';
export {
  withRootfs,
  withProcessArgs,
  withEnv,
  withCwd,
  withUser,
  processUser,
  withAdditionalGids,
  withHostname,
  withTerminal,
  withCgroupsPath,
  withoutCgroup,
  withSysctl,
  withNamespace,
  withoutNamespace,
  withNamespacePath,
  withUserNamespace,
} from './options.ts';
export {
  withCapabilities,
  withPrivileged,
  withNoNewPrivileges,
  withMaskedPaths,
  withSharedMask,
  withReadonlyRootfs,
  withSeccomp,
  isPrivileged,
} from './security.ts';
export {
  withMemory,
  withMemoryReservation,
  withMemoryBehaviour,
  withBlockIOThrottles,
  withCpus,
  cpusOutOfRange,
  withCpuShares,
  withCpuQuota,
  withCpuRealtime,
  withCpuset,
  withPidsLimit,
  withUlimits,
  withOomScoreAdj,
  ULIMIT_TYPES,
} from './resources.ts';
export { withMounts, withShmSize, withDevice, withInit, INIT_PATH } from './mounts.ts';
export { DEFAULT_CAPABILITIES, tweakCapabilities, normalizeCapability } from './capabilities.ts';
export {
  ALL_CAPABILITIES,
  hostCapabilities,
  hostHardLimits,
  cgroupVersion,
  cpuRealtimeSupported,
  cpusetAvailable,
  parseCpuList,
  hostDevices,
  capMask,
  inUserNamespace,
  capsFromMask,
  swapLimitSupported,
  deviceNumbers,
  oomKillDisableSupported,
  blkioWeightSupported,
  blkioWeightDeviceSupported,
} from './sysinfo.ts';
export {
  seccompFor,
  parseSeccompProfile,
  defaultSeccompProfile,
  type SeccompProfile,
  type ProfileSyscall,
  type SeccompTarget,
} from './seccomp.ts';
export { dockerDefaultProfile, CLONE_NAMESPACE_FLAGS } from './seccomp-docker.ts';
export { resolveUser, readFileInRoot, homeEnv, type User, type ResolvedUser } from './user.ts';
export { combineCommand, type CommandParts } from './command.ts';
