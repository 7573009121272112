/** The registry: the distribution server (server side below) and the client pull/push use. */

// Server side: the distribution API and its storage.
export { RegistryServer, createRegistryHandler, silentLogger, type RegistryLogger, type RegistryServerOptions } from './server.ts';
export { RegistryStorage, MAX_MANIFEST_BYTES, type StorageOptions } from './storage.ts';
export { RegistryError, ErrorCodes, type ErrorCode } from './errors.ts';
