/**
 * The thin runtime driver: each container runs under its own conmon, which runs `runc create`,
 * stays the container's parent (holding its stdio and writing its log), and writes the exit
 * code to `<root>/exits/<id>` when the process ends. berthd watches that directory, so an exit
 * is never lost — not even one that happens while berthd is down.
 *
 * Lifecycle rules are not here: the container service decides what may happen when.
 */
import { EventEmitter } from 'node:events';
import { promises as fs, watch, readFileSync, constants, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { internal, notFound } from '../errdefs/index.ts';
import type { Host } from '../host/index.ts';
import { readLogs, type LogLine, type ReadLogOptions } from './logs.ts';

export interface CreateOptions {
  id: string;
  bundle: string;
  logPath: string;
  terminal: boolean;
  stdin: boolean;
  /** Largest log file conmon keeps before rotating (bytes); -1 for no cap. */
  logSizeMax?: number;
}

export interface Exit {
  id: string;
  exitCode: number;
  exitedAt: Date;
  oomKilled?: boolean;
}

export interface RuncRuntimeOptions {
  host: Host;
  /** The daemon's exec root; runc state lives in `<root>/runc`, exit files in `<root>/exits`. */
  root: string;
  runtimePath?: string;
  conmonPath?: string;
}

export class RuncRuntime {
  readonly exits = new EventEmitter();
  private readonly host: Host;
  private readonly runcRoot: string;
  private readonly exitDir: string;
  private readonly sockDir: string;
  private runc: string;
  private conmon: string;
  private watcher?: FSWatcher;
  /** Exits already reported, so a file event seen twice is reported once. */
  private readonly reported = new Set<string>();

  constructor(o: RuncRuntimeOptions) {
    this.host = o.host;
    this.runcRoot = join(o.root, 'runc');
    this.exitDir = join(o.root, 'exits');
    this.sockDir = join(o.root, 'sockets');
    this.runc = o.runtimePath ?? 'runc';
    this.conmon = o.conmonPath ?? 'conmon';
  }

  /** Creates the directories and starts watching for exits. */
  async init(): Promise<void> {
    // conmon wants absolute paths for the programs it runs.
    this.runc = await absolutePath(this.runc);
    this.conmon = await absolutePath(this.conmon);
    await Promise.all([this.runcRoot, this.exitDir, this.sockDir].map((d) => fs.mkdir(d, { recursive: true, mode: 0o700 })));
    this.watcher = watch(this.exitDir, (_event, name) => {
      if (name) void this.onExitFile(name.toString());
    });
    this.watcher.on('error', () => {});
  }

  close(): void {
    this.watcher?.close();
  }

  private async onExitFile(id: string): Promise<void> {
    if (this.reported.has(id) || id.startsWith('.')) return;
    const e = await this.readExit(id);
    if (!e || this.reported.has(id)) return;
    this.reported.add(id);
    this.exits.emit('exit', { id, ...e } satisfies Exit);
  }

  /** The exit recorded for `id`, if its process has ended. */
  async readExit(id: string): Promise<Omit<Exit, 'id'> | undefined> {
    try {
      const path = join(this.exitDir, id);
      const [text, st] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
      if (text.trim() === '') return undefined;
      const exitCode = Number(text.trim());
      if (!Number.isInteger(exitCode)) return undefined;
      return { exitCode, exitedAt: st.mtime, oomKilled: exitCode === 137 && this.oomKilled(id) };
    } catch {
      return undefined;
    }
  }

  /** Did the kernel's OOM killer act in the container's memory cgroup? (Read before delete.) */
  private oomKilled(id: string): boolean {
    for (const p of [`/sys/fs/cgroup/memory/berth/${id}/memory.oom_control`, `/sys/fs/cgroup/berth/${id}/memory.events`]) {
      try {
        const m = readFileSync(p, 'utf8').match(/oom_kill (\d+)/);
        if (m) return Number(m[1]) > 0;
      } catch {
        // not this cgroup layout
      }
    }
    return false;
  }

  private runcArgs(...args: string[]): string[] {
    return ['--root', this.runcRoot, ...args];
  }

  /** Starts conmon, which runs `runc create`; resolves with the container's pid once created. */
  async create(o: CreateOptions): Promise<{ pid: number }> {
    this.reported.delete(o.id);
    await fs.rm(join(this.exitDir, o.id), { force: true });
    const args = [
      '--api-version', '1', '-c', o.id, '-u', o.id, '-n', o.id,
      '-r', this.runc, '-b', o.bundle,
      '-p', join(o.bundle, 'pidfile'), '-P', join(o.bundle, 'conmon.pid'),
      '-l', `k8s-file:${o.logPath}`, '--log-level', 'error',
      '--exit-dir', this.exitDir, '--socket-dir-path', this.sockDir,
      '--runtime-arg', '--root', '--runtime-arg', this.runcRoot,
      '--no-sync-log',
    ];
    if (o.logSizeMax !== undefined && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
    if (o.terminal) args.push('-t');
    if (o.stdin) args.push('-i');
    const child = this.host.spawn(this.conmon, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3' },
      detached: true,
    });
    const sync = child.stdio[3] as Readable;
    const stderr: Buffer[] = [];
    child.stderr?.on('data', (c: Buffer) => stderr.push(c));
    const message = await new Promise<{ data: number; message?: string }>((resolve, reject) => {
      let text = '';
      const onData = (c: Buffer) => {
        text += c.toString();
        const nl = text.indexOf('\n');
        const candidate = nl >= 0 ? text.slice(0, nl) : text;
        try {
          const parsed = JSON.parse(candidate) as { data: number; message?: string };
          sync.off('data', onData);
          resolve(parsed);
        } catch {
          // incomplete: wait for more
        }
      };
      sync.on('data', onData);
      sync.on('error', reject);
      sync.on('end', () => reject(internal(`start monitor for "${o.id}": conmon ended without a result: ${Buffer.concat(stderr).toString().trim()}`)));
      child.on('error', reject);
    });
    sync.destroy();
    child.stderr?.destroy();
    child.unref();
    if (message.data < 0) {
      const why = message.message ?? (await this.runtimeLog(o.bundle)) ?? Buffer.concat(stderr).toString().trim();
      throw internal(`create container "${o.id}": ${why.trim()}`);
    }
    return { pid: message.data };
  }

  private async runtimeLog(bundle: string): Promise<string | undefined> {
    return fs.readFile(join(bundle, 'runtime.log'), 'utf8').catch(() => undefined);
  }

  async exists(id: string): Promise<boolean> {
    return fs.access(join(this.runcRoot, id)).then(() => true, () => false);
  }

  async start(id: string): Promise<void> {
    await this.host.run(this.runc, this.runcArgs('start', id));
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    const sig = signal.replace(/^SIG/, '');
    const r = await this.host.run(this.runc, this.runcArgs('kill', ...(all ? ['--all'] : []), id, sig), { allowFailure: true });
    if (r.code !== 0) {
      if (/not running|container not running|does not exist|process already finished/i.test(r.stderr)) throw notFound(`kill container "${id}": not running`);
      throw internal(`kill container "${id}": ${r.stderr.trim()}`);
    }
  }

  async delete(id: string, force = false): Promise<void> {
    const r = await this.host.run(this.runc, this.runcArgs('delete', ...(force ? ['--force'] : []), id), { allowFailure: true });
    await fs.rm(join(this.exitDir, id), { force: true });
    await fs.rm(join(this.sockDir, id), { recursive: true, force: true });
    this.reported.delete(id);
    if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr)) throw internal(`delete container "${id}": ${r.stderr.trim()}`);
  }

  async pause(id: string): Promise<void> {
    await this.host.run(this.runc, this.runcArgs('pause', id));
  }

  async resume(id: string): Promise<void> {
    await this.host.run(this.runc, this.runcArgs('resume', id));
  }

  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    const r = await this.host.run(this.runc, this.runcArgs('state', id), { allowFailure: true });
    if (r.code !== 0) return undefined;
    const s = JSON.parse(r.stdout) as { status: string; pid: number };
    return { status: s.status, pid: s.pid };
  }

  /** Is the container's process still there (running or paused)? */
  async isAlive(id: string): Promise<boolean> {
    const s = await this.state(id);
    return !!s && (s.status === 'running' || s.status === 'paused' || s.status === 'created');
  }

  async ps(id: string): Promise<number[]> {
    const r = await this.host.run(this.runc, this.runcArgs('ps', '--format', 'json', id));
    return JSON.parse(r.stdout || '[]') as number[];
  }

  readLogs(logPath: string, opts: ReadLogOptions): AsyncIterable<LogLine> {
    return readLogs(logPath, opts);
  }
}

async function absolutePath(cmd: string): Promise<string> {
  if (cmd.includes('/')) return cmd;
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir, cmd);
    try {
      await fs.access(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  throw notFound(`"${cmd}" not found in PATH: install it (npm run setup)`);
}
