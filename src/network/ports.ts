/**
 * Published ports through a userland proxy in the daemon: one listening socket per binding on
 * the host address (all of them by default, so the port answers on the host's own addresses
 * and on loopback), forwarding to the container's address. TCP is spliced stream to stream;
 * UDP keeps one upstream socket per client address.
 *
 * Bindings are resolved (random host ports chosen) when the container starts, and kept in its
 * endpoint, so a daemon that restarts with live restore listens on the same ports again.
 */
import net from 'node:net';
import dgram from 'node:dgram';
import { conflict, invalidArgument } from '../errdefs/index.ts';

/** One published port, as `docker inspect` reports it. */
export interface PortMapping {
  /** e.g. 80 */
  containerPort: number;
  proto: 'tcp' | 'udp' | 'sctp';
  /** '0.0.0.0' for all addresses. */
  hostIp: string;
  hostPort: number;
}

/** What the user asked for: `HostConfig.PortBindings` plus `-P` over the exposed ports. */
export interface PortRequest {
  bindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>> | null;
  exposed?: Record<string, object> | null;
  publishAll?: boolean;
}

export function parsePortKey(key: string): { port: number; proto: 'tcp' | 'udp' | 'sctp' } {
  const [p, proto = 'tcp'] = key.split('/');
  const port = Number(p);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !['tcp', 'udp', 'sctp'].includes(proto))
    throw invalidArgument(`invalid port specification: "${key}"`);
  return { port, proto: proto as 'tcp' | 'udp' | 'sctp' };
}

interface Listener {
  close(): void;
}

/**
 * Makes a port the proxy listens on reachable from outside berthd's network namespace (rootless
 * berthd: rootlesskit's port driver, see rootlesskit.ts). Returns what takes it away again.
 */
export interface PortExposer {
  expose(proto: 'tcp' | 'udp', hostIp: string, port: number): Promise<() => void>;
}

export class PortProxies {
  private readonly exposer?: PortExposer;

  constructor(exposer?: PortExposer) {
    this.exposer = exposer;
  }

  /** Open listeners by container ID. */
  private readonly open = new Map<string, Listener[]>();
  /** Host ports this daemon holds, `proto/ip/port`, for Docker's "already allocated". */
  private readonly held = new Map<string, string>();

  /**
   * Listens for every binding the request asks for and forwards to `targetIp`. `previous`:
   * the mappings of an earlier run to take again as they were (live restore). On an error
   * nothing stays open.
   */
  async publish(
    containerId: string,
    endpoint: string,
    targetIp: string,
    req: PortRequest,
    previous?: PortMapping[],
  ): Promise<PortMapping[]> {
    const wanted: Array<{ key: string; hostIp: string; hostPorts: number[] }> = [];
    if (previous) {
      for (const m of previous)
        wanted.push({ key: `${m.containerPort}/${m.proto}`, hostIp: m.hostIp, hostPorts: [m.hostPort] });
    } else {
      for (const [key, list] of Object.entries(req.bindings ?? {})) {
        for (const b of list?.length ? list : [{}])
          wanted.push({ key, hostIp: b.HostIp || '0.0.0.0', hostPorts: hostPortRange(b.HostPort ?? '') });
      }
      if (req.publishAll) {
        for (const key of Object.keys(req.exposed ?? {})) {
          if (!req.bindings?.[key]) wanted.push({ key, hostIp: '0.0.0.0', hostPorts: [0] });
        }
      }
    }
    if (previous && this.open.has(containerId)) return previous;
    const out: PortMapping[] = [];
    const listeners: Listener[] = [];
    const heldKeys: string[] = [];
    try {
      for (const w of wanted) {
        const { port, proto } = parsePortKey(w.key);
        if (proto === 'sctp') throw invalidArgument('sctp ports are not supported');
        let lastErr: Error | undefined;
        let bound: { l: Listener; port: number } | undefined;
        for (const hp of w.hostPorts) {
          if (hp && this.isHeld(proto, w.hostIp, hp)) {
            lastErr = conflict(
              `driver failed programming external connectivity on endpoint ${endpoint}: Bind for ${w.hostIp}:${hp} failed: port is already allocated`,
            );
            continue;
          }
          try {
            bound =
              proto === 'tcp'
                ? await listenTcp(w.hostIp, hp, targetIp, port)
                : await listenUdp(w.hostIp, hp, targetIp, port);
            break;
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            lastErr =
              code === 'EADDRINUSE'
                ? conflict(
                    `driver failed programming external connectivity on endpoint ${endpoint}: Error starting userland proxy: listen ${proto}4 ${w.hostIp}:${hp}: bind: address already in use`,
                  )
                : code === 'EADDRNOTAVAIL'
                  ? invalidArgument(
                      `driver failed programming external connectivity on endpoint ${endpoint}: Error starting userland proxy: listen ${proto}4 ${w.hostIp}:${hp}: bind: cannot assign requested address`,
                    )
                  : (e as Error);
          }
        }
        if (!bound) throw lastErr ?? conflict('no free host port in the range');
        listeners.push(bound.l);
        if (this.exposer) listeners.push({ close: await this.exposer.expose(proto, w.hostIp, bound.port) });
        const hk = `${proto}/${w.hostIp}/${bound.port}`;
        this.held.set(hk, containerId);
        heldKeys.push(hk);
        out.push({ containerPort: port, proto, hostIp: w.hostIp, hostPort: bound.port });
      }
    } catch (e) {
      for (const l of listeners) l.close();
      for (const k of heldKeys) this.held.delete(k);
      throw e;
    }
    this.open.set(containerId, [...(this.open.get(containerId) ?? []), ...listeners]);
    return out;
  }

  private isHeld(proto: string, ip: string, port: number): boolean {
    for (const k of this.held.keys()) {
      const [p, hip, hp] = k.split('/');
      if (p === proto && Number(hp) === port && (hip === ip || hip === '0.0.0.0' || ip === '0.0.0.0')) return true;
    }
    return false;
  }

  unpublish(containerId: string): void {
    for (const l of this.open.get(containerId) ?? []) l.close();
    this.open.delete(containerId);
    for (const [k, owner] of this.held) if (owner === containerId) this.held.delete(k);
  }

  closeAll(): void {
    for (const id of [...this.open.keys()]) this.unpublish(id);
  }
}

/** "8080" → [8080]; "8080-8090" → each; "" → [0] (any free port). */
function hostPortRange(s: string): number[] {
  if (!s) return [0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw invalidArgument(`invalid hostPort: ${s}`);
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  if (a < 0 || b > 65535 || b < a) throw invalidArgument(`invalid hostPort: ${s}`);
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

function listenTcp(
  hostIp: string,
  hostPort: number,
  targetIp: string,
  targetPort: number,
): Promise<{ l: Listener; port: number }> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    // Half-open both ways: a client that shuts down its sending side still gets the answer.
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ host: targetIp, port: targetPort, allowHalfOpen: true });
      sockets.add(client).add(upstream);
      const done = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', done).on('close', done);
      upstream.on('error', done).on('close', done);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    server.once('error', reject);
    server.listen({ host: hostIp, port: hostPort, exclusive: true }, () => {
      server.removeListener('error', reject);
      server.on('error', () => {});
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        l: {
          close: () => {
            server.close();
            for (const s of sockets) s.destroy();
          },
        },
      });
    });
  });
}

function listenUdp(
  hostIp: string,
  hostPort: number,
  targetIp: string,
  targetPort: number,
): Promise<{ l: Listener; port: number }> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    const flows = new Map<string, { s: dgram.Socket; timer: NodeJS.Timeout }>();
    const IDLE_MS = 30_000;
    sock.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      let f = flows.get(key);
      if (!f) {
        const s = dgram.createSocket('udp4');
        s.on('message', (reply) => sock.send(reply, rinfo.port, rinfo.address));
        s.on('error', () => {});
        f = { s, timer: setTimeout(() => {}, 0) };
        flows.set(key, f);
      }
      clearTimeout(f.timer);
      const flow = f;
      f.timer = setTimeout(() => {
        flow.s.close();
        flows.delete(key);
      }, IDLE_MS).unref();
      f.s.send(msg, targetPort, targetIp);
    });
    sock.once('error', reject);
    sock.bind({ address: hostIp, port: hostPort, exclusive: true }, () => {
      sock.removeListener('error', reject);
      sock.on('error', () => {});
      resolve({
        port: sock.address().port,
        l: {
          close: () => {
            sock.close();
            for (const f of flows.values()) {
              clearTimeout(f.timer);
              f.s.close();
            }
            flows.clear();
          },
        },
      });
    });
  });
}
