/**
 * An in-memory runtime for the services' unit tests: it implements every role of roles.ts the
 * way the runc/crun driver behaves (the shared suite in suite.ts checks both), without
 * processes, root or files other than the logs it is asked to write.
 *
 * A task's process is a script the test chooses by the process's arguments (`program`): it
 * may exit on its own after a while, ignore signals, fail to create or to start, and print
 * lines into its log. Exits arrive the way conmon's do: a moment after the process ends
 * (`exitLatencyMs`), once per run, through `onExit`, and readable with `readExit` until the
 * task is deleted. `calls` records every operation, for tests that check what a service asked.
 *
 * @example
 *   const rt = new FakeRuntime();
 *   rt.program = (args) => (args[0] === 'stubborn' ? { ignore: ['SIGTERM'] } : {});
 *   rt.onExit((e) => console.log(e.exitCode)); // 137 once the test's SIGKILL lands
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { conflict, internal, invalidArgument, notFound, notImplemented } from '../errdefs/index.ts';
import { normaliseSignal, signalNumber } from '../spec/index.ts';
import { formatLogTime, readLogs, type LogLine, type ReadLogOptions } from './logs.ts';
import type { CheckpointSupport, CreateOptions, ExecOptions, Exit, RuntimeDriver, StdinSession } from './roles.ts';
import type { CgroupStats } from './stats.ts';

/** How a fake process behaves. */
export interface FakeProgram {
  /** Exits on its own this long after its start, with `exitCode` (default 0). */
  exitAfterMs?: number;
  exitCode?: number;
  /** Signals it ignores (SIGKILL cannot be ignored). */
  ignore?: string[];
  /** `create` fails with this reason (as the runtime words it). */
  createError?: string;
  /** `start` fails with this reason. */
  startError?: string;
  /** Lines it prints on stdout when it starts. */
  output?: string[];
  /** Its OOM kill, reported with its exit. */
  oomKilled?: boolean;
}

/** A fake task as the test can see it. */
export interface FakeTask {
  id: string;
  pid: number;
  status: 'created' | 'running' | 'paused' | 'stopped';
  args: string[];
  logPath: string;
  program: FakeProgram;
  /** What reached its stdin. */
  stdin: string;
  /** Signals sent while it was paused, handled when it resumes. */
  pending: string[];
  resources?: object;
  size?: { height: number; width: number };
  exit?: Omit<Exit, 'id'>;
  timer?: NodeJS.Timeout;
}

/** Signals whose default action is not to end the process. */
const HARMLESS = new Set(['SIGCHLD', 'SIGCONT', 'SIGURG', 'SIGWINCH']);

export class FakeRuntime implements RuntimeDriver {
  /** Chooses the behaviour of a task's (or exec's) process from its arguments. */
  program: (args: string[]) => FakeProgram = () => ({});
  /** How long after a process ends its exit is reported (conmon drains output first). */
  exitLatencyMs = 1;
  readonly calls: Array<{ op: string; id: string; args?: unknown }> = [];
  readonly tasks = new Map<string, FakeTask>();
  private readonly listeners = new Set<(e: Exit) => void>();
  private nextPid = 1000;

  task(id: string): FakeTask {
    const t = this.tasks.get(id);
    if (!t) throw new Error(`fake runtime: no task ${id}`);
    return t;
  }

  async create(o: CreateOptions): Promise<{ pid: number }> {
    this.calls.push({ op: 'create', id: o.id });
    if (this.tasks.has(o.id)) throw conflict(`create container "${o.id}": container with given ID already exists`);
    const args = ((o.spec as { process?: { args?: string[] } } | undefined)?.process?.args ?? []).map(String);
    const program = this.program(args);
    if (program.createError) throw internal(`create container "${o.id}": ${program.createError}`);
    // As the real driver: the spec is the bundle's config.json from here on (exec reads it).
    if (o.spec) await fs.writeFile(join(o.bundle, 'config.json'), JSON.stringify(o.spec));
    const t: FakeTask = {
      id: o.id,
      pid: this.nextPid++,
      status: 'created',
      args,
      logPath: o.logPath,
      program,
      stdin: '',
      pending: [],
    };
    this.tasks.set(o.id, t);
    // A restored task runs at once, as runc's restore --detach leaves it.
    if (o.restoreFrom) {
      this.calls.push({ op: 'restore', id: o.id, args: o.restoreFrom });
      t.status = 'running';
    }
    return { pid: t.pid };
  }

  /** Whether `checkpoint` works (tests set it to the reason it does not). */
  checkpointRefusal?: string;

  async checkpointSupport(): Promise<CheckpointSupport> {
    return this.checkpointRefusal ? { supported: false, reason: this.checkpointRefusal } : { supported: true };
  }

  /** Writes the task's arguments to `dir/fake-checkpoint.json`; without `leaveRunning` the task ends with 0. */
  async checkpoint(id: string, dir: string, leaveRunning: boolean): Promise<void> {
    this.calls.push({ op: 'checkpoint', id, args: { dir, leaveRunning } });
    if (this.checkpointRefusal) throw notImplemented(`checkpoint container "${id}": ${this.checkpointRefusal}`);
    const t = this.tasks.get(id);
    if (!t || t.status !== 'running') throw conflict(`checkpoint container "${id}": container is not running`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(join(dir, 'fake-checkpoint.json'), JSON.stringify({ args: t.args }));
    if (!leaveRunning) this.end(t, 0);
  }

  async start(id: string): Promise<void> {
    this.calls.push({ op: 'start', id });
    const t = this.tasks.get(id);
    if (!t) throw notFound(`start container "${id}": no such container`);
    if (t.status !== 'created') throw conflict(`start container "${id}": cannot start a container that has stopped`);
    if (t.program.startError) {
      this.end(t, 127);
      throw internal(`start container "${id}": ${t.program.startError}`);
    }
    t.status = 'running';
    if (t.program.output?.length) await appendLog(t.logPath, t.program.output);
    if (t.program.exitAfterMs !== undefined) {
      t.timer = setTimeout(() => this.end(t, t.program.exitCode ?? 0), t.program.exitAfterMs);
    }
  }

  async delete(id: string, force = false): Promise<void> {
    this.calls.push({ op: 'delete', id, args: { force } });
    const t = this.tasks.get(id);
    if (!t) return;
    if (alive(t)) {
      if (!force) throw conflict(`delete container "${id}": container is running: stop it first or use force`);
      this.end(t, 137);
    }
    clearTimeout(t.timer);
    this.tasks.delete(id);
  }

  async exists(id: string): Promise<boolean> {
    return this.tasks.has(id);
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    this.calls.push({ op: 'kill', id, args: { signal, all } });
    const t = this.tasks.get(id);
    if (!t) throw notFound(`kill container "${id}": no such container`);
    if (!alive(t)) throw notFound(`kill container "${id}": container is not running`);
    const name = normaliseSignal(signal);
    // Frozen, it handles signals when it thaws (as with crun, which does not thaw it for SIGKILL).
    if (t.status === 'paused') t.pending.push(name);
    else this.signal(t, name);
  }

  private signal(t: FakeTask, name: string): void {
    if (name !== 'SIGKILL' && (HARMLESS.has(name) || t.program.ignore?.includes(name))) return;
    this.end(t, 128 + (signalNumber(name) ?? 0));
  }

  async pause(id: string): Promise<void> {
    this.calls.push({ op: 'pause', id });
    const t = this.live(id, 'pause');
    if (t.status === 'paused') throw conflict(`pause container "${id}": container is paused`);
    t.status = 'paused';
  }

  async resume(id: string): Promise<void> {
    this.calls.push({ op: 'resume', id });
    const t = this.live(id, 'resume');
    if (t.status !== 'paused') throw conflict(`resume container "${id}": container not paused`);
    t.status = 'running';
    for (const name of t.pending.splice(0)) this.signal(t, name);
  }

  async update(id: string, resources: object): Promise<void> {
    this.calls.push({ op: 'update', id, args: resources });
    this.live(id, 'update').resources = resources;
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    this.calls.push({ op: 'resize', id, args: { height, width } });
    this.live(id, 'resize').size = { height, width };
  }

  openStdin(id: string): StdinSession {
    this.calls.push({ op: 'openStdin', id });
    const t = this.tasks.get(id);
    const input = new PassThrough();
    input.on('data', (c: Buffer) => {
      if (t) t.stdin += c.toString();
    });
    const done = new Promise<void>((resolve) => input.once('close', resolve));
    return { input, done, close: () => void input.destroy() };
  }

  async isAlive(id: string): Promise<boolean> {
    const t = this.tasks.get(id);
    return !!t && alive(t);
  }

  async ps(id: string): Promise<number[]> {
    return [this.live(id, 'list processes of').pid];
  }

  async stats(id: string): Promise<CgroupStats> {
    this.live(id, 'stats of');
    return {
      read: new Date().toISOString(),
      pids_stats: { current: 1 },
      blkio_stats: { io_service_bytes_recursive: null },
      cpu_stats: {
        cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
        system_cpu_usage: 0,
        online_cpus: 1,
        throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
      },
      memory_stats: { usage: 0 },
    };
  }

  readLogs(logPath: string, opts: ReadLogOptions): AsyncIterable<LogLine> {
    return readLogs(logPath, opts);
  }

  onExit(fn: (e: Exit) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  async readExit(id: string): Promise<Omit<Exit, 'id'> | undefined> {
    return this.tasks.get(id)?.exit;
  }

  async exec(o: ExecOptions): Promise<{ pid: number; exit: Promise<number> }> {
    this.calls.push({ op: 'exec', id: o.id, args: o.process });
    if (!/^[0-9a-f]{8,64}$/.test(o.sessionId)) throw invalidArgument(`exec in container "${o.id}": invalid session id`);
    const t = this.tasks.get(o.id);
    if (!t || t.status !== 'running') throw internal(`exec in container "${o.id}": container is not running`);
    const args = ((o.process as { args?: string[] } | undefined)?.args ?? []).map(String);
    const p = this.program(args);
    const failure = p.startError ?? p.createError;
    if (failure) throw internal(`exec in container "${o.id}": ${failure}`);
    if (p.output?.length) await appendLog(o.logPath, p.output);
    else await appendLog(o.logPath, []);
    const exit = new Promise<number>((resolve) => setTimeout(() => resolve(p.exitCode ?? 0), p.exitAfterMs ?? 0));
    return { pid: this.nextPid++, exit };
  }

  openExecStdin(sessionId: string): StdinSession {
    return this.openStdin(sessionId);
  }

  async resizeIn(_dir: string, height: number, width: number, what = 'resize'): Promise<void> {
    if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0)
      throw invalidArgument(`${what}: invalid size ${height}x${width}`);
  }

  async close(): Promise<void> {
    for (const t of this.tasks.values()) clearTimeout(t.timer);
  }

  /** Ends the task's process now, as if it exited with `code` on its own. */
  exitNow(id: string, code: number): void {
    this.end(this.task(id), code);
  }

  private live(id: string, what: string): FakeTask {
    const t = this.tasks.get(id);
    if (!t) throw notFound(`${what} container "${id}": no such container`);
    if (!alive(t)) throw conflict(`${what} container "${id}": container is not running`);
    return t;
  }

  private end(t: FakeTask, exitCode: number): void {
    if (!alive(t)) return;
    clearTimeout(t.timer);
    t.status = 'stopped';
    const exit = { exitCode, exitedAt: new Date(), oomKilled: !!t.program.oomKilled };
    t.exit = exit;
    // Reported by ID even if the task was deleted and made again meanwhile, as conmon's exit
    // file of a force-deleted task can be: listeners must cope (see ExitSource).
    setTimeout(() => {
      for (const l of [...this.listeners]) l({ id: t.id, ...exit });
    }, this.exitLatencyMs);
  }
}

function alive(t: FakeTask): boolean {
  return t.status !== 'stopped';
}

/** Appends stdout lines to a k8s-file log, as conmon writes it. */
async function appendLog(path: string, lines: string[]): Promise<void> {
  const now = formatLogTime(new Date());
  await fs.appendFile(path, lines.map((l) => `${now} stdout F ${l}\n`).join(''));
}
