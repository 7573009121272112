export { ContainerService, normaliseSignal, signalNumber, type ContainerServiceDeps } from './service.ts';
export type { ContainerRuntime, ExitInfo, LogEntry, LogReadOptions } from './runtime.ts';
export type { ContainerRecord, CreateRequest, HostConfig, ContainerConfig } from './types.ts';
export { statusText, humanDuration, type State } from './state.ts';
export { summary, inspect, networkMode } from './views.ts';
