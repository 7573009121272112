export { applyLayer, cleanEntryName, type ApplyOptions, type ApplyResult } from './apply.ts';
export { tarDirectory, type PackOptions } from './pack.ts';
export { decompressed, DEFAULT_MAX_LAYER_BYTES } from './compression.ts';
export { resolveInRoot, isInside } from './resolve.ts';
export { makeTar, type TarEntry } from './testing.ts';
