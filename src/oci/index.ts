export type { Spec, SpecOpt, Mount, Process, Linux, LinuxResources, Seccomp, Namespace, Rlimit } from './types.ts';
export * from './spec.ts';
export { DEFAULT_CAPABILITIES, ALL_CAPABILITIES, tweakCapabilities, hostCapabilities } from './capabilities.ts';
export { seccompFor, DEFAULT_PROFILE_PATH } from './seccomp.ts';
export { resolveUser, type User } from './user.ts';
export { combineCommand } from './command.ts';
