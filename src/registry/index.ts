/** The registry: the distribution server (berth-registry) and the client pull/push use. */

// Client side: endpoints, auth, manifests and blobs for pull and push (the fake registry for tests is in testing.ts).
export {
  RegistryClient,
  parseChallenge,
  repoScope,
  verified,
  MANIFEST_ACCEPT,
  type Credentials,
  type FetchedManifest,
} from './client.ts';
export {
  endpointFor,
  isInsecure,
  checkRegistryConfig,
  DOCKER_HUB,
  type Endpoint,
  type EndpointTls,
  type RegistryConfig,
} from './endpoint.ts';
// Per-registry hosts (mirrors, plain HTTP, certificates): containerd's hosts.toml, registries.conf.
export { registryHosts, allRegistryHosts, checkRegistryFiles, type RegistryHost, type ImageName } from './mirrors.ts';
export { parseHostsToml, readHostsDirs, type HostEntry, type Capability } from './hosts.ts';
export { parseRegistriesConf, matchRule, type RegistryRule, type MirrorRule } from './registriesconf.ts';
export {
  choosePlatform,
  isIndex,
  parseImageManifest,
  schema2Manifest,
  MAX_LAYERS,
  type ImageManifest,
} from './manifest.ts';

// Server side: the distribution API, its storage, and htpasswd Basic auth (registry:2's scheme).
export { RegistryServer, silentLogger, type RegistryLogger, type RegistryServerOptions } from './server.ts';
export { createRegistryHandler, type HandlerOptions } from './handler.ts';
export { RegistryStorage, type StorageOptions } from './storage.ts';
export { MAX_MANIFEST_BYTES } from './manifests.ts';
export { Htpasswd, parseHtpasswd, parseBasic, type HtpasswdOptions } from './htpasswd.ts';
export { acquireRootLock, acquireGcLock, ROOT_LOCK_FILE, GC_LOCK_FILE, type RootLock } from './rootlock.ts';
export {
  Notifier,
  EVENTS_MEDIA_TYPE,
  type RegistryEvent,
  type EventAction,
  type EventTarget,
} from './notifications.ts';
export { collectGarbage, type GcOptions, type GcReport } from './gc.ts';
export {
  parseRegistryConfig,
  parseGoDuration,
  type RegistryFileConfig,
  type NotificationEndpoint,
  type UploadPurging,
} from './config.ts';
export { RegistryError, ErrorCodes, type ErrorCode } from './errors.ts';
