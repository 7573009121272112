/**
 * What the container service needs from the runtime driver (`runtime/`). The daemon hands in
 * the real runc+conmon driver; unit tests hand in a fake.
 */
export interface ExitInfo {
  id: string;
  exitCode: number;
  exitedAt: Date;
  oomKilled?: boolean;
}

/** Log entries and read options are the runtime's own: the service passes them through. */
export type { LogLine as LogEntry, ReadLogOptions as LogReadOptions } from '../../runtime/index.ts';
import type { LogLine as LogEntry, ReadLogOptions as LogReadOptions } from '../../runtime/index.ts';

export interface ContainerRuntime {
  create(c: { id: string; bundle: string; logPath: string; terminal: boolean; stdin: boolean }): Promise<{ pid: number }>;
  start(id: string): Promise<void>;
  /** Does the runtime hold state for `id` (without spawning anything)? */
  exists(id: string): Promise<boolean>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  delete(id: string, force?: boolean): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  ps(id: string): Promise<number[]>;
  topTable(psArgs: string, pids: ReadonlySet<number>): Promise<{ Titles: string[]; Processes: string[][] }>;
  isAlive(id: string): Promise<boolean>;
  readExit(id: string): Promise<Omit<ExitInfo, 'id'> | undefined>;
  onExit(fn: (e: ExitInfo) => void): void;
  readLogs(logPath: string, opts: LogReadOptions): AsyncIterable<LogEntry>;
}
