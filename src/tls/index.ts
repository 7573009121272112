/**
 * TLS for every listener and client Berth has: certificates and keys loaded and checked in one
 * place (load.ts), registry certificates by host in dockerd's certs.d layout (certsd.ts), file
 * mode warnings (modes.ts), and the HTTP(S) server the Engine API, berth-registry and the
 * dashboard share (server.ts).
 */
export {
  CIPHERS,
  MIN_VERSION,
  loadClientTls,
  loadServerTls,
  parseCertificates,
  readCa,
  readKeyPair,
  type ClientTls,
  type ClientTlsFiles,
  type ClientTlsOptions,
  type ServerTls,
  type ServerTlsFiles,
  type ServerTlsOptions,
} from './load.ts';
export { DEFAULT_CERTS_DIRS, registryCerts, trustedRoots, type RegistryCerts } from './certsd.ts';
export { fileProblems, fileWarnings, type FileFacts, type TrustedFile } from './modes.ts';
export { handshakeReason, httpServer, verifyReason } from './server.ts';
