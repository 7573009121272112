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
import type {
  CgroupStats,
  LogLine as LogEntry,
  ReadLogOptions as LogReadOptions,
  StdinSession,
} from '../../runtime/index.ts';
export type { StdinSession } from '../../runtime/index.ts';

export interface ContainerRuntime {
  /** Lets go of what the runtime holds for itself; containers and their monitors go on. */
  close?(): Promise<void>;
  create(c: {
    id: string;
    bundle: string;
    spec?: object;
    logPath: string;
    terminal: boolean;
    stdin: boolean;
    leaveStdinOpen?: boolean;
    logSizeMax?: number;
  }): Promise<{ pid: number }>;
  /** A connection to the stdin of a container created with `stdin` (see RuncRuntime.openStdin). */
  openStdin(id: string): StdinSession;
  /** Sets the size of the container's terminal. */
  resize(id: string, height: number, width: number): Promise<void>;
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
  /** Changes a running container's cgroup limits (OCI linux.resources). */
  update(id: string, resources: object): Promise<void>;
  /** Resource usage of a running container, from its cgroups. */
  stats(id: string): Promise<CgroupStats>;
}
