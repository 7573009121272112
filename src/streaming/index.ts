/**
 * The CRI streaming server (exec, attach, port-forward) and the protocols its clients speak:
 * SPDY/3.1 with Kubernetes' `v4.channel.k8s.io` and `portforward.k8s.io` sub-protocols, and
 * WebSocket with `v5.channel.k8s.io` and the older channel protocols. It runs nothing itself:
 * a StreamingRuntime does. Engine layer, beside the registry's HTTP side.
 */
export {
  StreamingServer,
  checkExecRequest,
  checkAttachRequest,
  checkPortForwardRequest,
  type ExecRequest,
  type AttachRequest,
  type PortForwardRequest,
  type StreamingRuntime,
  type StreamingLog,
  type StreamingServerOptions,
} from './server.ts';
export type { AttachedStreams, StreamOptions } from './remotecommand.ts';
export type { TerminalSize } from './channels.ts';
