/**
 * File system helpers shared by the stores, the engine and the services, one per file (deno
 * std's `fs/`): this file only re-exports them. Base layer: imports nothing of Berth's.
 */
export { directorySize } from './size.ts';
export { pathExists } from './exists.ts';
export { openFifoWriter, type FifoRefusal } from './fifo.ts';
export { removeFile, removeTree } from './remove.ts';
