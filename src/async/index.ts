/**
 * Small helpers for asynchronous code, one per file (deno std's `async/`): this file only
 * re-exports them. Base layer: imports nothing of Berth's.
 */
export { KeyedLock } from './keyed-lock.ts';
export { delay } from './delay.ts';
