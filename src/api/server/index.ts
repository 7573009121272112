/**
 * The Engine API server: one HTTP server per listen address (unix socket or TCP, TCP with TLS
 * when berthd has it), all sharing one router. Upgrade requests (attach, exec start) reach the
 * same handlers with the socket, so they can answer 101 and take the connection over.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { invalidArgument, unavailable } from '../../errdefs/index.ts';
import { httpServer, type ServerTls } from '../../tls/index.ts';
import type { Router } from './router.ts';

export {
  Router,
  API_VERSION,
  MIN_API_VERSION,
  compareVersions,
  type Request,
  type Response,
  type Handler,
  type StreamWriter,
} from './router.ts';

export interface Listener {
  address: string;
  server: Server;
  /** Connections taken over by attach/exec: the server no longer tracks them, close() ends them. */
  hijacked: Set<Duplex>;
}

export interface ListenOptions {
  /** Group of a unix socket (mode 0660). */
  socketGid?: number;
  /** TLS for a TCP address; a unix socket never has it (its file mode is its access control). */
  tls?: ServerTls;
  /** Hears each refused TLS handshake. */
  onRefused?: (message: string) => void;
}

export async function listen(router: Router, address: string, opts: ListenOptions = {}): Promise<Listener> {
  const url = new URL(address.includes('://') ? address : `unix://${address}`);
  const server = httpServer(
    // Headers up to Go's default 1 MiB, as dockerd takes them: X-Registry-Config with many
    // registries, and the build secrets' header, outgrow Node's 16 KiB.
    { keepAlive: true, requestTimeout: 0, headersTimeout: 60_000, maxHeaderSize: 1 << 20 },
    url.protocol === 'tcp:' ? opts.tls : undefined,
    (req, res) => {
      void router.handle(req, res);
    },
    opts.onRefused,
  );
  const hijacked = new Set<Duplex>();
  server.on('upgrade', (req, socket, head) => {
    hijacked.add(socket);
    socket.once('close', () => hijacked.delete(socket));
    void router.handle(req, undefined, socket, head);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  // Connections the kernel queues while the event loop is busy: Node's default of 511 refused
  // the rest at once (EAGAIN), and `docker stats` over a thousand containers, which connects
  // once a container, showed those as blank rows. Go's listeners (dockerd's) take the
  // kernel's somaxconn, 4096 here; the kernel caps whatever is asked at it.
  const backlog = 4096;
  if (url.protocol === 'unix:') {
    const path = url.pathname;
    await fs.mkdir(dirname(path), { recursive: true });
    await removeStaleSocket(path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path, backlog }, () => resolve());
    });
    // Only root and members of the socket's group may talk to the daemon.
    await fs.chmod(path, 0o660);
    if (opts.socketGid !== undefined) await fs.chown(path, 0, opts.socketGid);
  } else if (url.protocol === 'tcp:') {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: Number(url.port || 2375), host: url.hostname.replace(/^\[|\]$/g, ''), backlog }, () =>
        resolve(),
      );
    });
  } else {
    throw invalidArgument(`listen on "${address}": unsupported protocol ${url.protocol}`);
  }
  return { address, server, hijacked };
}

/**
 * A socket file left by a daemon that died is removed; a live one means another daemon runs.
 * Also berthd's CRI socket's (src/daemon/cri.ts).
 */
export async function removeStaleSocket(path: string): Promise<void> {
  try {
    await fs.stat(path);
  } catch {
    return;
  }
  const { connect } = await import('node:net');
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

export async function close(l: Listener): Promise<void> {
  await new Promise<void>((resolve) => {
    l.server.close(() => resolve());
    l.server.closeAllConnections();
    // A client that went away without closing its side of an attach (half-open) would
    // otherwise hold server.close() until the container ends.
    for (const s of l.hijacked) s.destroy();
  });
}
export { registerSystem, versionInfo, BERTH_VERSION, type SystemDeps } from './routes/system.ts';
export { registerImages } from './routes/images.ts';
export { registerContainers, type ContainerRouteDeps } from './routes/containers.ts';
export { registerExec } from './routes/exec.ts';
export { registerTransfer, type TransferDeps } from './routes/transfer.ts';
export { registerBuild } from './routes/build.ts';
export { registerVolumes } from './routes/volumes.ts';
export { registerNetworks } from './routes/networks.ts';
export { registerSwarm, registerPlugins } from './routes/swarm.ts';
export { registerPods } from './routes/pods.ts';
export { registerLibpod } from './routes/libpod.ts';
export { registerLibpodEvents } from './routes/libpod-events.ts';
