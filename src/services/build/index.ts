/** services/build: `docker build` on the legacy builder's model, with a persistent step cache. */
export { BuildService, type BuildServiceDeps, type BuildMessage } from './service.ts';
export { StepError, type BuildOptions, type PreparedBuild } from './step.ts';
export { BuildCache } from './cache.ts';
