/**
 * Small stream stages of the pull's data path: a byte counter, and a stage that gathers the
 * connection's small reads into large pieces.
 */
import { Transform } from 'node:stream';

/** A byte counter that reports as the bytes pass. */
export function counting(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

/**
 * Passes the bytes on in pieces of at least `size` (the last may be shorter). A socket reads
 * 64 KiB at a time; every piece that goes on to gunzip or to a file write is a hand-over to
 * libuv's thread pool, and on a busy machine each hand-over can cost the event loop its turn
 * on a core: 1 MiB pieces make a 64 MiB layer 64 hand-overs per stage instead of 1000.
 */
export function coalescing(size = 1 << 20): Transform {
  let parts: Buffer[] = [];
  let held = 0;
  const take = () => {
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
    parts = [];
    held = 0;
    return out;
  };
  return new Transform({
    highWaterMark: size,
    transform(chunk: Buffer, _e, cb) {
      parts.push(chunk);
      held += chunk.length;
      cb(null, held >= size ? take() : undefined);
    },
    flush(cb) {
      cb(null, held > 0 ? take() : undefined);
    },
  });
}
