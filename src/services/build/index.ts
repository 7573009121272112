/** services/build: `docker build` on the legacy builder's model, with a persistent step cache. */
export {
  BuildService,
  type BuildServiceDeps,
  type BuildOptions,
  type BuildMessage,
  type PreparedBuild,
} from './service.ts';
export { StepError } from './step.ts';
export { BuildCache } from './cache.ts';
