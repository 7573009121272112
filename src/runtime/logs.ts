/**
 * Reads conmon's k8s-file logs: `<RFC 3339 time> <stdout|stderr> <F|P> <bytes>` per line, P
 * marking a partial line continued by the next entry. Tail reads backwards from the end (never
 * the whole file); follow waits on inotify, not a timer.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Wall time of the entry; `nanos` keeps the digits past the millisecond. */
  time: Date & { nanos?: number };
  data: Buffer;
}

export interface ReadLogOptions {
  follow: boolean;
  tail?: number;
  since?: Date;
  until?: Date;
  signal?: AbortSignal;
  untilExit?: Promise<unknown>;
}

const CHUNK = 64 * 1024;

function parseTime(s: string): Date & { nanos?: number } {
  const m = s.match(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/);
  if (!m) return new Date(Number.NaN);
  const frac = (m[2] ?? '').padEnd(9, '0');
  const d = new Date(`${m[1]}.${frac.slice(0, 3)}${m[3]!.length === 5 ? `${m[3]!.slice(0, 3)}:${m[3]!.slice(3)}` : m[3]}`) as Date & { nanos?: number };
  d.nanos = Number(frac.slice(3, 9));
  return d;
}

/** Splits one file line into its fields; undefined for a malformed line. */
export function parseLine(line: Buffer): { time: Date & { nanos?: number }; stream: 'stdout' | 'stderr'; partial: boolean; data: Buffer } | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = line.indexOf(0x20, s1 + 1);
  const s3 = line.indexOf(0x20, s2 + 1);
  if (s1 < 0 || s2 < 0) return undefined;
  const stream = line.subarray(s1 + 1, s2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const flag = s3 < 0 ? line.subarray(s2 + 1).toString() : line.subarray(s2 + 1, s3).toString();
  return {
    time: parseTime(line.subarray(0, s1).toString()),
    stream,
    partial: flag === 'P',
    data: s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1),
  };
}

/** Offset of the first file line needed to show the last `n` complete log lines. */
async function tailOffset(fh: FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  let pos = size;
  let complete = 0;
  let carry = Buffer.alloc(0);
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, pos);
    carry = Buffer.concat([buf, carry]);
    // Walk lines from the end of what we have; the first (possibly cut) line stays in carry.
    let end = carry.length;
    if (carry[end - 1] === 0x0a) end--;
    for (;;) {
      const nl = carry.lastIndexOf(0x0a, end - 1);
      if (nl < 0) break;
      const parsed = parseLine(carry.subarray(nl + 1, end));
      if (parsed && !parsed.partial) {
        complete++;
        if (complete > n) return pos + nl + 1 + (end - nl - 1) + 1;
      }
      end = nl;
    }
    carry = carry.subarray(0, end);
  }
  return 0;
}

export async function* readLogs(path: string, opts: ReadLogOptions): AsyncGenerator<LogLine> {
  let fh: FileHandle | undefined;
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  let exited = false;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  opts.untilExit?.then(() => {
    exited = true;
    poke();
  }, () => {});
  opts.signal?.addEventListener('abort', poke);
  const sleep = () => new Promise<void>((r) => {
    wake = r;
    // A safety net for missed inotify events (e.g. the file appeared before the watch).
    setTimeout(poke, 1000).unref();
  });
  try {
    while (!fh) {
      try {
        fh = await fs.open(path, 'r');
      } catch {
        if (!opts.follow || exited || opts.signal?.aborted) return;
        await sleep();
      }
    }
    const size = (await fh.stat()).size;
    let pos = opts.tail !== undefined ? await tailOffset(fh, size, opts.tail) : 0;
    if (opts.follow) {
      watcher = watch(path, () => poke());
      watcher.on('error', () => {});
    }
    let carry = Buffer.alloc(0);
    let pending: { stream: 'stdout' | 'stderr'; time: LogLine['time']; parts: Buffer[] } | undefined;
    const buf = Buffer.alloc(CHUNK);
    let drainedAfterExit = false;
    for (;;) {
      if (opts.signal?.aborted) return;
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        carry = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : Buffer.from(buf.subarray(0, bytesRead));
        let start = 0;
        for (;;) {
          const nl = carry.indexOf(0x0a, start);
          if (nl < 0) break;
          const p = parseLine(carry.subarray(start, nl));
          start = nl + 1;
          if (!p) continue;
          if (pending && pending.stream !== p.stream) pending = undefined;
          if (p.partial) {
            if (pending) pending.parts.push(p.data);
            else pending = { stream: p.stream, time: p.time, parts: [p.data] };
            continue;
          }
          const data = Buffer.concat([...(pending?.parts ?? []), p.data, Buffer.from('\n')]);
          const time = pending?.time ?? p.time;
          pending = undefined;
          if (opts.since && time < opts.since) continue;
          if (opts.until && time > opts.until) return;
          yield { stream: p.stream, time, data };
        }
        carry = carry.subarray(start);
        continue;
      }
      // At the end of the file.
      if (!opts.follow) break;
      if (exited) {
        // conmon flushes the last output before the exit file appears; one more pass catches
        // anything written in between.
        if (drainedAfterExit) break;
        drainedAfterExit = true;
        continue;
      }
      await sleep();
    }
    if (pending) {
      const data = Buffer.concat(pending.parts);
      if (!(opts.since && pending.time < opts.since)) yield { stream: pending.stream, time: pending.time, data };
    }
  } finally {
    watcher?.close();
    await fh?.close();
  }
}
