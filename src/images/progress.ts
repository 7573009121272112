/**
 * Progress of long image work (import, load, bootstrap), in the shape of Docker's JSON
 * messages so the API can stream them as they are and the `docker` CLI draws its own bars:
 * `status` + `id` + `progressDetail` for a progress line, `stream` for plain output text.
 */
import type { JsonMessage } from '../api/types/index.ts';

export type Progress = (msg: JsonMessage) => void;

/**
 * Calls `emit` at most once per `step` bytes, and always for the last count, never for zero
 * (the CLI prints a zero-byte progress line as text even when it is not a terminal).
 */
export function byteMeter(step: number, emit: (current: number) => void): { add(n: number): void; done(): void } {
  let current = 0;
  let last = -1;
  return {
    add(n: number) {
      current += n;
      if (current > 0 && (current - last >= step || last < 0)) {
        last = current;
        emit(current);
      }
    },
    done() {
      if (current > 0 && last !== current) {
        last = current;
        emit(current);
      }
    },
  };
}
