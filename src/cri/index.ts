/**
 * The Kubernetes Container Runtime Interface (CRI v1): a gRPC front end beside the Engine API,
 * at the daemon layer. It owns no state; its calls are the services' calls.
 */
export { CriServer, unimplementedMessage, type CriLog, type CriServerOptions, type Handlers } from './server.ts';
export { runtimeHandlers, type RuntimeDeps } from './runtime.ts';
export { imageHandlers, sandboxImageSource, type ImageDeps } from './images.ts';
export { criDefinitions, CRI_PACKAGE, PROTO_FILE } from './proto.ts';
export { streamingHandlers } from './streaming.ts';
export { execSyncHandlers, EXEC_SYNC_OUTPUT_LIMIT } from './execsync.ts';
export { execRuntime } from './exec.ts';
export { CriPods, podHandlers, type PodDeps } from './pods.ts';
export { statsHandlers, eventsHandler } from './stats.ts';
export { ownOomScoreAdj } from './oom.ts';
