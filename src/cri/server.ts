/**
 * The CRI's gRPC server: kubelet's and crictl's way into Berth, beside the Engine API, on a
 * unix socket of its own (`<exec-root>/cri.sock`). It holds no state: each call becomes calls
 * of the same services the Engine API uses, so an image pulled here is in `docker images`.
 *
 * Lifecycle: `listen(path)` once (a stale socket left by a dead daemon is replaced, a live one
 * refused) — or `accept(sock)` for each connection of a socket someone else listens on —, then
 * `close()` at shutdown, which cuts calls in flight (a pull stops and cleans up).
 * Errors leave through one place, `grpcCode` of errdefs, so a NotFound is NOT_FOUND whatever
 * the method; an RPC Berth does not serve yet answers UNIMPLEMENTED, saying so.
 *
 *   const cri = new CriServer({ runtime: runtimeHandlers(...), images: imageHandlers(...), log });
 *   await cri.listen('/run/berth/cri.sock');
 */
import { promises as fs } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { GrpcCode, grpcCode, messageOf, unavailable } from '../errdefs/index.ts';
import { AuthorityRewriter } from './authority.ts';
import { criDefinitions, CRI_PACKAGE } from './proto.ts';

/** A unary method: the decoded request in, the response out; `signal` fires if the caller leaves. */
export type UnaryHandler = (request: any, signal: AbortSignal) => Promise<object>;

/** The methods of one service that Berth serves; the others answer UNIMPLEMENTED. */
export type Handlers = Record<string, UnaryHandler>;

/** A server-streaming method: writes messages until it resolves, or until `signal` (the caller left). */
export type StreamHandler = (request: any, write: (msg: object) => void, signal: AbortSignal) => Promise<void>;

export interface CriLog {
  debug(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface CriServerOptions {
  runtime: Handlers;
  images: Handlers;
  /** The RuntimeService's server-streaming methods (GetContainerEvents). */
  runtimeStreams?: Record<string, StreamHandler>;
  log: CriLog;
  /** Group of the socket (as the Engine API's socket): root and its members may call. */
  socketGid?: number;
}

/** The message a caller sees for a method Berth does not serve yet. */
export function unimplementedMessage(method: string): string {
  return `${method} is not implemented by Berth yet: Berth's CRI does not serve it`;
}

export class CriServer {
  private readonly server = new Server({
    // Image lists and statuses of big nodes exceed gRPC's 4 MiB default; kubelet sends up to 16 MiB.
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });
  private readonly opts: CriServerOptions;
  private readonly calls = new Set<AbortController>();
  private readonly sockets = new Set<Socket>();
  private listener?: NetServer;
  private injector?: ReturnType<Server['createConnectionInjector']>;
  private path?: string;

  constructor(opts: CriServerOptions) {
    this.opts = opts;
    const def = criDefinitions();
    this.server.addService(
      def[`${CRI_PACKAGE}.RuntimeService`] as ServiceDefinition,
      this.implement('RuntimeService', opts.runtime, opts.runtimeStreams),
    );
    this.server.addService(
      def[`${CRI_PACKAGE}.ImageService`] as ServiceDefinition,
      this.implement('ImageService', opts.images),
    );
  }

  /** Every method of the service: the handlers given, UNIMPLEMENTED for the rest. */
  private implement(
    service: string,
    handlers: Handlers,
    streams: Record<string, StreamHandler> = {},
  ): UntypedServiceImplementation {
    const def = criDefinitions()[`${CRI_PACKAGE}.${service}`] as ServiceDefinition;
    const impl: UntypedServiceImplementation = {};
    for (const [method, m] of Object.entries(def)) {
      const handler = handlers[method];
      if (m.responseStream) {
        const stream = streams[method];
        impl[method] = (call: ServerWritableStream<unknown, unknown>) => {
          if (!stream) {
            call.emit('error', { code: GrpcCode.UNIMPLEMENTED, details: unimplementedMessage(method) });
            return;
          }
          const ac = new AbortController();
          this.calls.add(ac);
          call.on('cancelled', () => ac.abort(unavailable(`${method}: the caller went away`)));
          stream(call.request, (msg) => call.write(msg), ac.signal).then(
            () => {
              this.calls.delete(ac);
              if (!call.cancelled) call.end();
            },
            (err: unknown) => {
              this.calls.delete(ac);
              call.emit('error', { code: grpcCode(err), details: messageOf(err) });
            },
          );
        };
        continue;
      }
      impl[method] = (call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>) => {
        if (!handler) {
          done({ code: GrpcCode.UNIMPLEMENTED, details: unimplementedMessage(method) });
          return;
        }
        const ac = new AbortController();
        this.calls.add(ac);
        call.on('cancelled', () => ac.abort(unavailable(`${method}: the caller went away`)));
        const started = Date.now();
        handler(call.request, ac.signal).then(
          (res) => {
            this.calls.delete(ac);
            this.opts.log.debug(`cri: ${method} ok in ${Date.now() - started} ms`);
            done(null, res);
          },
          (err: unknown) => {
            this.calls.delete(ac);
            const code = grpcCode(err);
            const log = code === GrpcCode.INTERNAL ? this.opts.log.error : this.opts.log.debug;
            log.call(
              this.opts.log,
              `cri: ${method}: ${code === GrpcCode.INTERNAL ? ((err as Error)?.stack ?? err) : messageOf(err)}`,
            );
            done({ code, details: messageOf(err) });
          },
        );
      };
    }
    return impl;
  }

  /**
   * Serves a connection accepted elsewhere (berthd's socket, which loads the CRI only when its
   * first caller connects: src/daemon/cri.ts), as `listen`'s own are served.
   */
  accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
    // grpc-js gets its connections from here, through the :authority fix (authority.ts).
    this.injector ??= this.server.createConnectionInjector(ServerCredentials.createInsecure());
    this.injector.injectConnection(new AuthorityRewriter(sock));
  }

  async listen(path: string): Promise<void> {
    await fs.mkdir(dirname(path), { recursive: true });
    await removeStaleSocket(path);
    const listener = createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (err) => reject(unavailable(`listen on "${path}": ${err.message}`, err)));
      listener.listen(path, () => resolve());
    });
    this.listener = listener;
    this.path = path;
    // Whoever can call the CRI can run anything as root: the Engine API socket's rule.
    await fs.chmod(path, 0o660);
    if (this.opts.socketGid !== undefined) await fs.chown(path, 0, this.opts.socketGid);
  }

  /** Stops serving: calls in flight are cancelled, the socket removed. */
  async close(): Promise<void> {
    for (const ac of this.calls) ac.abort(unavailable('the daemon is shutting down'));
    this.listener?.close();
    for (const s of this.sockets) s.destroy();
    this.server.forceShutdown();
    if (this.path) await fs.rm(this.path, { force: true });
  }
}

/** A socket file left by a daemon that died is removed; a live one means another daemon serves it. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    await fs.stat(path);
  } catch {
    return;
  }
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw unavailable(`listen on "${path}": another daemon is already serving this socket`);
  await fs.rm(path, { force: true });
}
