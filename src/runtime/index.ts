/**
 * The runtime driver: runs containers from OCI bundles under a per-container monitor (conmon)
 * and runc, records their exits, reads their logs. Its public surface is this file.
 */
export { RuncRuntime, type ContainerState, type RecoveredContainer, type RuncRuntimeOptions } from './runc.ts';
export { RunscRuntime } from './runsc.ts';
export { crunBinary } from './executables.ts';
export { BerthVmRuntime } from './berthvm.ts';
export type { RuntimeEvents } from './exits.ts';
export type {
  CheckpointSupport,
  ProcessList,
  Checkpointing,
  ContainerRuntime,
  CreateOptions,
  ExecOptions,
  ExecRuntime,
  Exit,
  ExitSource,
  RuntimeDriver,
  StdinSession,
  TaskControl,
  TaskInfo,
  TaskLifecycle,
} from './roles.ts';
export type { ContainerStatus } from './state.ts';
export { runcWording, execFailureCode } from './exec-errors.ts';
export { readCgroupStats, systemCpuUsage, type CgroupStats } from './stats.ts';
export { LogRotator } from './logrotate.ts';
export { monitorKeepsLogs, wasOomKilled } from './monitor.ts';
export { readLogs, parseLine, formatLogTime, type LogLine, type LogStream, type ReadLogOptions } from './logs.ts';
