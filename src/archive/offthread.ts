/**
 * `applyLayer` on a thread of its own: a pull's gunzip callbacks, the diff ID's sha256, the tar
 * parse and the file writes run in a worker thread (applyworker.ts), so a pull is two threads
 * of JavaScript rather than one, and on a loaded machine the event loop — HTTP, the blob's
 * digest, progress — no longer waits behind the unpacking (issue 17: pull at ≤ 0.7× dockerd).
 *
 * The caller's stream is read here and its bytes posted to the worker (copied into buffers the
 * worker then owns), at most `IN_FLIGHT` bytes ahead of what the unpacker has taken. Device
 * nodes and xattrs are made through the caller's `host` (the one seam to the kernel, a fake in
 * tests): the worker asks, this side answers. Everything `applyLayer` guarantees holds, since it
 * is `applyLayer` that runs there; its errors come back with their category and message.
 *
 * Threads are kept in a small pool: started on demand (or ahead, `warmApplyThreads`, while a
 * pull fetches its manifest), one layer at a time each, and ended after `IDLE_MS` unused. An
 * idle thread does not keep the process alive; a busy one does.
 */
import { existsSync } from 'node:fs';
import { finished, type Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { BerthError, internal, type Category } from '../errdefs/index.ts';
import type { ApplyOptions, ApplyResult } from './apply.ts';

/** Bytes posted to the worker and not yet taken by its unpacker. */
const IN_FLIGHT = 8 << 20;
/** An idle thread ends after this long (the next pull starts one again in ~50 ms). */
const IDLE_MS = 60_000;
/** Threads kept idle at most (dockerd unpacks one layer at a time per pull). */
const MAX_IDLE = 2;

/** An error as it crosses between threads: its category (or errno fields) and message. */
export interface WireError {
  message: string;
  category?: Category;
  code?: string;
  syscall?: string;
  errno?: number;
}

/** What the worker is sent. `chunk`'s buffer is transferred. */
export type ToWorker =
  | { type: 'start'; job: number; root: string; opts: Omit<ApplyOptions, 'host'> }
  | { type: 'chunk'; job: number; data: ArrayBuffer }
  | { type: 'end'; job: number }
  | { type: 'abort'; job: number; error: WireError }
  | { type: 'reply'; call: number; error?: WireError };

/**
 * What the worker sends: `taken` bytes handed to the unpacker, a host call, the result. Each
 * names its job: a message of a job already settled (it crossed its end) is not the next one's.
 */
export type FromWorker =
  | { type: 'taken'; job: number; bytes: number }
  | { type: 'call'; job: number; call: number; op: 'mknod' | 'setxattr'; args: unknown[] }
  | { type: 'done'; job: number; result: ApplyResult }
  | { type: 'failed'; job: number; error: WireError };

export function toWire(e: unknown): WireError {
  const err = e as NodeJS.ErrnoException;
  const out: WireError = { message: err?.message ?? String(e) };
  if (e instanceof BerthError) out.category = e.category;
  if (typeof err?.code === 'string') out.code = err.code;
  if (typeof err?.syscall === 'string') out.syscall = err.syscall;
  if (typeof err?.errno === 'number') out.errno = err.errno;
  return out;
}

export function fromWire(w: WireError): Error {
  if (w.category) return new BerthError(w.category, w.message);
  return Object.assign(new Error(w.message), {
    ...(w.code ? { code: w.code } : {}),
    ...(w.syscall ? { syscall: w.syscall } : {}),
    ...(w.errno !== undefined ? { errno: w.errno } : {}),
  });
}

const idle: Array<{ worker: Worker; timer: NodeJS.Timeout }> = [];
let jobs = 0;

/**
 * The worker's module: beside this file when berthd runs from its sources; when it runs from
 * its bundle (build/berthd/, see daemon/boot.js), the sources' copy, two levels up.
 */
function workerModule(): URL {
  const beside = new URL('./applyworker.ts', import.meta.url);
  return existsSync(beside) ? beside : new URL('../../src/archive/applyworker.ts', import.meta.url);
}

function spawn(): Worker {
  const w = new Worker(workerModule());
  // An unexpected end while idle: it is simply not reused.
  // A thread that ends while idle (it should not) is dropped from the pool, not handed out.
  w.on('error', () => {});
  w.on('exit', () => {
    const i = idle.findIndex((x) => x.worker === w);
    if (i >= 0) {
      clearTimeout(idle[i]!.timer);
      idle.splice(i, 1);
    }
  });
  w.unref();
  return w;
}

function take(): Worker {
  const kept = idle.pop();
  if (!kept) return spawn();
  clearTimeout(kept.timer);
  return kept.worker;
}

function giveBack(w: Worker): void {
  w.removeAllListeners('message');
  w.unref();
  if (idle.length >= MAX_IDLE) {
    void w.terminate();
    return;
  }
  const timer = setTimeout(() => {
    const i = idle.findIndex((x) => x.worker === w);
    if (i >= 0) idle.splice(i, 1);
    void w.terminate();
  }, IDLE_MS);
  timer.unref();
  idle.push({ worker: w, timer });
}

/** Starts a thread ahead of a layer that will need one (a pull about to fetch its layers). */
export function warmApplyThreads(): void {
  if (idle.length === 0) giveBack(spawn());
}

/**
 * `applyLayer(source, root, opts)` with the work done on a worker thread; the same result,
 * the same errors (category and message), the same guarantees. `source` is destroyed when
 * the unpacking fails.
 */
export function applyLayerOffThread(source: Readable, root: string, opts: ApplyOptions): Promise<ApplyResult> {
  const { host, ...rest } = opts;
  const worker = take();
  worker.ref();
  const job = ++jobs;
  return new Promise<ApplyResult>((resolve, reject) => {
    let inFlight = 0;
    let settled = false;
    let sourceDone = false;
    const post = (m: ToWorker, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer);
    const finish = (err: Error | undefined, result?: ApplyResult) => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.off('end', onEnd);
      stopWatching();
      worker.off('exit', onExit);
      if (err) {
        source.destroy();
        reject(err);
      } else resolve(result!);
    };
    const onData = (chunk: Buffer) => {
      // A copy the worker owns (the chunk may be a view into a buffer still in use here, a
      // file write of the same bytes, say), in memory of its own and not zero-filled first.
      const copy = Buffer.allocUnsafeSlow(chunk.length);
      chunk.copy(copy);
      const data = copy.buffer as ArrayBuffer;
      post({ type: 'chunk', job, data }, [data]);
      inFlight += chunk.length;
      if (inFlight >= IN_FLIGHT) source.pause();
    };
    const onEnd = () => {
      sourceDone = true;
      post({ type: 'end', job });
    };
    // An error after the end (a stream destroyed once done) changes nothing of what was read.
    const onError = (e: Error) => {
      if (sourceDone) return;
      sourceDone = true;
      post({ type: 'abort', job, error: toWire(e) });
    };
    let stopWatching = () => {};
    const onExit = (code: number) => finish(internal(`apply layer: the unpacking thread ended (exit code ${code})`));
    worker.on('message', (m: FromWorker) => {
      if (m.job !== job) return;
      switch (m.type) {
        case 'taken':
          inFlight -= m.bytes;
          if (inFlight < IN_FLIGHT / 2 && source.isPaused() && !sourceDone) source.resume();
          return;
        case 'call': {
          const op =
            m.op === 'mknod'
              ? host.mknod(...(m.args as Parameters<typeof host.mknod>))
              : host.setxattr(...(m.args as Parameters<typeof host.setxattr>));
          op.then(
            () => post({ type: 'reply', call: m.call }),
            (e: unknown) => post({ type: 'reply', call: m.call, error: toWire(e) }),
          );
          return;
        }
        case 'done':
          giveBack(worker);
          finish(undefined, m.result);
          return;
        case 'failed':
          // applyLayer settled all of its own work before failing: the thread is reusable.
          giveBack(worker);
          finish(fromWire(m.error));
          return;
      }
    });
    worker.once('exit', onExit);
    post({ type: 'start', job, root, opts: rest });
    source.on('data', onData);
    source.once('end', onEnd);
    // `finished` rather than 'error'/'close' listeners: it also reports a source that failed or
    // closed before it was handed here (a layer downloaded ahead whose connection dropped while
    // the layer before it was unpacking), which emits nothing more — the unpacking waited forever.
    stopWatching = finished(source, { writable: false }, (err) => {
      if (err) onError(err);
    });
  });
}
