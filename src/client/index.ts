/**
 * The Engine API client: `EngineClient` (typed calls over a unix socket or TCP, version
 * negotiation, hijacked attach/exec), Docker's stream formats (`demux` for multiplexed output,
 * `jsonValues`/`progressMessages` for JSON progress), and the API types of `api/types/`.
 */
export { EngineClient, CLIENT_API_VERSION, FALLBACK_API_VERSION } from './client.ts';
export { compareVersions, encodeAuth, encodeFilters, encodeQuery, readAll } from './wire.ts';
export type { ClientOptions, HijackedStream, PingResult, Query, RequestOpts, Body } from './client.ts';
export type { WaitHandle } from './containers.ts';
export type { BuildOptions } from './images.ts';
export type { StreamedEvent } from './system.ts';
export { ApiError, ConnectionError, StreamError, errorMessage, isConflict, isNotFound } from './errors.ts';
export { DEFAULT_HOST, DEFAULT_TLS_HOST, parseHost, resolveHost, type Endpoint } from './host.ts';
export { clientTlsFiles, type TlsFlags } from './tls.ts';
export { socketVersionMemory, versionMemoryFile, type ApiVersionMemory } from './versionmemory.ts';
export { dockerConfigDir, dockerContext, type ContextChoice, type ContextEndpoint } from './context.ts';
export { demux, demuxTo, encodeFrame, STDIN, STDOUT, STDERR, SYSTEMERR, type Frame, type Sink } from './stdcopy.ts';
export { jsonValues, messageError, progressMessages } from './jsonstream.ts';
export type * from '../api/types/index.ts';
export { displayablePorts, statsText } from './display.ts';
export { statsRow, type StatsRow } from '../api/types/index.ts';
