/**
 * The thin runtime driver, for runc and crun (and any runtime with runc's command line): it
 * implements the runtime roles of roles.ts. Each container runs under its own conmon, which runs `runc create`,
 * stays the container's parent (holding its stdio and writing its log) after berthd's child
 * exits, and writes the exit code to `<exitDir>/<id>` when the process ends. berthd watches
 * that directory with inotify, so an exit is never lost — one that happens while berthd is
 * down is still in the file when it comes back (`readExit`, `recover`).
 *
 * Lifecycle: one `RuncRuntime` per daemon. `init()` (called by the first operation if the caller
 * did not) resolves the programs, makes the directories and starts watching exits; `close()`
 * stops watching. A new instance over the same `root` (a restarted daemon) sees the same
 * containers: runc's state, conmon's pid files and the exit files are all on disk.
 *
 * Terms: a container is `created` (runc create done, its process waits to be started),
 * `running`, `paused` (frozen) or `stopped` (process gone, runc state still there until
 * `delete`). The driver keeps no lifecycle rules: the container service decides what may happen
 * when; this layer reports what runc and the kernel say.
 *
 * Speed: starting is the hot path. `create` spawns one program (conmon, which runs runc create);
 * `start` spawns nothing — it does what `runc start` does, releasing the container's process
 * through runc's exec FIFO (start.ts); `state`, `isAlive`, `list`, `exists` and most `kill`s read runc's
 * state file and /proc instead of spawning runc; crun's `delete` of a stopped container is
 * done without crun (reap.ts).
 *
 * Terminals and stdin: with `terminal`, conmon takes the console from runc and logs its output;
 * `resize` sets its size. With `stdin`, input reaches the container only through conmon's
 * attach socket (`attachSocketPath`), a SOCK_SEQPACKET socket Node cannot open: see stdio.ts
 * and berth-attach.c beside this file for the bridge meant for it.
 *
 * The monitor is conmon or Berth's own (berth-monitor.c, `conmonPath` pointing at
 * build/berth-monitor): it takes conmon's command line and speaks its protocols, so everything
 * said of conmon here holds for both.
 *
 * This class holds what the operations share (programs, directories, state files read once,
 * the containers it tracks); each operation's substance is a file beside it: create.ts and
 * exec.ts (under a monitor), stdio.ts (attach, terminal size), signal.ts and start.ts (kill and
 * start without spawning the runtime), reap.ts (crun's delete of a stopped container,
 * likewise), recovery.ts (exits recorded while nobody watched, the inventory after a restart),
 * checkpoint.ts and criu.ts. Also: conmon.ts (its command line and sync pipe), exits.ts
 * (watching exit files), state.ts (runc's and crun's state files), crun-shared.ts (what crun's
 * containers share: its sealed binary, the masks, the cgroup tree, the compiled filters).
 * runsc.ts and berthvm.ts extend the class through its protected methods.
 *
 * @example
 *   const rt = new RuncRuntime({ host, root: '/run/berth' });
 *   await rt.init();
 *   rt.exits.on('exit', (e) => console.log(e.id, e.exitCode));
 *   await rt.create({ id, bundle, logPath, terminal: false, stdin: false });
 *   await rt.start(id);
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { existsSync, promises as fs } from 'node:fs';
import { getPriority } from 'node:os';
import { basename, join } from 'node:path';
import { conflict, internal, invalidArgument, notFound } from '../errdefs/index.ts';
import { signalNumber } from '../spec/index.ts';
import type { Host, RunResult } from '../host/index.ts';
import { BUNDLE_FILES } from './conmon.ts';
import { createUnderMonitor, type MonitorSetup } from './create.ts';
import { runcFailure, saysGone } from './failures.ts';
import { readLogs, type LogLine, type ReadLogOptions } from './logs.ts';
import { reapStoppedCrun, type ReapOptions } from './reap.ts';
import { readCgroupStats, type CgroupStats, type StatsOptions } from './stats.ts';
import { isMonitor, readMonitorPid } from './monitor.ts';
import { CrunShared } from './crun-shared.ts';
import { releaseCrunFifo, releaseRuncFifo } from './start.ts';
import { attachSocketPath, checkConsoleSize, openAttach, resizeConsole } from './stdio.ts';
import { ExitMemo, ExitWatcher, type RuntimeEvents } from './exits.ts';
import { cgroupPids, initAlive, readStateFile, statusOf, type RuncStateFile } from './state.ts';
import { defaultCriu } from './criu.ts';
import { checkpointContainer, criuFlags, probeCheckpointSupport } from './checkpoint.ts';
import { execUnderMonitor } from './exec.ts';
import { signalWithoutRuntime } from './signal.ts';
import {
  oomKilledIn,
  recordedExit,
  recoverContainers,
  stateFromRuntime,
  type ContainerState,
  type RecoveredContainer,
} from './recovery.ts';
import { absolutePath } from './executables.ts';
import { pathExists, removeFile, removeTree } from '../fs/index.ts';
import type { CheckpointSupport, CreateOptions, ExecOptions, Exit, RuntimeDriver, StdinSession } from './roles.ts';

export type { ContainerState, RecoveredContainer } from './recovery.ts';

export interface RuncRuntimeOptions {
  host: Host;
  /** The daemon's exec root: runc state lives in `<root>/runc`, exit files in `<root>/exits`, attach links in `<root>/sockets`. */
  root: string;
  /** The OCI runtime (default `runc`, looked up in PATH). */
  runtimePath?: string;
  /**
   * Global flags the runtime gets before every command (dockerd's `runtimeArgs`), as runsc's
   * `--platform=systrap`.
   */
  runtimeArgs?: readonly string[];
  /** The monitor (default `conmon`, looked up in PATH; or build/berth-monitor, Berth's own). */
  conmonPath?: string;
  /** The attach bridge built from berth-attach.c (default: `build/berth-attach` in the checkout). */
  attachPath?: string;
  /**
   * The CRIU runc checkpoints and restores with (default: setup's `build/trixie/criu`, CRIU 4.1
   * from Debian trixie, when it is there; else `criu` in PATH).
   */
  criuPath?: string;
  /** Where conmon writes exit files (default `<root>/exits`). */
  exitDir?: string;
  /**
   * Start containers by reading runc's exec FIFO here instead of spawning `runc start` (what
   * `runc start` itself does, minus a process). Default: on when the runtime is runc.
   */
  fastStart?: boolean;
  /** Where crun's cgroups are, for the delete done without crun (reap.ts); tests set a scratch tree. */
  cgroups?: Pick<ReapOptions, 'cgroupRoot' | 'hierarchies'>;
}

export class RuncRuntime implements RuntimeDriver {
  /** `exit` events, one per container process that ends while this instance watches. */
  readonly exits: EventEmitter<RuntimeEvents>;
  readonly runcRoot: string;
  readonly exitDir: string;
  readonly socketDir: string;
  protected readonly host: Host;
  protected runc: string;
  private readonly runtimeArgs: readonly string[];
  private conmon: string;
  private readonly attachPath: string;
  private readonly criu: string;
  private readonly fastStart: boolean;
  /** The runtime is crun (or Berth's wrapper of it), whose start handshake differs from runc's. */
  private readonly crun: boolean;
  private readonly exitFiles: ExitWatcher;
  private initialized?: Promise<void>;
  /** crun only: what its containers share — sealed binary, masks, cgroup tree, seccomp filters (crun-shared.ts). */
  private crunShared?: CrunShared;
  /** Containers whose exit this instance reports even after runc forgot them (force delete). */
  private readonly tracked = new Set<string>();
  /** runc's state files, read once per container (what is in them does not change). */
  private readonly states = new Map<string, RuncStateFile>();
  private readonly bundles = new Map<string, string>();
  /** Exits read, so that handleExit's second read of one is a stat (exits.ts's ExitMemo). */
  private readonly exitsRead = new ExitMemo();
  private readonly root: string;
  private readonly cgroups: Pick<ReapOptions, 'cgroupRoot' | 'hierarchies'>;
  /** The environment of every runtime process: crun's names the sealed crun to the wrapper. */
  protected runtimeEnv: NodeJS.ProcessEnv = process.env;

  constructor(o: RuncRuntimeOptions) {
    this.host = o.host;
    this.runcRoot = join(o.root, 'runc');
    this.runtimeArgs = o.runtimeArgs ?? [];
    this.exitDir = o.exitDir ?? join(o.root, 'exits');
    this.socketDir = join(o.root, 'sockets');
    this.root = o.root;
    this.cgroups = o.cgroups ?? {};
    this.runc = o.runtimePath ?? 'runc';
    this.conmon = o.conmonPath ?? 'conmon';
    this.attachPath = o.attachPath ?? join(import.meta.dirname, '..', '..', 'build', 'berth-attach');
    this.criu = o.criuPath ?? defaultCriu();
    this.crun = /crun$/.test(basename(this.runc));
    this.fastStart = o.fastStart ?? /^(runc|crun|berth-crun)$/.test(basename(this.runc));
    this.exitFiles = new ExitWatcher(
      this.exitDir,
      (id) => this.readExit(id),
      async (id) => this.tracked.has(id) || this.holds(id),
    );
    this.exits = this.exitFiles.events;
  }

  /**
   * Does the runtime hold state for `id`, by its files alone (no init, no spawn)? Whose exit
   * file an exit is, after a daemon restart, is told by this.
   */
  protected holds(id: string): boolean {
    return !!id && !id.includes('/') && existsSync(join(this.runcRoot, id));
  }

  /** Resolves the programs, makes the directories and starts watching exits. Idempotent. */
  init(): Promise<void> {
    this.initialized ??= this.doInit();
    return this.initialized;
  }

  private async doInit(): Promise<void> {
    // conmon execs the runtime by path, and a missing program is better reported now: the
    // attach bridge above all, without which `run -i` would wait for ever for its input.
    [this.runc, this.conmon] = await Promise.all([
      absolutePath(this.runc),
      absolutePath(this.conmon),
      absolutePath(this.attachPath),
    ]);
    // conmon exits silently with status 1 when its --socket-dir-path is missing.
    await Promise.all(
      [this.runcRoot, this.exitDir, this.socketDir].map((d) => fs.mkdir(d, { recursive: true, mode: 0o700 })),
    );
    // crun alone gets the shared mounts: runc refuses a bind under /proc that is not from /proc.
    this.crunShared = this.crun ? new CrunShared(this.host, this.root, this.runc) : undefined;
    await this.crunShared?.open();
    this.runtimeEnv = this.crunShared?.env ?? this.runtimeEnv;
    // Exit files already there were recorded while nobody watched: they are read through
    // readExit/recover, not reported again as events.
    await this.exitFiles.start();
  }

  /** Stops watching for exits (the containers and their monitors go on), unbinds crun's shared mounts. */
  async close(): Promise<void> {
    this.exitFiles.close();
    await this.crunShared?.close();
  }

  /** crun only: the read-only empty directory masked directories are bound from (crun.ts's shareMask). */
  get sharedMask(): string | undefined {
    return this.crunShared?.mask;
  }

  /** The shared mask for a user namespace whose root is `owner` on the host (see `sharedMask`). */
  async sharedMaskFor(owner: { uid: number; gid: number }): Promise<string | undefined> {
    return this.init().then(() => this.crunShared?.maskFor(owner));
  }

  /** Calls `fn` with every exit from now on (see `exits`); the function returned stops that. */
  onExit(fn: (e: Exit) => void): () => void {
    this.exits.on('exit', fn);
    return () => void this.exits.off('exit', fn);
  }

  /** Runs the runtime (runc, or crun through its wrapper) with `args`. */
  protected runRuntime(args: string[]): Promise<RunResult> {
    return this.host.run(this.runc, args, { allowFailure: true, env: this.runtimeEnv });
  }

  protected runcArgs(...args: string[]): string[] {
    return [...this.runtimeArgs, '--root', this.runcRoot, ...args];
  }

  /** Runs the runtime with its global flags and root before `args`. */
  private readonly runtimeCommand = (...args: string[]): Promise<RunResult> => this.runRuntime(this.runcArgs(...args));

  /** The programs and directories a create or exec runs its monitor with (create.ts). */
  private monitorSetup(): MonitorSetup {
    const { host, conmon, runc: runtimePath, runcRoot: runtimeRoot, runtimeArgs, socketDir, runtimeEnv: env } = this;
    return { host, conmon, runtimePath, runtimeArgs, runtimeRoot, socketDir, env };
  }

  /** The bundle of `id`, from the runtime's state or, before it has one, from `create`. */
  private async bundleOf(id: string, s?: RuncStateFile): Promise<string | undefined> {
    s ??= await this.stateFile(id).catch(() => undefined);
    return s?.bundle || this.bundles.get(id);
  }

  // ---- lifecycle ----

  /**
   * Starts conmon, which runs `runc create`; resolves with the container's pid once runc
   * created it (the process then waits for `start`).
   */
  async create(o: CreateOptions): Promise<{ pid: number; logsRotated?: boolean }> {
    await this.init();
    if (!o.id || o.id.includes('/') || o.id.startsWith('.'))
      throw invalidArgument(`create container "${o.id}": invalid id`);
    this.exitFiles.expect(o.id);
    this.exitsRead.forget(o.id);
    this.states.delete(o.id);
    this.tracked.add(o.id);
    this.bundles.set(o.id, o.bundle);
    const via = this.conmonRuntime(!!o.restoreFrom);
    const m = { ...this.monitorSetup(), runtimePath: via.path, runtimeArgs: via.args };
    // crun's: the cleaned cgroup copy, the shared cgroup directories and tree (crun-shared.ts).
    if (this.crunShared) m.env = { ...m.env, ...this.crunShared.forCreate(o.spec, !!o.restoreFrom) };
    return createUnderMonitor(m, this.exitDir, o, this.crunShared?.seccomp);
  }

  /**
   * The program conmon runs for a container, with the flags before its own: the runtime and
   * its global flags (a driver whose runtime needs a wrapper for some commands says so here).
   */
  protected conmonRuntime(restoring: boolean): { path: string; args: readonly string[] } {
    return {
      path: this.runc,
      args: restoring ? [...this.runtimeArgs, ...criuFlags(this.runc, this.criu)] : this.runtimeArgs,
    };
  }

  private support?: Promise<CheckpointSupport>;

  /** Whether this runtime can checkpoint here (checkpoint.ts), probed once. */
  checkpointSupport(): Promise<CheckpointSupport> {
    this.support ??= probeCheckpointSupport(this.host, this.runc, this.criu, (args) => this.runRuntime(args));
    return this.support;
  }

  /** Saves the running container's processes into `dir` (`runc checkpoint`); without `leaveRunning` it then ends. */
  async checkpoint(id: string, dir: string, leaveRunning: boolean): Promise<void> {
    await this.init();
    await checkpointContainer(this.runtimeCommand, await this.checkpointSupport(), {
      id,
      dir,
      leaveRunning,
      criuFlags: criuFlags(this.runc, this.criu),
    });
  }

  /**
   * Runs a process in a running container as an exec session under its own conmon (exec.ts):
   * its output logged to `logPath`, its attach socket `attachSocketPath(sessionId)`, its control
   * FIFO in `dir` (see `resizeIn`). Resolves once the process runs, with its pid and a promise
   * of its exit code.
   */
  async exec(o: ExecOptions): Promise<{ pid: number; exit: Promise<number> }> {
    await this.init();
    const m = this.monitorSetup();
    // crun's: the shared cgroup directories the container's init joined, if it did (crun-shared.ts).
    if (this.crunShared)
      m.env = { ...m.env, ...this.crunShared.forExec((await this.stateFile(o.id))?.cgroupPaths.memory) };
    return execUnderMonitor(m, o);
  }

  /** Lets the created container's process run (exec its command). */
  async start(id: string): Promise<void> {
    await this.init();
    if (this.fastStart && (await this.releaseFifo(id))) return;
    const r = await this.runtimeCommand('start', id);
    if (r.code !== 0) throw runcFailure('start', id, r.stderr);
  }

  /** What `runc start` or `crun start` does, without spawning them (see start.ts). */
  private async releaseFifo(id: string): Promise<boolean> {
    const dir = join(this.runcRoot, id);
    if (this.crun) return releaseCrunFifo(dir, id);
    return releaseRuncFifo(dir, id, async () => {
      const st = await this.stateFile(id).catch(() => undefined);
      return !st || !(await initAlive(st));
    });
  }

  /**
   * Sends a signal to the container's process (`all`: to every process in it). `signal` is a
   * name (`SIGTERM`, `TERM`) or a number. Throws NotFound when the process is gone.
   */
  async kill(id: string, signal: string | number = 'SIGTERM', all = false): Promise<void> {
    await this.init();
    const num = signalNumber(signal);
    const s = await this.stateFile(id).catch(() => undefined);
    if (!s && !(await pathExists(join(this.runcRoot, id)))) throw notFound(`kill container "${id}": no such container`);
    // Without spawning runc where it would only call kill(2) (signal.ts).
    if (num !== undefined && s && (await signalWithoutRuntime(this.runcRoot, id, s, num, all))) return;
    const arg = num !== undefined ? String(num) : String(signal).replace(/^SIG/i, '');
    const r = await this.runtimeCommand('kill', ...(all ? ['--all'] : []), id, arg);
    if (r.code !== 0) {
      if (/not running|process already finished|no such process|does not exist/i.test(r.stderr))
        throw notFound(`kill container "${id}": container is not running`);
      throw runcFailure('kill', id, r.stderr);
    }
  }

  /**
   * A task created with `nice` (TaskLifecycle.foreground): its monitor (the pid file in its
   * bundle) and its init (the runtime's state) back at the daemon's own priority, which a
   * task created without `nice` inherits — every thread of each
   * (setpriority is per thread; conmon's may have several). Nothing else runs in the task
   * before its start.
   */
  async foreground(id: string): Promise<void> {
    await this.init();
    const s = await this.stateFile(id);
    const bundle = await this.bundleOf(id, s);
    const monitor = bundle ? await readMonitorPid(bundle) : undefined;
    if (!s?.pid || !monitor) throw internal(`foreground container "${id}": its monitor or init is not known`);
    for (const pid of [monitor, s.pid]) {
      const threads = await fs.readdir(`/proc/${pid}/task`).catch(() => [String(pid)]);
      for (const tid of threads) this.host.setPriority(Number(tid), getPriority());
    }
  }

  /**
   * Removes runc's state and the container's cgroups (`force`: kills a live container first),
   * then conmon's files: its exit file, attach link and the files it made in the bundle. A
   * container runc does not know is not an error. With `force`, waits (up to 2 s) for conmon to
   * record the exit, so that no exit file appears after the cleanup.
   */
  async delete(id: string, force = false): Promise<void> {
    await this.init();
    const bundle = await this.bundleOf(id);
    const monitor = bundle ? await readMonitorPid(bundle) : undefined;
    // crun's delete of a stopped container is two removals, done here without its start-up (reap.ts).
    const reaped = this.crun && (await reapStoppedCrun({ root: this.runcRoot, id, ...this.cgroups }));
    const r = reaped ? { code: 0, stderr: '' } : await this.runtimeCommand('delete', ...(force ? ['--force'] : []), id);
    if (r.code !== 0 && !saysGone(r.stderr)) {
      if (/not stopped|is not in `created` or `stopped` state/i.test(r.stderr)) {
        throw conflict(`delete container "${id}": container is running: stop it first or use force`);
      }
      throw runcFailure('delete', id, r.stderr);
    }
    if (monitor !== undefined && (await isMonitor(monitor, id, this.conmon)))
      await this.exitFiles.waitFor(id, async () => !(await isMonitor(monitor, id, this.conmon)), 2000);
    await Promise.all([
      removeFile(join(this.exitDir, id)),
      removeTree(join(this.socketDir, id)),
      ...(bundle ? BUNDLE_FILES.map((f) => removeFile(join(bundle, f))) : []),
    ]);
    this.tracked.delete(id);
    this.states.delete(id);
    this.bundles.delete(id);
    this.exitsRead.forget(id);
  }

  async pause(id: string): Promise<void> {
    await this.init();
    const r = await this.runtimeCommand('pause', id);
    if (r.code !== 0) throw runcFailure('pause', id, r.stderr);
  }

  async resume(id: string): Promise<void> {
    await this.init();
    const r = await this.runtimeCommand('resume', id);
    if (r.code !== 0) throw runcFailure('resume', id, r.stderr);
  }

  /**
   * Sets the size of a container's terminal (created with `terminal: true`), through conmon's
   * control FIFO `<bundle>/ctl` (message type 1: `1 <height> <width>`). Works from `create` on.
   */
  async resize(id: string, height: number, width: number): Promise<void> {
    await this.init();
    const bundle = await this.bundleOf(id);
    if (!bundle) throw notFound(`resize container "${id}": no such container`);
    // The monitor keeps the control FIFO open for a moment after it has reported the exit, so
    // the FIFO alone would take a resize of a container that has already stopped.
    checkConsoleSize(height, width, `resize container "${id}"`);
    if ((await this.state(id))?.status === 'stopped')
      throw conflict(`resize container "${id}": container is not running`);
    await this.resizeIn(bundle, height, width, `resize container "${id}"`, 'container is not running');
  }

  /**
   * Sets the terminal size of what conmon watches over in `dir` (a container's bundle or an
   * exec session's directory); `what` and `notRunning` word the errors.
   */
  resizeIn(dir: string, height: number, width: number, what?: string, notRunning?: string): Promise<void> {
    return resizeConsole(dir, height, width, what, notRunning);
  }

  /** conmon's attach socket for a container or exec session (see stdio.ts). */
  attachSocketPath(id: string): string {
    return attachSocketPath(this.socketDir, id);
  }

  /**
   * Opens a stream to the container's stdin (the container must have been created with
   * `stdin`): bytes written to `input` reach the process; ending `input` closes its stdin unless
   * it was created with `leaveStdinOpen`; `close()` disconnects without that end-of-file.
   * `done` settles when the connection is gone (the container ended, or `close`).
   */
  openStdin(id: string): StdinSession {
    return openAttach(this.host, this.attachPath, this.attachSocketPath(id), id);
  }

  /** An exec session's stdin: its attach socket is named by the session's id (see `exec`). */
  openExecStdin(sessionId: string): StdinSession {
    return this.openStdin(sessionId);
  }

  // ---- reads ----

  protected async stateFile(id: string): Promise<RuncStateFile | undefined> {
    const cached = this.states.get(id);
    if (cached) return cached;
    if (!id || id.includes('/') || id.startsWith('.')) return undefined;
    const s = await readStateFile(this.runcRoot, id);
    if (s) this.states.set(id, s);
    return s;
  }

  /** The container's status as runc would report it; undefined when runc does not know it. */
  async state(id: string): Promise<ContainerState | undefined> {
    await this.init();
    let s: RuncStateFile | undefined;
    try {
      s = await this.stateFile(id);
    } catch {
      return stateFromRuntime(this.runtimeCommand, id);
    }
    if (!s) return undefined;
    return { id, status: await statusOf(this.runcRoot, s), pid: s.pid, bundle: s.bundle, created: s.created };
  }

  /** Does runc hold state for `id` (created, running, paused, or stopped but not deleted)? */
  async exists(id: string): Promise<boolean> {
    await this.init();
    // A stat on the event loop: this is on every start, and a thread-pool round trip costs more.
    return this.holds(id);
  }

  /** Is the container's process there (created, running or paused)? */
  async isAlive(id: string): Promise<boolean> {
    await this.init();
    let s: RuncStateFile | undefined;
    try {
      s = await this.stateFile(id);
    } catch {
      const st = await stateFromRuntime(this.runtimeCommand, id);
      return !!st && st.status !== 'stopped';
    }
    // Its init process alone decides (paused and created are alive): no freezer or exec FIFO
    // read, which a live restore did for each of a thousand containers.
    return !!s && initAlive(s);
  }

  /** The ids runc holds state for. */
  async list(): Promise<string[]> {
    await this.init();
    const entries = await fs.readdir(this.runcRoot, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  }

  /** Host pids of the container's processes (`runc ps`), for `docker top`. */
  async ps(id: string): Promise<number[]> {
    await this.init();
    // From the cgroup, as containerd lists a task's: no runtime program started (state.ts's cgroupPids).
    const s = await this.stateFile(id);
    const listed = s && (await cgroupPids(s.cgroupPaths));
    if (listed) return listed;
    const r = await this.runtimeCommand('ps', '--format', 'json', id);
    if (r.code !== 0) throw runcFailure('list processes of', id, r.stderr);
    const pids = JSON.parse(r.stdout.trim() || '[]') as number[] | null;
    return pids ?? [];
  }

  /** Changes a running container's cgroup limits (`docker update`), through `runc update -r`. */
  async update(id: string, resources: object): Promise<void> {
    await this.init();
    // crun's container that shares its parent's cpuset gets its own first (crun-shared.ts).
    await this.crunShared?.beforeUpdate(resources, async () => (await this.stateFile(id))?.cgroupPaths);
    const file = join(this.runcRoot, '..', `update-${id}-${randomBytes(4).toString('hex')}.json`);
    await fs.writeFile(file, JSON.stringify(resources));
    try {
      const r = await this.runtimeCommand('update', '-r', file, id);
      if (r.code !== 0) throw runcFailure('update', id, r.stderr);
    } finally {
      await fs.rm(file, { force: true });
    }
  }

  /** Resource usage from the container's cgroups and network namespace (see stats.ts). */
  async stats(id: string, opts: StatsOptions = {}): Promise<CgroupStats> {
    await this.init();
    const s = await this.stateFile(id);
    if (!s) throw notFound(`container "${id}": no runtime state`);
    return readCgroupStats(s.cgroupPaths, s.pid, opts);
  }

  /** Is the container's conmon still running (checked against pid reuse)? */
  async monitorAlive(id: string): Promise<boolean> {
    await this.init();
    const bundle = await this.bundleOf(id);
    if (!bundle) return false;
    const pid = await readMonitorPid(bundle);
    return pid !== undefined && isMonitor(pid, id, this.conmon);
  }

  /**
   * The exit conmon recorded for `id`, if its process has ended — also one recorded while the
   * daemon was down. Read it before `delete`, which removes the record (and the cgroup the OOM
   * check reads).
   */
  async readExit(id: string): Promise<Omit<Exit, 'id'> | undefined> {
    if (!id || id.includes('/')) return undefined;
    return this.exitsRead.read(id, join(this.exitDir, id), (path) =>
      recordedExit(path, async () => {
        const s = await this.stateFile(id).catch(() => undefined);
        return oomKilledIn(await this.bundleOf(id, s), s);
      }),
    );
  }

  /**
   * After a daemon restart: every container runc holds state for, with its status, whether its
   * monitor lives, and the exit recorded while nobody watched. Exits from here on come as events.
   */
  async recover(): Promise<RecoveredContainer[]> {
    return recoverContainers(await this.list(), {
      state: (id) => this.state(id),
      monitorAlive: (id) => this.monitorAlive(id),
      readExit: (id) => this.readExit(id),
      track: (id) => void this.tracked.add(id),
    });
  }

  /** The container's log (see `readLogs`). */
  readLogs(logPath: string, opts: ReadLogOptions): AsyncIterable<LogLine> {
    return readLogs(logPath, opts);
  }
}
