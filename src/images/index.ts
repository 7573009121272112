export { ImageStore, refKey, type Image } from './store.ts';
