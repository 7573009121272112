/**
 * The CRI streaming server: the HTTP endpoint whose URLs the CRI's Exec, Attach and
 * PortForward calls return (`http://127.0.0.1:<port>/exec/<token>` ...). kubelet — or crictl —
 * then connects there and upgrades the connection to SPDY/3.1 (`Upgrade: SPDY/3.1`, the
 * sub-protocol in `X-Stream-Protocol-Version`) or to a WebSocket (`Sec-WebSocket-Protocol`);
 * the token names the request the CRI call stored (requests.ts), used once.
 *
 * The server knows nothing of containers: a `StreamingRuntime` runs the command, attaches to
 * the container or connects the port. It listens on loopback by default, as kubelet's and
 * containerd's do: whoever reaches it holds a token only the CRI's caller was given.
 *
 *   const s = new StreamingServer({ runtime, log });
 *   await s.listen();                       // '127.0.0.1:0': a port of the kernel's choosing
 *   const url = s.exec({ containerId, cmd: ['sh'], stdin: true, stdout: true, stderr: false, tty: true });
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { invalidArgument, messageOf, unavailable } from '../errdefs/index.ts';
import { negotiate, SPDY_PORTFORWARD, SPDY_REMOTECOMMAND, WS_PORTFORWARD, WS_REMOTECOMMAND } from './channels.ts';
import { serveSpdyPortForward, serveWsPortForward, wsPorts } from './portforward.ts';
import {
  serveSpdyRemoteCommand,
  serveWsRemoteCommand,
  type AttachedStreams,
  type RemoteCommand,
  type StreamOptions,
} from './remotecommand.ts';
import { RequestCache } from './requests.ts';
import { SpdySession } from './spdy.ts';
import { acceptKey, offeredProtocols, WsConnection } from './websocket.ts';

export interface ExecRequest extends StreamOptions {
  containerId: string;
  cmd: string[];
}

export interface AttachRequest extends StreamOptions {
  containerId: string;
}

export interface PortForwardRequest {
  podSandboxId: string;
  ports: number[];
}

/** What the server needs of a runtime: the three things a client can stream to. */
export interface StreamingRuntime {
  /** Runs cmd in the container with these streams; the exit code. */
  exec(req: ExecRequest, io: AttachedStreams, signal: AbortSignal): Promise<number>;
  /** Joins the container's own streams until they end or the client leaves. */
  attach(req: AttachRequest, io: AttachedStreams, signal: AbortSignal): Promise<void>;
  /** Connects stream to port inside the sandbox's network namespace. */
  portForward(podSandboxId: string, port: number, stream: Duplex, signal: AbortSignal): Promise<void>;
}

export interface StreamingLog {
  debug(msg: string): void;
  warn(msg: string): void;
}

export interface StreamingServerOptions {
  runtime: StreamingRuntime;
  log: StreamingLog;
  /** `host:port` to listen on; default 127.0.0.1 and a free port. */
  address?: string;
}

type Pending =
  | { kind: 'exec'; req: ExecRequest }
  | { kind: 'attach'; req: AttachRequest }
  | { kind: 'portforward'; req: PortForwardRequest };

/** kubelet's checks of an exec or attach request, with its words. */
export function checkStreamOptions(o: StreamOptions): void {
  if (o.tty && o.stderr) throw invalidArgument('tty and stderr cannot both be true');
  if (!o.stdin && !o.stdout && !o.stderr) throw invalidArgument('one of stdin, stdout, or stderr must be set');
}

export function checkExecRequest(r: ExecRequest): void {
  if (!r.containerId) throw invalidArgument('missing required container_id');
  if (r.cmd.length === 0) throw invalidArgument('missing required cmd');
  checkStreamOptions(r);
}

export function checkAttachRequest(r: AttachRequest): void {
  if (!r.containerId) throw invalidArgument('missing required container_id');
  checkStreamOptions(r);
}

export function checkPortForwardRequest(r: PortForwardRequest): void {
  if (!r.podSandboxId) throw invalidArgument('missing required pod_sandbox_id');
  for (const p of r.ports)
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalidArgument(`invalid port "${p}": not 1-65535`);
}

/** A plain HTTP answer written on a socket that asked to upgrade and will not be. */
function refuse(socket: Duplex, status: number, reason: string, body: string, extra: string[] = []): void {
  socket.end(
    [
      `HTTP/1.1 ${status} ${reason}`,
      'Content-Type: text/plain; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      ...extra,
      '',
      body,
    ].join('\r\n'),
  );
}

export class StreamingServer {
  private readonly opts: StreamingServerOptions;
  private readonly pending = new RequestCache<Pending>();
  private readonly sockets = new Set<Socket>();
  private readonly http: Server;
  private base?: string;

  constructor(opts: StreamingServerOptions) {
    this.opts = opts;
    this.http = createServer((req, res) => {
      // Only upgrades are served; kubelet says the same to a plain request.
      res.writeHead(req.url && /^\/(exec|attach|portforward)\//.test(req.url) ? 400 : 404, {
        'Content-Type': 'text/plain; charset=utf-8',
      });
      res.end(
        res.statusCode === 400 ? 'unable to upgrade: missing upgrade headers in request\n' : '404 page not found\n',
      );
    });
    this.http.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      try {
        this.upgrade(req, socket, head);
      } catch (e) {
        this.opts.log.warn(`streaming: ${req.url}: ${messageOf(e)}`);
        socket.destroy();
      }
    });
  }

  async listen(): Promise<string> {
    const [host, port] = splitAddress(this.opts.address ?? '127.0.0.1:0');
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', (e) =>
        reject(unavailable(`streaming server: listen on ${host}:${port}: ${e.message}`, e)),
      );
      this.http.listen(port, host, () => resolve());
    });
    const a = this.http.address() as AddressInfo;
    this.base = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    return this.base;
  }

  /** The base URL, once listening. */
  get url(): string {
    if (!this.base) throw unavailable('the streaming server is not listening');
    return this.base;
  }

  exec(req: ExecRequest): string {
    checkExecRequest(req);
    return `${this.url}/exec/${this.pending.insert({ kind: 'exec', req })}`;
  }

  attach(req: AttachRequest): string {
    checkAttachRequest(req);
    return `${this.url}/attach/${this.pending.insert({ kind: 'attach', req })}`;
  }

  portForward(req: PortForwardRequest): string {
    checkPortForwardRequest(req);
    return `${this.url}/portforward/${this.pending.insert({ kind: 'portforward', req })}`;
  }

  /** Stops listening and cuts every stream. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://streaming');
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    const p = m ? this.pending.consume(m[2]!) : undefined;
    if (!m || !p || p.kind !== m[1]) {
      refuse(socket, 404, 'Not Found', '404 page not found\n');
      return;
    }
    const how = String(req.headers.upgrade ?? '').toLowerCase();
    if (how === 'spdy/3.1') {
      const supported = p.kind === 'portforward' ? SPDY_PORTFORWARD : SPDY_REMOTECOMMAND;
      const offered = offeredProtocols(req.headers['x-stream-protocol-version']);
      const protocol = negotiate(offered, supported);
      if (!protocol) {
        refuse(
          socket,
          403,
          'Forbidden',
          `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offered)}, server accepts ${JSON.stringify(supported)}\n`,
          [`X-Accepted-Stream-Protocol-Versions: ${supported.join(', ')}`],
        );
        return;
      }
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n` +
          `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
      );
      const session = new SpdySession(socket, head);
      session.on('error', (e) => this.opts.log.debug(`streaming: ${m[1]}: spdy: ${messageOf(e)}`));
      this.opts.log.debug(`streaming: ${m[1]} over SPDY/3.1, ${protocol}`);
      if (p.kind === 'portforward')
        serveSpdyPortForward(session, p.req.podSandboxId, (port, s, sig) =>
          this.opts.runtime.portForward(p.req.podSandboxId, port, s, sig),
        );
      else void serveSpdyRemoteCommand(session, protocol, p.req, commandOf(this.opts.runtime, p));
      return;
    }

    if (how === 'websocket') {
      const key = req.headers['sec-websocket-key'];
      if (req.method !== 'GET' || typeof key !== 'string' || req.headers['sec-websocket-version'] !== '13') {
        refuse(
          socket,
          400,
          'Bad Request',
          'websocket: GET with Sec-WebSocket-Key and Sec-WebSocket-Version 13 needed\n',
        );
        return;
      }
      const supported = p.kind === 'portforward' ? WS_PORTFORWARD : WS_REMOTECOMMAND;
      const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
      const protocol = negotiate(offered, supported);
      if (!protocol) {
        refuse(
          socket,
          403,
          'Forbidden',
          `websocket: none of the requested protocols ${JSON.stringify(offered)} is supported\n`,
        );
        return;
      }
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
          (offered.length ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
          '\r\n',
      );
      const conn = new WsConnection(socket, head);
      conn.on('error', (e) => this.opts.log.debug(`streaming: ${m[1]}: websocket: ${messageOf(e)}`));
      this.opts.log.debug(`streaming: ${m[1]} over WebSocket, ${protocol}`);
      if (p.kind === 'portforward') {
        const ports = wsPorts(url.searchParams, p.req.ports);
        void serveWsPortForward(conn, protocol, p.req.podSandboxId, ports, (port, s, sig) =>
          this.opts.runtime.portForward(p.req.podSandboxId, port, s, sig),
        );
      } else void serveWsRemoteCommand(conn, protocol, p.req, commandOf(this.opts.runtime, p));
      return;
    }

    refuse(socket, 400, 'Bad Request', `unable to upgrade: unsupported upgrade "${req.headers.upgrade ?? ''}"\n`);
  }
}

/** Exec and attach as one kind of command: attach ends without an exit code of its own. */
function commandOf(rt: StreamingRuntime, p: Exclude<Pending, { kind: 'portforward' }>): RemoteCommand {
  if (p.kind === 'exec') return (io, signal) => rt.exec(p.req, io, signal);
  return async (io, signal) => {
    await rt.attach(p.req, io, signal);
    return undefined;
  };
}

function splitAddress(a: string): [string, number] {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(a);
  if (!m) throw invalidArgument(`streaming address "${a}": want host:port`);
  return [m[1]!, Number(m[2])];
}
