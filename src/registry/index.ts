/**
 * registry: the distribution-spec client that pull and push use (endpoint choice, token and
 * basic auth, verified blob streams, uploads and cross-repository mounts).
 */
export { RegistryClient, parseChallenge, repoScope, verified, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, type Credentials, type FetchedManifest } from './client.ts';
export { endpointFor, isInsecure, checkRegistryConfig, DOCKER_HUB, type Endpoint, type RegistryConfig } from './endpoint.ts';
export { choosePlatform, isIndex, parseImageManifest, schema2Manifest, MAX_LAYERS, type ImageManifest } from './manifest.ts';
export { startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from './fakeregistry.ts';
