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

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  time: Date;
  /** The line's bytes, with its trailing newline when the line was complete. */
  data: Buffer;
}

export interface LogReadOptions {
  follow: boolean;
  tail?: number;
  since?: Date;
  until?: Date;
  signal?: AbortSignal;
  /** When following: resolves when the container has exited; the reader drains and ends. */
  untilExit?: Promise<unknown>;
}

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
