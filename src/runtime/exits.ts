/**
 * conmon's exit files, watched. When a container's process ends, its conmon writes the status
 * to `<exit-dir>/<id>` (a temporary file renamed into place); this watches that directory with
 * inotify and reports each file once, as an `exit` event. Files already there when watching
 * starts were written while nobody watched (the daemon was down): they are not reported again,
 * the driver reads them back on request (`readExitFile`).
 *
 * Lifecycle: `start()` once, `close()` at the end; `expect(id)` before each new run of a
 * container, so that its next exit file counts again; `waitFor` lets a delete wait until the
 * monitor has written its file before it cleans up.
 *
 * @example
 *   const w = new ExitWatcher(exitDir, (id) => readExitFile(join(exitDir, id)), isOurs);
 *   w.events.on('exit', (e) => console.log(e.id, e.exitCode));
 *   await w.start();
 */
import { EventEmitter } from 'node:events';
import { closeSync, fstatSync, openSync, readSync, statSync, promises as fs, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Exit } from './roles.ts';
import { pathExists } from '../fs/index.ts';

export interface RuntimeEvents {
  exit: [Exit];
}

export class ExitWatcher {
  /** `exit` events, one per container process that ends while this watches. */
  readonly events = new EventEmitter<RuntimeEvents>().setMaxListeners(0);
  private readonly dir: string;
  private readonly read: (id: string) => Promise<Omit<Exit, 'id'> | undefined>;
  private readonly owns: (id: string) => Promise<boolean>;
  private watcher?: FSWatcher;
  /** Exits already reported, so that the several inotify events of one exit file report once. */
  private readonly reported = new Set<string>();
  /** Exit files being read now, and whether an event for one came during its read. */
  private readonly reading = new Map<string, boolean>();
  /** Callers waiting for an exit file (delete waits for conmon to finish before cleaning up). */
  private readonly waiters = new Map<string, Set<() => void>>();

  /**
   * `read` reads the exit of a container (its file, and whatever else the driver adds, as OOM
   * kills); `owns` says whether a name is a container of this driver's (conmon's temporary
   * files, and other drivers' containers sharing the directory, are not).
   */
  constructor(
    dir: string,
    read: (id: string) => Promise<Omit<Exit, 'id'> | undefined>,
    owns: (id: string) => Promise<boolean>,
  ) {
    this.dir = dir;
    this.read = read;
    this.owns = owns;
  }

  async start(): Promise<void> {
    for (const name of await fs.readdir(this.dir)) this.reported.add(name);
    this.watcher = watch(this.dir, (_event, name) => {
      if (name) this.onFile(name.toString());
    });
    this.watcher.on('error', () => {});
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** A new run of container `id`: its next exit file is reported. */
  expect(id: string): void {
    this.reported.delete(id);
  }

  /** Waits until the exit file of `id` is there or `gone()` says its monitor is, at most `ms`. */
  async waitFor(id: string, gone: () => Promise<boolean>, ms: number): Promise<void> {
    if (await pathExists(join(this.dir, id))) return;
    await new Promise<void>((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const finish = () => {
        clearInterval(poll);
        clearTimeout(limit);
        set.delete(finish);
        if (!set.size) this.waiters.delete(id);
        resolve();
      };
      set.add(finish);
      const poll = setInterval(() => {
        void gone().then((yes) => yes && finish());
      }, 50);
      const limit = setTimeout(finish, ms);
    });
  }

  private onFile(name: string): void {
    const waiters = this.waiters.get(name);
    if (waiters) for (const w of waiters) w();
    if (this.reported.has(name)) return;
    // One rename into place comes as several inotify events: one read at a time per name, and
    // one more after it if an event came meanwhile (the file may have appeared after the read
    // looked: a removal's event, say, then the new exit's).
    if (this.reading.has(name)) {
      this.reading.set(name, true);
      return;
    }
    this.reading.set(name, false);
    // conmon writes `<id>.XXXXXX` and renames it to `<id>`; names that are no container are skipped.
    void (async () => {
      if (!(await this.owns(name))) return;
      const e = await this.read(name);
      if (!e || this.reported.has(name)) return;
      this.reported.add(name);
      // The file's mtime runs on the kernel's coarse clock (a few ms behind the log's
      // timestamps); seen live, the moment of the event is closer to the truth.
      this.events.emit('exit', { id: name, ...e, exitedAt: new Date(Math.max(Date.now(), e.exitedAt.getTime())) });
    })()
      .catch(() => {})
      .finally(() => {
        const again = this.reading.get(name);
        this.reading.delete(name);
        if (again) this.onFile(name);
      });
  }
}

/**
 * The last exit read of each container, by its exit file's identity: an exit is read by the
 * exit watcher and, a moment later, again by the container service (which must not trust news
 * of a task that may have been replaced) — the second read is a stat. The monitor writes a new
 * file and renames it into place: the same inode, size and mtime are the same exit, whose OOM
 * verdict cannot change either (its processes are gone). `forget` at a new run and at delete.
 */
export class ExitMemo {
  private readonly last = new Map<string, { file: string; exit: Omit<Exit, 'id'> }>();

  async read(
    id: string,
    path: string,
    read: (path: string) => Promise<Omit<Exit, 'id'> | undefined>,
  ): Promise<Omit<Exit, 'id'> | undefined> {
    // One stat on the event loop (see readExitFile): the service's re-read is this alone.
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return undefined;
    const file = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const known = this.last.get(id);
    if (known?.file === file) return known.exit;
    const exit = await read(path);
    if (exit) this.last.set(id, { file, exit });
    return exit;
  }

  forget(id: string): void {
    this.last.delete(id);
  }
}

/**
 * The status conmon wrote to an exit file, and when (the file's mtime); undefined if there is none yet.
 *
 * Read on the event loop: a file of a few bytes on the exec root (a tmpfs by default), read on
 * the way from a container's exit to its waiters' answer, where each thread-pool round trip
 * (open, the read's fstat and reads, close: some five) waits for a core on a busy machine.
 */
export async function readExitFile(path: string): Promise<{ exitCode: number; exitedAt: Date } | undefined> {
  let text: string;
  let mtime: Date;
  try {
    const fd = openSync(path, 'r');
    try {
      mtime = fstatSync(fd).mtime;
      const buf = Buffer.alloc(EXIT_FILE_MAX);
      text = buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  return { exitCode: Number(t), exitedAt: mtime };
}

/** More than any status a monitor writes (a number and a newline): a longer file is no exit file. */
const EXIT_FILE_MAX = 64;
