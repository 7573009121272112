/**
 * archive: secure tar apply and compute for container image layers on overlayfs.
 *
 * - `applyLayer` unpacks a (gzip/zstd/plain) layer into a directory, never writing outside it,
 *   honouring OCI whiteouts, and returns its diff ID; `applyLayerOffThread` does it on a worker
 *   thread (a pull's layers).
 * - `tarDirectory` packs a tree (`docker export`, a layer from a directory).
 * - `diffOverlayUpper` packs an overlay upperdir as an OCI layer (`docker commit`, the builder).
 * - `changes` lists what an upperdir changed (`docker diff`).
 * - `resolveInRoot` resolves a path inside a root as a chrooted process would.
 * - `peek` reads a stream's first bytes (to sniff its format) and gives the whole stream back.
 * - `packPath` and `extractTar` are the client's side: `berth cp` and build contexts.
 * - `IgnoreMatcher` reads `.dockerignore` (the CLI packing a context, the daemon receiving one).
 */
export { applyLayer, type ApplyOptions, type ApplyResult } from './apply.ts';
export { applyLayerOffThread, warmApplyThreads } from './offthread.ts';
export { tarDirectory, diffOverlayUpper, type PackOptions, type OverlayDiffOptions } from './pack.ts';
export { changes, lowerStat, ChangeKind, type Change } from './changes.ts';
export {
  decompressed,
  detectCompression,
  looksLikeArchive,
  parallelGzip,
  compressor,
  parseLayerCompression,
  sniff,
  ZSTD_DEFAULT_LEVEL,
  type LayerCompression,
  DEFAULT_MAX_LAYER_BYTES,
  type Compression,
} from './compression.ts';
export { cleanEntryName, isInside, WHITEOUT_PREFIX, WHITEOUT_OPAQUE } from './names.ts';
export { resolveInRoot } from './resolve.ts';
export { peek } from './peek.ts';
export { extractTar, packPath, singleFileTar, type PackPathOptions } from './local.ts';
export { IgnoreMatcher, readIgnoreFile, compilePattern, type IgnorePattern } from './dockerignore.ts';
export { goClean } from './pathclean.ts';
