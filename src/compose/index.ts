/**
 * Compose built into Berth: load a project (files, .env, interpolation, profiles, merge,
 * validation) into an immutable model, map services to Engine API requests with docker
 * compose v2's labels and names, and run the project's lifecycle through `client/`.
 * The `berth compose` commands (src/cli/compose.ts) sit on top and do the printing.
 */
export {
  ComposeError,
  type Project,
  type Service,
  type NetworkConfig,
  type VolumeConfig,
  type PortConfig,
  type ServiceVolume,
} from './model.ts';
export {
  DEFAULT_FILES,
  NoConfigError,
  emptyProject,
  loadProject,
  normalizeProjectName,
  parseProject,
  type LoadOptions,
} from './load.ts';
export { type SourceFile } from './schema.ts';
export { parsePort, parseVolume } from './normalize.ts';
export { mergeService } from './merge.ts';
export { interpolate, parseEnvFile, InterpolationError } from './interpolate.ts';
export { dependencyOrder, withDependencies } from './graph.ts';
export {
  COMPOSE_VERSION,
  L as LABELS,
  configHash,
  containerLabels,
  containerName,
  createRequest,
  imageName,
  networkRequest,
  replicas,
  volumeRequest,
} from './convert.ts';
export {
  ComposeEngine,
  nameOf,
  num as containerNumber,
  serviceOf,
  splitImage,
  type Builder,
  type DownOptions,
  type Reporter,
  type Resource,
  type UpOptions,
} from './engine.ts';
export { parseBytes, parseDuration, splitShell } from './units.ts';
