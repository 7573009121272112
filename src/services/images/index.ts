/** The image service: images, pull and push, import/save/load, and how an image is shown. */
export { ImageService, type ImageUsage } from './service.ts';
export { imageSummary, matchLabel, normaliseRunConfig } from './views.ts';
export { parsePlatform, type PullResult } from './pull.ts';
export type { FsUsage } from './fsusage.ts';
export type { PushPlan } from './push.ts';
export { searchImages, searchIndex, type SearchResult } from './search.ts';
