/** services/build: `docker build` on the legacy builder's model, with a persistent step cache. */
export {
  BuildService,
  StepError,
  type BuildServiceDeps,
  type BuildOptions,
  type BuildMessage,
  type PreparedBuild,
} from './service.ts';
export { BuildCache } from './cache.ts';
