/**
 * Reads conmon's k8s-file logs: one entry per file line, `<RFC 3339 time> <stdout|stderr> <F|P>
 * <bytes>`, where P marks a partial line that the stream's next entry continues (conmon reads the
 * container's pipes in chunks and writes each chunk as it comes).
 *
 * - tail reads backwards from the end of the file, never the whole file, and the lines shown
 *   come from the bytes that count read, not from a second read; a tail the log alone holds
 *   opens no older file;
 * - the rotated files (`<log>.N` … `<log>.1`) come first, opened with the log as one set
 *   (logrotate.ts's openLogSet), so a rotation while they are read loses or repeats nothing;
 * - a reader that does not follow stops at the size each file had when opened, without a read
 *   to find its end; files are opened, fstat'ed, listed and closed on the event loop (LogFile):
 *   a `logs --tail 100` is one round trip through libuv's thread pool, its read, where it was
 *   eleven operations one after another, each such a round trip;
 *   a follower whose file is replaced reads it to its end, then every newer file of the set;
 * - follow waits on inotify (a watch on the log's directory, so a file that does not exist yet,
 *   or that conmon replaces when it rotates, is seen), not on a timer;
 * - partial entries are joined into whole lines; a follower at the end of the file gets the part
 *   it has at once (the rest comes as the next line), so prompts and progress show live;
 * - `untilExit`: once it settles, the reader drains what is in the file and ends. conmon writes
 *   every byte the container wrote before it writes the exit file, so a reader told of the exit
 *   by the exit file loses nothing, not even the output of a process that lived a millisecond.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { LogFile, logsAfter, openLogHead, openLogSet, type OpenedLog } from './logrotate.ts';

export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
  stream: LogStream;
  /** Wall time of the entry (of its first part, for a joined line); `nanos` keeps the digits past the millisecond. */
  time: Date & { nanos?: number };
  /** The line's bytes, ending in `\n` unless the container's last write ended without one. */
  line: Buffer;
  /** The same bytes as `line` (the name the container service and API routes use). */
  data: Buffer;
}

export interface ReadLogOptions {
  /** Keep reading as the container writes, until `signal` aborts or `untilExit` settles. */
  follow: boolean;
  /** Only the last `tail` complete lines already in the file (then follow, if asked). */
  tail?: number;
  since?: Date;
  until?: Date;
  /** Prefix each line with its RFC 3339 time (nanoseconds) and a space, as `docker logs -t` does. */
  timestamps?: boolean;
  /** Ends the reader at once, without draining. */
  signal?: AbortSignal;
  /** When this settles (the container exited), drain the file to its end, then end. */
  untilExit?: Promise<unknown>;
}

const CHUNK = 64 * 1024;
/** A safety net only: inotify wakes the reader; this covers a lost event (queue overflow). */
const SAFETY_NET_MS = 2000;

type Time = Date & { nanos?: number };

function parseTime(s: string): Time {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(s);
  if (!m) return new Date(Number.NaN);
  const frac = (m[2] ?? '').padEnd(9, '0');
  const zone = m[3]!.length === 5 ? `${m[3]!.slice(0, 3)}:${m[3]!.slice(3)}` : m[3]!;
  const d = new Date(`${m[1]}.${frac.slice(0, 3)}${zone}`) as Time;
  d.nanos = Number(frac.slice(3, 9));
  return d;
}

/** RFC 3339 in UTC with nanoseconds, as Docker prints log timestamps. */
export function formatLogTime(t: Time): string {
  const iso = t.toISOString(); // 2026-01-01T00:00:00.123Z
  return `${iso.slice(0, 23)}${String(t.nanos ?? 0).padStart(6, '0')}Z`;
}

export interface ParsedLine {
  time: Time;
  stream: LogStream;
  partial: boolean;
  data: Buffer;
}

/**
 * A parsed entry whose time is read from its text when first asked for: a tail's count never
 * needs it, a plain `docker logs` only to pass it on (the pump prints it with `-t`); parsing it
 * for every entry walked was the readers' largest cost in a CPU profile of `logs --tail 100`.
 */
class Parsed implements ParsedLine {
  readonly stream: LogStream;
  readonly partial: boolean;
  readonly data: Buffer;
  readonly #stamp: Buffer;
  #time?: Time;

  constructor(stamp: Buffer, stream: LogStream, partial: boolean, data: Buffer) {
    this.#stamp = stamp;
    this.stream = stream;
    this.partial = partial;
    this.data = data;
  }

  get time(): Time {
    return (this.#time ??= parseTime(this.#stamp.toString('latin1')));
  }
}

/** A line as readers yield it, its time that of the entry it began with, read when asked for. */
class Entry implements LogLine {
  readonly stream: LogStream;
  readonly line: Buffer;
  readonly data: Buffer;
  readonly #first: ParsedLine;

  constructor(first: ParsedLine, line: Buffer) {
    this.stream = first.stream;
    this.#first = first;
    this.line = line;
    this.data = line;
  }

  get time(): Time {
    return this.#first.time;
  }
}

/** Splits one file line (without its `\n`) into its fields; undefined for a malformed line. */
export function parseLine(line: Buffer): ParsedLine | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 < 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const stream = streamAt(line, s1 + 1, s2);
  if (!stream) return undefined;
  const s3 = line.indexOf(0x20, s2 + 1);
  const flagEnd = s3 < 0 ? line.length : s3;
  if (flagEnd !== s2 + 2 || (line[s2 + 1] !== 0x46 && line[s2 + 1] !== 0x50)) return undefined; // F or P
  return new Parsed(
    line.subarray(0, s1),
    stream,
    line[s2 + 1] === 0x50,
    s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1),
  );
}

const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');

/** `stdout` or `stderr` between `from` and `to`, compared as bytes (no string made). */
function streamAt(line: Buffer, from: number, to: number): LogStream | undefined {
  if (to - from !== 6) return undefined;
  if (line.compare(STDOUT, 0, 6, from, to) === 0) return 'stdout';
  if (line.compare(STDERR, 0, 6, from, to) === 0) return 'stderr';
  return undefined;
}

/**
 * Where to start reading to show the last `n` complete lines: the file offset, and per stream
 * the offset of its first entry to keep. Entries of the two streams interleave, and a line's
 * partial (P) entries precede its final (F) one, so a line of one stream may start before lines
 * of the other that are not shown: those are skipped by offset. A stream's unfinished last line
 * (P entries with no F yet) is kept too, so that a follower joins its rest to it.
 */
export interface TailStart {
  offset: number;
  keepFrom: Record<LogStream, number>;
  /** How many complete lines that is (fewer than asked when the file has fewer). */
  lines: number;
  /** The file's bytes from `offset` to the size it was given, when it read them all (no more than TAIL_KEEP). */
  data?: Buffer;
}

/** Bytes of a tail kept for the reader rather than read again (a tail of 100 lines is a few kB). */
const TAIL_KEEP = 1 << 20;

export async function tailStart(fh: LogFile, size: number, n: number): Promise<TailStart> {
  const keepFrom: Record<LogStream, number> = { stdout: size, stderr: size };
  if (n <= 0) return { offset: size, keepFrom, lines: 0 };
  let complete = 0;
  // A stream is closed once an F entry before its earliest shown line is found: its earlier
  // entries belong to lines not shown.
  const closed: Record<LogStream, boolean> = { stdout: false, stderr: false };
  const seen: Record<LogStream, boolean> = { stdout: false, stderr: false };
  /** Looks at one entry (walking backwards); true when nothing before it can be needed. */
  const visit = (entry: Buffer, offset: number): boolean => {
    const p = parseLine(entry);
    if (!p) return false;
    const s = p.stream;
    seen[s] = true;
    if (!closed[s]) {
      if (p.partial) keepFrom[s] = offset;
      else if (complete < n) {
        complete++;
        keepFrom[s] = offset;
      } else closed[s] = true;
    }
    return complete >= n && (closed.stdout || !seen.stdout) && (closed.stderr || !seen.stderr);
  };
  let pos = size;
  // Bytes from `pos` on not walked yet: the start of a line cut by the chunk boundary.
  let carry = Buffer.alloc(0);
  let done = false;
  // What was read, the last chunk first (bytes size-kept .. size): the reader starts with it
  // instead of reading it again.
  const read: Buffer[] = [];
  let kept = 0;
  let whole = true;
  while (pos > 0 && !done) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const buf = Buffer.alloc(len);
    if ((await fh.read(buf, 0, len, pos)).bytesRead < len) whole = false;
    // Kept while every chunk since the end is: the kept bytes stay one run up to the end.
    if (whole && kept === size - pos - len && kept + len <= TAIL_KEEP) {
      read.push(buf);
      kept += len;
    }
    carry = carry.length ? Buffer.concat([buf, carry]) : buf;
    // `end` is the index of the `\n` ending the entry being looked at; walk entries backwards.
    let end = carry.length;
    if (pos + len === size) {
      // The end of the file: an entry still being written (no `\n` yet) is not there yet.
      end = carry.lastIndexOf(0x0a);
      if (end < 0) {
        carry = Buffer.alloc(0);
        continue;
      }
    }
    for (;;) {
      const nl = carry.lastIndexOf(0x0a, end - 1);
      if (nl < 0) break;
      if (visit(carry.subarray(nl + 1, end), pos + nl + 1)) {
        done = true;
        break;
      }
      end = nl;
    }
    carry = carry.subarray(0, end);
    if (!done && pos === 0 && carry.length) visit(carry, 0);
  }
  const offset = Math.min(keepFrom.stdout, keepFrom.stderr);
  // (A short read — a file that shrank — keeps nothing: the reader reads it as it is.)
  const data =
    whole && offset >= size - kept ? Buffer.concat(read.reverse()).subarray(offset - (size - kept)) : undefined;
  return { offset, keepFrom, lines: complete, data };
}

/**
 * The entries of a k8s-file log. Stops at `until`; skips entries before `since`; a final
 * partial line (the container's last write without a newline) comes out as it is.
 */
export async function* readLogs(path: string, opts: ReadLogOptions): AsyncGenerator<LogLine> {
  // The log first, then the rotated files: a rotation while they are read moves names, not what is read.
  const head = openLogHead(path);
  if (!head) return yield* readLogFile(path, opts);
  // Handles not yet handed to a reader (which closes them) are closed here, whatever happens.
  const owned = new Set([head.log]);
  const give = (files: OpenedLog[]) => {
    for (const f of files) owned.delete(f);
    return files;
  };
  try {
    // A tail the log alone holds (or the log is all there is) needs no older file opened, and
    // starts from the bytes its count read.
    const tail =
      opts.tail === undefined ? undefined : await tailStart(head.log.fh, head.log.size, Math.max(0, opts.tail));
    if (tail && (tail.lines >= opts.tail! || !head.rotated))
      return yield* readLogFile(path, opts, give([head.log]), tail);
    owned.delete(head.log); // openLogSet's from here on
    const set = openLogSet(path, head);
    for (const f of set) owned.add(f);
    if (set.length === 0) return yield* readLogFile(path, opts);
    const log = set.at(-1)!;
    if (opts.tail === undefined || set.length === 1) return yield* readLogFile(path, opts, give(set));
    // --tail across files: what the log lacks comes from the end of the older ones.
    const inLog = log === head.log ? tail!.lines : (await tailStart(log.fh, log.size, opts.tail)).lines;
    const wanted = opts.tail - inLog;
    if (wanted <= 0) return yield* readLogFile(path, opts, give([log]));
    const last: LogLine[] = [];
    const once = { ...opts, follow: false, tail: undefined, untilExit: undefined };
    for await (const l of readLogFile(path, once, give(set.slice(0, -1)))) {
      last.push(l);
      if (last.length >= 2 * wanted) last.splice(0, last.length - wanted);
    }
    yield* last.slice(-wanted);
    // Every line of the log is wanted: all of it, with what it got since it was counted.
    yield* readLogFile(path, { ...opts, tail: undefined }, give([log]));
  } finally {
    for (const f of owned) f.fh.close();
  }
}

/**
 * The entries of `files` in order (open, oldest first; closed here), then, following, of the
 * files that replace the last one; without `files`, of `path` once it exists. A file replaced
 * while followed is read to its end (the monitor writes no more to it) before the next: those
 * after it in the log's set (logsAfter), so a follower that slept through several rotations
 * still reads every file kept. A reader that does not follow reads each file up to the size it
 * had when opened (no read to find its end); `counted` is the first file's tail, counted
 * already (readLogs'), whose bytes it starts from.
 */
async function* readLogFile(
  path: string,
  opts: ReadLogOptions,
  files: OpenedLog[] = [],
  counted?: TailStart,
): AsyncGenerator<LogLine> {
  let fh: LogFile | undefined;
  let ino = -1;
  /** Where the file being read ends for a reader that does not follow (its size when opened). */
  let end: number | undefined;
  const queue = [...files];
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  let dirty = true;
  let exited = false;
  let safetyNet: NodeJS.Timeout | undefined;
  const poke = () => {
    dirty = true;
    clearTimeout(safetyNet);
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onAbort = () => poke();
  if (opts.follow) {
    opts.untilExit?.then(
      () => {
        exited = true;
        poke();
      },
      () => {
        exited = true;
        poke();
      },
    );
    opts.signal?.addEventListener('abort', onAbort);
    // Watch the directory before the first read: a write after the read wakes us; one before
    // it is read by it.
    const name = basename(path);
    try {
      watcher = watch(dirname(path), (_event, file) => {
        if (file === null || file === name || file === `${name}.tmp`) poke();
      });
      watcher.on('error', () => poke());
    } catch {
      // No directory yet: the safety net wakes us.
    }
  }
  const sleep = () =>
    new Promise<void>((resolve) => {
      if (dirty || exited || opts.signal?.aborted) return resolve();
      wake = resolve;
      safetyNet = setTimeout(poke, SAFETY_NET_MS);
      safetyNet.unref();
    });
  const open = (): boolean => {
    const o = LogFile.open(path);
    if (!o) return false;
    fh?.close();
    fh = o.file;
    ino = o.ino;
    end = opts.follow ? undefined : o.size;
    return true;
  };

  const next = () => {
    const f = queue.shift()!;
    fh?.close();
    fh = f.fh;
    ino = f.ino;
    end = opts.follow ? undefined : f.size;
  };

  try {
    if (queue.length) next();
    // Else wait for the file to appear (a reader attached before the container started).
    while (!fh) {
      dirty = false;
      if (open()) break;
      if (!opts.follow || opts.signal?.aborted) return;
      if (exited) {
        if (open()) break;
        return;
      }
      await sleep();
    }
    const tail = counted ?? (opts.tail !== undefined ? await tailStart(fh!, end ?? fh!.size(), opts.tail) : undefined);
    let pos = tail?.offset ?? 0;
    let keepFrom = tail?.keepFrom;
    /** Bytes from `pos` on that the tail's count read already. */
    let ahead = tail?.data;

    let carry: Buffer = Buffer.alloc(0);
    /** File offset of carry[0]. */
    let carryAt = pos;
    const pending: Record<LogStream, { first: ParsedLine; parts: Buffer[] } | undefined> = {
      stdout: undefined,
      stderr: undefined,
    };
    const buf = Buffer.alloc(CHUNK);
    const emit = (first: ParsedLine, data: Buffer): LogLine =>
      new Entry(first, opts.timestamps ? Buffer.concat([Buffer.from(`${formatLogTime(first.time)} `), data]) : data);
    let finalPass = false;
    for (;;) {
      if (opts.signal?.aborted) return;
      dirty = false;
      // The tail's bytes first; then reads, none past the end a reader that does not follow stops at.
      let chunk = ahead ?? EMPTY;
      const own = !!ahead;
      ahead = undefined;
      if (!own && (end === undefined || pos < end))
        chunk = buf.subarray(0, (await fh!.read(buf, 0, Math.min(CHUNK, (end ?? Infinity) - pos), pos)).bytesRead);
      if (chunk.length > 0) {
        pos += chunk.length;
        // `buf` is read into again: what stays in `carry` is copied out of it.
        carry = carry.length ? Buffer.concat([carry, chunk]) : own ? chunk : Buffer.from(chunk);
        let start = 0;
        for (;;) {
          const nl = carry.indexOf(0x0a, start);
          if (nl < 0) break;
          const p = parseLine(carry.subarray(start, nl));
          const at = carryAt + start;
          start = nl + 1;
          if (!p || (keepFrom && at < keepFrom[p.stream])) continue;
          const before = pending[p.stream];
          if (p.partial) {
            if (before) before.parts.push(p.data);
            else pending[p.stream] = { first: p, parts: [p.data] };
            continue;
          }
          pending[p.stream] = undefined;
          const first = before?.first ?? p;
          if (opts.since && first.time < opts.since) continue;
          if (opts.until && first.time > opts.until) return;
          const data = before ? Buffer.concat([...before.parts, p.data, NEWLINE]) : Buffer.concat([p.data, NEWLINE]);
          yield emit(first, data);
        }
        carry = carry.subarray(start);
        carryAt += start;
        continue;
      }
      // At the end of the file: the next one, if it was replaced.
      if (queue.length) {
        next();
        pos = 0;
        carry = Buffer.alloc(0);
        carryAt = 0;
        keepFrom = undefined;
        continue;
      }
      if (!opts.follow || finalPass) break;
      // Read before the stat: an exit known then came after every write and rotation.
      const ended = exited;
      // The monitor replaces the file when it rotates: what it wrote before that is read
      // first (one more pass), then the files after it.
      const st = await fs.stat(path).catch(() => undefined);
      if (st && st.ino !== ino) {
        queue.push(...logsAfter(path, ino));
        if (queue.length) continue;
      }
      if (ended) {
        // Everything was written before the exit was recorded: one more pass reads it.
        finalPass = true;
        continue;
      }
      // A live reader sees a partial line now (a prompt, a progress dot), not when it ends;
      // its rest comes as the next entry.
      for (const stream of ['stdout', 'stderr'] as const) {
        const p = pending[stream];
        if (!p) continue;
        pending[stream] = undefined;
        if (opts.since && p.first.time < opts.since) continue;
        if (opts.until && p.first.time > opts.until) return;
        yield emit(p.first, Buffer.concat(p.parts));
      }
      if (dirty) continue;
      await sleep();
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = pending[stream];
      if (!p || (opts.since && p.first.time < opts.since) || (opts.until && p.first.time > opts.until)) continue;
      yield emit(p.first, Buffer.concat(p.parts));
    }
  } finally {
    clearTimeout(safetyNet);
    opts.signal?.removeEventListener('abort', onAbort);
    watcher?.close();
    fh?.close();
    for (const f of queue) f.fh.close();
  }
}

const NEWLINE = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
