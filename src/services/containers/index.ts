export { ContainerService, type ContainerHooks } from './service.ts';
export { freeRandomName, validName } from './names.ts';
export type { UpdateRequest } from './update.ts';
export type { CommitRequest } from './archive.ts';
export type { ContainerServiceDeps, ContainerImages, ContainerRootfs } from './context.ts';
/** A line of a container's log, as `logs` and attach read it. */
export type { LogLine as LogEntry } from '../../runtime/index.ts';
export type { ContainerRecord, ContainerDefaults } from './types.ts';
export { statusText, humanDuration } from './state.ts';
export { summary, inspect, networkMode } from './views.ts';
export { parseDetachKeys, DEFAULT_DETACH_KEYS } from './attach.ts';
export { pumpStdin } from './stdin.ts';
export { Runtimes } from './runtimes.ts';
export { logAttributes } from './logopts.ts';
export { checkNetworkConflicts } from './create.ts';
export { networkAndPortFilter } from './listfilters.ts';
