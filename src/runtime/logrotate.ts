/**
 * `--log-opt max-size=… max-file=N` keeps the N-1 full files before the log, as `<log>.1` (the
 * newest) … `<log>.<N-1>`, the way Docker's json-file driver does. berth-monitor rotates them
 * itself (`--log-max-files`, berth-monitor.c's rotate_log), with no moment at which a line is
 * only in an unlinked file. conmon has no such option: it caps the log at max-size by renaming
 * an empty file over it (`--log-size-max`), and LogRotator, in berthd, keeps what it replaced.
 *
 * LogRotator (conmon only): the content of the file conmon replaces survives through a hard
 * link, `<log>.live`, made to each new log file once inotify on the log's directory tells of
 * it: when conmon renames its fresh file over the log, the link still holds the old one, which
 * then moves to `<log>.1`. Should conmon replace the log twice before the rotator runs (a busy
 * machine), the file between had no link and its lines are lost: the reason berth-monitor
 * rotates on its own.
 */
import {
  closeSync,
  fstatSync,
  openSync,
  promises as fs,
  read,
  readdirSync,
  statSync,
  watch,
  type FSWatcher,
} from 'node:fs';
import { basename, dirname } from 'node:path';

export class LogRotator {
  private readonly path: string;
  private readonly maxFiles: number;
  private watcher?: FSWatcher;
  private ino = -1;
  private busy: Promise<void> = Promise.resolve();

  constructor(path: string, maxFiles: number) {
    this.path = path;
    this.maxFiles = maxFiles;
  }

  start(): void {
    if (this.maxFiles < 2 || this.watcher) return;
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), (_event, file) => {
      if (file === null || file === name) this.check();
    });
    this.watcher.on('error', () => {});
    this.check();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private check(): void {
    this.busy = this.busy.then(() => this.rotateIfReplaced()).catch(() => {});
  }

  private async rotateIfReplaced(): Promise<void> {
    const st = await fs.stat(this.path).catch(() => undefined);
    if (!st || st.ino === this.ino) return;
    const live = `${this.path}.live`;
    const held = await fs.stat(live).catch(() => undefined);
    if (held && held.ino !== st.ino && held.size > 0) {
      // The log was replaced: what `.live` still holds is the newest old file.
      await fs.rm(`${this.path}.${this.maxFiles - 1}`, { force: true });
      for (let k = this.maxFiles - 2; k >= 1; k--)
        await fs.rename(`${this.path}.${k}`, `${this.path}.${k + 1}`).catch(() => {});
      await fs.rename(live, `${this.path}.1`);
    } else {
      await fs.rm(live, { force: true });
    }
    await fs.link(this.path, live).catch(() => {});
    this.ino = st.ino;
  }
}

/**
 * An open log file. Opened, fstat'ed and closed on the event loop, its directory listed there
 * too, as readExitFile reads exit files (exits.ts): those are metadata the kernel has at hand,
 * microseconds each, where each was a round trip through libuv's thread pool that waits for a
 * core on a busy machine (~0.3-0.7 ms each under strace at load 7; `logs --tail` made three in a
 * row before its read). The reads of the log's bytes, which may come from the disk, go through
 * the thread pool.
 */
export class LogFile {
  private fd: number;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** Opens `path` for reading; undefined when it is not there (or cannot be opened). */
  static open(path: string): { file: LogFile; ino: number; size: number } | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      return { file: new LogFile(fd), ino: st.ino, size: st.size };
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  read(buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return new Promise((resolve, reject) =>
      read(this.fd, buf, offset, length, position, (e, bytesRead) => (e ? reject(e) : resolve({ bytesRead }))),
    );
  }

  size(): number {
    return fstatSync(this.fd).size;
  }

  /** Closes it (once; later calls do nothing). */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
    } catch {
      // A read-only descriptor: nothing is lost.
    }
  }
}

/** One file of a log's set, open: what is read from it stays what it was, whatever is renamed. */
export interface OpenedLog {
  fh: LogFile;
  ino: number;
  /** Its size when it was opened: where a reader that does not follow stops. */
  size: number;
}

/** The log, open, and the names in its directory, listed after it was opened. */
export interface LogHead {
  log: OpenedLog;
  /** Whether the listing shows older files (`<log>.live`, `<log>.N`): none, and the log is all there is. */
  rotated: boolean;
  /** The highest `N` of a `<log>.N` listed (0 for none). */
  highest: number;
}

/** Opens the log, then lists its directory. Undefined when there is no log. */
export function openLogHead(path: string): LogHead | undefined {
  const log = openLog(path);
  if (!log) return undefined;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    names = [];
  }
  const base = basename(path);
  let rotated = false;
  let highest = 0;
  for (const n of names) {
    if (!n.startsWith(`${base}.`)) continue;
    const suffix = n.slice(base.length + 1);
    const k = Number(suffix);
    if (suffix === 'live') rotated = true;
    else if (Number.isInteger(k) && k > 0) {
      rotated = true;
      highest = Math.max(highest, k);
    }
  }
  return { log, rotated, highest };
}

/** Tries before a set taken while the log keeps being replaced is taken as it is. */
const SET_TRIES = 5;

/**
 * A log's files, open, oldest first, the log itself last (none if there is no log): what a
 * reader reads in order. Taken newest first — the log, conmon's `.live` link, then `.1`, `.2` …
 * — while the monitor may be rotating (rotate_log, or LogRotator's shift): a rotation moves each
 * file one name up, oldest first, and the reader walks up behind it, so it meets every file at
 * least once (twice by two names: each inode is taken once) and the older ones before the
 * newer. That holds while the log keeps its file: a set during which the log was replaced is
 * taken again. The listing gives the highest name; one more is tried, which the one shift a
 * rotation can make meanwhile may have made.
 *
 * A listing (made after the log was opened) that shows no older file ends it there: no
 * rotation had happened by then (the first one leaves `.1` behind, and conmon's rotator keeps
 * `.live` from the start), so the log opened is the only file and nothing needs checking again.
 * `head` (openLogHead's, owned by the call from then on) is the first try's log and listing.
 */
export function openLogSet(path: string, head?: LogHead): OpenedLog[] {
  for (let attempt = 1; ; attempt++) {
    const h = attempt === 1 && head ? head : openLogHead(path);
    if (!h) return [];
    const log = h.log;
    if (!h.rotated) return [log];
    const set = [log];
    for (const name of [`${path}.live`, ...Array.from({ length: h.highest + 1 }, (_, k) => `${path}.${k + 1}`)]) {
      const f = openLog(name);
      if (!f) continue;
      if (set.some((o) => o.ino === f.ino)) f.fh.close();
      else set.push(f);
    }
    const now = statSync(path, { throwIfNoEntry: false });
    if (now?.ino === log.ino || attempt >= SET_TRIES) return set.reverse();
    for (const f of set) f.fh.close();
  }
}

/** The files of `path`'s set newer than the one with inode `ino` (all of them if it is gone from the set), open. */
export function logsAfter(path: string, ino: number): OpenedLog[] {
  const set = openLogSet(path);
  const at = set.findIndex((f) => f.ino === ino);
  for (const f of set.slice(0, at + 1)) f.fh.close();
  return set.slice(at + 1);
}

function openLog(path: string): OpenedLog | undefined {
  const o = LogFile.open(path);
  return o && { fh: o.file, ino: o.ino, size: o.size };
}
