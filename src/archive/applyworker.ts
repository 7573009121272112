/**
 * The worker thread of `applyLayerOffThread` (offthread.ts): runs `applyLayer` on the bytes
 * the parent posts, one layer at a time, and asks the parent to make device nodes and set
 * xattrs (its host). Tells the parent as it takes the bytes, so the parent posts no more than
 * a few mebibytes ahead.
 */
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import type { SpecialFiles } from '../host/index.ts';
import { applyLayer } from './apply.ts';
import { fromWire, toWire, type FromWorker, type ToWorker } from './offthread.ts';

const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);

let source: Readable | undefined;
/** The job `source` belongs to: messages of an earlier one are dropped. */
let current = 0;
/** Bytes pushed while the stream's buffer was full: reported taken when it reads again. */
let held = 0;
const calls = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
let nextCall = 0;

const call = (op: 'mknod' | 'setxattr', args: unknown[]) =>
  new Promise<void>((resolve, reject) => {
    const id = nextCall++;
    calls.set(id, { resolve, reject });
    send({ type: 'call', job: current, call: id, op, args });
  });

const host: SpecialFiles = {
  mknod: (...args) => call('mknod', args),
  setxattr: (...args) => call('setxattr', args),
};

function start(job: number, root: string, opts: Extract<ToWorker, { type: 'start' }>['opts']): void {
  held = 0;
  current = job;
  const s = new Readable({
    highWaterMark: 4 << 20,
    read() {
      if (held > 0) send({ type: 'taken', job, bytes: held });
      held = 0;
    },
  });
  // applyLayer hears the stream's errors while it reads; one after it has settled goes nowhere.
  s.on('error', () => {});
  source = s;
  // This thread does nothing else: a file's data is written straight, not handed to the pool.
  applyLayer(s, root, { ...opts, host, blockingWrites: true }).then(
    (result) => send({ type: 'done', job, result }),
    (e: unknown) => send({ type: 'failed', job, error: toWire(e) }),
  );
}

port.on('message', (m: ToWorker) => {
  if (m.type !== 'reply' && m.type !== 'start' && (m.job !== current || !source || source.destroyed)) return;
  switch (m.type) {
    case 'start':
      return start(m.job, m.root, m.opts);
    case 'chunk': {
      if (source!.readableEnded) return;
      const bytes = m.data.byteLength;
      if (source!.push(Buffer.from(m.data))) send({ type: 'taken', job: current, bytes });
      else held += bytes;
      return;
    }
    case 'end':
      source!.push(null);
      return;
    case 'abort':
      source!.destroy(fromWire(m.error));
      return;
    case 'reply': {
      const c = calls.get(m.call);
      calls.delete(m.call);
      if (m.error) c?.reject(fromWire(m.error));
      else c?.resolve();
      return;
    }
  }
});
