/**
 * What the services ask of a container runtime, as small role interfaces (containerd's
 * `core/runtime`): the lifecycle of a task, its control, what can be read about it, where its
 * exits come from, and exec sessions in it. A driver implements them directly — the runc/crun
 * driver (`RuncRuntime`), the fake of `testing.ts`, and later gVisor's `runsc` and a micro-VM
 * runtime — and a service asks only for the roles it uses, so a test fakes no more than that.
 *
 * Terms, for every role:
 * - a **task** is what the runtime runs for one container: its init process with the
 *   namespaces, cgroups and root file system of the container's bundle, and whatever the
 *   runtime keeps to manage it (runc's state directory, the conmon monitor holding its stdio).
 *   It is named by the container's ID;
 * - a task is `created` (the process exists and waits), `running`, `paused` (frozen) or
 *   `stopped` (the process ended; the runtime still holds its state until `delete`);
 * - an **exit** is the end of a task's init process: its status, or 128 + the signal that
 *   killed it, and when.
 *
 * The runtime keeps no lifecycle rules of Docker's (which operation a container's state
 * allows, restart policies): the container service decides those and asks the runtime only
 * for what they allow. Which runtime a container runs on is the service's choice too, recorded
 * in the container (`HostConfig.Runtime`), never the driver's.
 */
import type { Writable } from 'node:stream';
import type { LogLine, ReadLogOptions } from './logs.ts';
import type { CgroupStats, StatsOptions } from './stats.ts';

/** What `TaskLifecycle.create` needs: the bundle, the spec, and the task's stdio. */
export interface CreateOptions {
  id: string;
  /** The OCI bundle: `config.json` (its `root.path` names the rootfs); the monitor's files go here too. */
  bundle: string;
  /** The k8s-file log the monitor writes (appends to an existing one). */
  logPath: string;
  terminal: boolean;
  stdin: boolean;
  /** With `stdin`: the container's stdin stays open when an attached client goes away. */
  leaveStdinOpen?: boolean;
  /** Largest log file the monitor keeps before starting a new one (bytes); unset or ≤ 0 for no cap. */
  logSizeMax?: number;
  /**
   * Docker's `max-file`: how many log files to keep, the current one included (`<log>.1` the
   * newest old one). A monitor that rotates them itself says so in `create`'s `logsRotated`;
   * otherwise the caller keeps them (LogRotator), or the old content goes with each new file.
   */
  logMaxFiles?: number;
  /**
   * The OCI spec, written to the bundle's config.json by the driver (which may add to it, as
   * crun's compiled seccomp filter), so it is written once. Without it, config.json must exist.
   */
  spec?: object;
  /**
   * A checkpoint's directory (see `Checkpointing`): the task is restored from it instead of
   * started afresh, and is running once `create` resolves — no `start`.
   */
  restoreFrom?: string;
  /**
   * Nobody waits for this task yet (a warm pool's sandbox): its monitor, the runtime and its
   * init run at this niceness (1-19) until `foreground` — so that making it yields the CPU to
   * the starts being served. A driver without `foreground` ignores it.
   */
  nice?: number;
}

/**
 * Creating, starting and deleting tasks.
 *
 * Lifecycle: `create` makes the task, its process waiting (`created`); `start` lets the
 * process run; the process ends on its own or by a signal (an `ExitSource` reports it); `delete`
 * removes what the runtime holds. A created task that is never started is taken down with
 * `delete(id, true)`.
 *
 * Invariants: `create` resolves only once the process exists, with its pid on the host, and
 * forgets a previous run's recorded exit; `start` spawns as little as it can (it is on the hot
 * path); `delete` of a task the runtime does not know is not an error, `delete` of a live one
 * without `force` is a Conflict, and with `force` it kills it first; after `delete`, `exists`
 * is false. The exit of a task a forced delete killed may still be reported afterwards, even
 * once a new task of the same ID exists (see ExitSource).
 *
 * @example
 *   const { pid } = await rt.create({ id, bundle, logPath, terminal: false, stdin: false });
 *   await rt.start(id);
 *   // ... the exit arrives through ExitSource.onExit
 *   await rt.delete(id);
 */
export interface TaskLifecycle {
  /**
   * The runtime takes the network interfaces it finds when it creates (or restores) a task, and
   * sees none added later (gVisor): the task's namespace must be made and wired before
   * `create`, and given in the spec by path.
   */
  readonly networkAtCreate?: boolean;
  /**
   * The task's process does not see the host's mount of its root as it is (gVisor's own file
   * system layer, a micro-VM's share): a FIFO it makes there is not one the host can open. The
   * warm pool then leaves its sandboxes' zygotes unstarted until the start (services/containers/zygote.ts).
   */
  readonly privateRoot?: boolean;
  /**
   * An empty read-only directory the spec may bind over masked directories instead of asking
   * the runtime for a tmpfs each (crun's; runc refuses binds under /proc): see crun.ts.
   */
  readonly sharedMask?: string;
  /** The same for a task in a user namespace whose root is `owner` on the host (root's shows as nobody's there). */
  sharedMaskFor?(owner: { uid: number; gid: number }): Promise<string | undefined>;
  /** `logsRotated`: the task's monitor keeps `logMaxFiles` files itself (berth-monitor; conmon cannot). */
  create(o: CreateOptions): Promise<{ pid: number; logsRotated?: boolean }>;
  /**
   * Lets the created task's process run: it execs its command a moment after this resolves, so
   * a signal sent at once may still reach the runtime's own init instead of the command.
   */
  start(id: string): Promise<void>;
  /** Removes the task's state and cgroups; `force` kills a live one first. */
  delete(id: string, force?: boolean): Promise<void>;
  /** Does the runtime hold state for `id` (created, running, paused or stopped but not deleted)? Spawns nothing. */
  exists(id: string): Promise<boolean>;
  /**
   * A task created with `nice`, before its start: its monitor and its init back at the
   * daemon's own priority, as a task created without has. Rejects when that cannot be done
   * (the caller must not start the task as it is then).
   */
  foreground?(id: string): Promise<void>;
}

/** A connection to a task's (or an exec session's) stdin. */
export interface StdinSession {
  /** Bytes written here reach the process; ending it closes the process's stdin (unless left open). */
  input: Writable;
  /** Settles when the connection is gone (the process ended, or `close`). */
  done: Promise<void>;
  /** Disconnects without an end of file. */
  close(): void;
}

/**
 * Acting on a live task: signals, freezing, resource limits, its terminal and its stdin.
 *
 * Lifecycle: from `create` (a created task can be signalled and resized) until its exit;
 * afterwards each method fails with NotFound ("not running") or Conflict.
 *
 * Invariants: `kill` takes a signal by name or number and throws NotFound when the process is
 * already gone, so a caller can tell an exit it raced with from a failure; `pause`/`resume`
 * freeze and thaw every process of the task, and a signal sent to a paused task is handled when
 * it resumes (runc thaws a task for SIGKILL itself, crun does not: resume after a kill); `update` changes the cgroup limits of the
 * running task only (the spec of its next run is the caller's); `openStdin` needs a task
 * created with `stdin`.
 *
 * @example
 *   await rt.kill(id, 'SIGTERM');
 *   await rt.pause(id);
 *   await rt.resume(id);
 */
export interface TaskControl {
  /** Sends `signal` to the task's init (`all`: to every process in it). */
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Changes a running task's cgroup limits (OCI `linux.resources`). */
  update(id: string, resources: object): Promise<void>;
  /** Sets the size of the task's terminal (one created with `terminal`). */
  resize(id: string, height: number, width: number): Promise<void>;
  /** A connection to the stdin of a task created with `stdin`. */
  openStdin(id: string): StdinSession;
}

/**
 * Reading what a task is doing, without changing it.
 *
 * Invariants: nothing here changes a task's state; `isAlive` is true from `create` until the
 * process has ended (a paused task is alive); `ps` and `stats` fail once the task has stopped;
 * `readLogs` reads the log a task's monitor writes, also after the task is gone.
 *
 * @example
 *   if (await rt.isAlive(id)) console.log(await rt.ps(id), (await rt.stats(id)).pids_stats);
 *   for await (const l of rt.readLogs(logPath, { follow: false })) process.stdout.write(l.line);
 */
export interface TaskInfo {
  isAlive(id: string): Promise<boolean>;
  /** Host pids of the task's processes, for `docker top`. */
  ps(id: string): Promise<number[]>;
  /**
   * The task's processes as the runtime itself sees them, where they are not the host's
   * (gVisor's kernel, a VM's guest): `docker top` shows this table instead of the host's `ps`
   * over `ps()`'s pids, which would show only the sandbox. Unset for runtimes whose processes
   * are the host's.
   */
  processes?(id: string): Promise<ProcessList>;
  /**
   * Resource usage of a running task, from its cgroups. `cpuOnly`: only `cpu_stats` is needed
   * (the sample a single `docker stats` reply measures CPU against); an implementation may
   * still return everything. `systemCpuUsage`: the host's CPU time, read by a caller that
   * samples many containers at once (else the implementation reads it).
   */
  stats(id: string, opts?: StatsOptions): Promise<CgroupStats>;
  /** A task's (or an exec session's) log, as the monitor wrote it. */
  readLogs(logPath: string, opts: ReadLogOptions): AsyncIterable<LogLine>;
}

/** A process table as `docker top` answers it: `ps`'s column titles and a row of cells per process. */
export interface ProcessList {
  Titles: string[];
  Processes: string[][];
}

/** The end of a task's init process. */
export interface Exit {
  id: string;
  /** The process's exit status, or 128 + the signal that killed it. */
  exitCode: number;
  exitedAt: Date;
  /** The kernel's OOM killer acted in the task's memory cgroup during its life. */
  oomKilled?: boolean;
}

/**
 * Where exits come from. The task's monitor records every exit, so none is lost: one that
 * happens while somebody listens is reported through `onExit`; one that happened while nobody
 * did (the daemon was down) is read back with `readExit`.
 *
 * Lifecycle: listeners are called from the moment they are added until the function `onExit`
 * returned is called; `readExit` answers from the exit until the task's `delete`.
 *
 * Invariants: each exit of a run is reported at most once per listener, after the process has
 * ended and its output is in its log; an exit recorded before this runtime instance started
 * watching is not reported again as an event (read it with `readExit`). An exit is reported by
 * ID and may arrive late — after a forced delete, and after a new task of that ID was created:
 * a listener believes it only while the task is not alive (`TaskInfo.isAlive`).
 *
 * @example
 *   const off = rt.onExit((e) => console.log(e.id, e.exitCode));
 *   const missed = await rt.readExit(id); // after a daemon restart
 *   off();
 */
export interface ExitSource {
  onExit(fn: (e: Exit) => void): () => void;
  readExit(id: string): Promise<Omit<Exit, 'id'> | undefined>;
}

/** What `ExecRuntime.exec` needs: the running task, the process, and the session's own place. */
export interface ExecOptions {
  /** The running task. */
  id: string;
  /** The exec session's id (hex): names its attach socket. */
  sessionId: string;
  /** A directory of the session's own: process spec, the monitor's files, the exit file. */
  dir: string;
  /** The OCI process to run (runtime-spec `process`). */
  process: unknown;
  logPath: string;
  terminal: boolean;
  stdin: boolean;
}

/**
 * More processes in a running task (`docker exec`): each one a session with its own log,
 * terminal and stdin, in the task's namespaces and cgroups, under the same security settings.
 *
 * Lifecycle: `exec` resolves once the process runs, with its pid and a promise of its exit
 * code; the session's terminal and stdin work until then. Nothing needs deleting: the
 * session's files live in its `dir`, which the caller owns.
 *
 * Invariants: a process that cannot start (no such command, not executable) rejects `exec`
 * with the runtime's reason; the exit promise always settles (-1 when the monitor died without
 * recording a status).
 *
 * @example
 *   const { exit } = await rt.exec({ id, sessionId, dir, process, logPath, terminal: false, stdin: false });
 *   console.log(await exit);
 */
export interface ExecRuntime {
  exec(o: ExecOptions): Promise<{ pid: number; exit: Promise<number> }>;
  /** A connection to the stdin of a session started with `stdin`. */
  openExecStdin(sessionId: string): StdinSession;
  /**
   * Sets the terminal size of what the monitor watches over in `dir` (an exec session's
   * directory, or a task's bundle); `what` and `notRunning` word the errors.
   */
  resizeIn(dir: string, height: number, width: number, what?: string, notRunning?: string): Promise<void>;
}

/** Whether a runtime can checkpoint here, and why not. */
export interface CheckpointSupport {
  supported: boolean;
  /** Why not (unset when supported). */
  reason?: string;
}

/**
 * Saving a running task's processes to a directory, to restore them later as a new task of the
 * same container (`CreateOptions.restoreFrom`), here or on another host.
 *
 * Invariants: `checkpointSupport` answers from what was found at the first call (it may spawn
 * then, never again); `checkpoint` fails with Conflict when the task is not running and with
 * NotImplemented where the runtime cannot; without `leaveRunning` the task ends once saved
 * (its exit reported as any other), with it the task goes on.
 *
 * @example
 *   if ((await rt.checkpointSupport()).supported) await rt.checkpoint(id, dir, false);
 *   await rt.create({ id, bundle, logPath, terminal: false, stdin: false, restoreFrom: dir });
 */
export interface Checkpointing {
  checkpointSupport(): Promise<CheckpointSupport>;
  checkpoint(id: string, dir: string, leaveRunning: boolean): Promise<void>;
}

/** Everything the container service asks of a runtime. */
export interface ContainerRuntime extends TaskLifecycle, TaskControl, TaskInfo, ExitSource, Checkpointing {}

/** A runtime driver as the daemon holds it: every role, and a way to let go of it at shutdown. */
export interface RuntimeDriver extends ContainerRuntime, ExecRuntime {
  /** Lets go of what the driver holds for itself (watchers, mounts); tasks and their monitors go on. */
  close(): Promise<void>;
}
