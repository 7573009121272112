export { ImageStore, refKey, type Image } from './store.ts';
export { bootstrap, type BootstrapDeps, type Progress } from './bootstrap.ts';
export { importImage, applyChanges, type ImportOptions } from './import.ts';
export { saveImages, loadImages } from './transfer.ts';
