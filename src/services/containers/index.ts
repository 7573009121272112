export {
  ContainerService,
  normaliseSignal,
  signalNumber,
  type ContainerServiceDeps,
  type CommitRequest,
  type UpdateRequest,
} from './service.ts';
export type { ContainerRuntime, ExitInfo, LogEntry, LogReadOptions, StdinSession } from './runtime.ts';
export type { ContainerRecord, ContainerDefaults } from './types.ts';
export { statusText, humanDuration } from './state.ts';
export { summary, inspect, networkMode } from './views.ts';
export { parseDetachKeys, DEFAULT_DETACH_KEYS, DetachScanner } from './attach.ts';
