/**
 * images: the image store and the work that makes or moves images without a registry —
 * import, save, load and the offline bootstrap of busybox and Debian.
 */
export { ImageStore, refKey, type Image, type KnownBlob } from './store.ts';
export { CompressedLayers, type CompressedLayer, type LayerTar } from './compressed.ts';
export { bootstrap, bootstrapKind, DEBIAN_SUITES, type BootstrapDeps } from './bootstrap.ts';
export { importImage, type ImportOptions } from './import.ts';
export { applyChanges, parseInstructions } from './changes.ts';
export { commitImage, EMPTY_TAR_DIFF_ID, type CommitOptions } from './commit.ts';
export { saveImages, planSave, writeArchive, resolveSaveNames, type SavePlan, type SaveOptions } from './save.ts';
export { loadImages, DEFAULT_MAX_LOAD_BYTES, type LoadOptions, type LoadResult } from './load.ts';
export { readArchive } from './loadarchive.ts';
export { byteMeter, type Progress } from './progress.ts';
export { packImage, attachFile, loadSquashfs, checkSquashfs, META_DIR, type PackedMeta } from './fileimage.ts';
