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
import { PortAllocator, ephemeralRange, type PortRange } from './portalloc.ts';

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

/** How many ports an ephemeral binding tries when the bind itself fails (another program holds it). */
const EPHEMERAL_TRIES = 100;

/** What one binding asks for: `bothFamilies` when no host address was given (`-p 8081`, `-P`). */
interface Wanted {
  key: string;
  hostIp: string;
  /** [0]: a port from the ephemeral range. */
  hostPorts: number[];
  bothFamilies: boolean;
}

export interface PortProxiesOptions {
  /** The ephemeral range (default: the kernel's). */
  range?: PortRange;
  /** Whether this host can listen on IPv6 (default: a probe on ::1, once). */
  ipv6?: () => Promise<boolean>;
}

export class PortProxies {
  private readonly exposer?: PortExposer;
  private readonly alloc: PortAllocator;
  private readonly ipv6: () => Promise<boolean>;

  constructor(exposer?: PortExposer, o: PortProxiesOptions = {}) {
    this.exposer = exposer;
    this.alloc = new PortAllocator(o.range ?? ephemeralRange());
    this.ipv6 = o.ipv6 ?? ipv6Listenable;
  }

  /** Open listeners by container ID. */
  private readonly open = new Map<string, Listener[]>();
  /** Host ports this daemon holds, `proto/ip/port`, for Docker's "already allocated". */
  private readonly held = new Map<string, string>();

  /**
   * Listens for every binding the request asks for and forwards to `targetIp`. A binding without
   * a host address listens on 0.0.0.0 and, where the host has IPv6, on [::] with the same port
   * (two mappings, as dockerd's docker-proxy pair: `docker port` prints both); an explicit
   * address, 0.0.0.0 included, only there. `previous`: the mappings of an earlier run to take
   * again as they were (live restore). On an error nothing stays open.
   */
  async publish(
    containerId: string,
    endpoint: string,
    targetIp: string,
    req: PortRequest,
    previous?: PortMapping[],
  ): Promise<PortMapping[]> {
    const wanted: Wanted[] = [];
    // Rootless berthd: the exposer (rootlesskit's port driver) is asked for IPv4 only.
    const dual = !previous && !this.exposer && (await this.ipv6());
    if (previous) {
      for (const m of previous)
        wanted.push({
          key: `${m.containerPort}/${m.proto}`,
          hostIp: m.hostIp,
          hostPorts: [m.hostPort],
          bothFamilies: false,
        });
    } else {
      for (const [key, list] of Object.entries(req.bindings ?? {})) {
        for (const b of list?.length ? list : [{}])
          wanted.push({
            key,
            hostIp: b.HostIp || '0.0.0.0',
            hostPorts: hostPortRange(b.HostPort ?? ''),
            bothFamilies: dual && !b.HostIp,
          });
      }
      if (req.publishAll) {
        for (const key of Object.keys(req.exposed ?? {})) {
          if (!req.bindings?.[key]) wanted.push({ key, hostIp: '0.0.0.0', hostPorts: [0], bothFamilies: dual });
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
        const ips = w.bothFamilies ? [w.hostIp, '::'] : [w.hostIp];
        const tries = w.hostPorts.length === 1 && w.hostPorts[0] === 0 ? this.ephemeral(proto, ips) : w.hostPorts;
        let lastErr: Error | undefined;
        let bound: { ls: Listener[]; port: number } | undefined;
        for (const hp of tries) {
          const taken = ips.find((ip) => this.isHeld(proto, ip, hp));
          if (taken) {
            lastErr = conflict(
              `driver failed programming external connectivity on endpoint ${endpoint}: Bind for ${taken}:${hp} failed: port is already allocated`,
            );
            continue;
          }
          // The IPv6 listener takes the port the IPv4 one got, as dockerd's pair shares it.
          const ls: Listener[] = [];
          let got = hp;
          try {
            for (const ip of ips) {
              const b = await listen(proto, ip, got, targetIp, port);
              ls.push(b.l);
              got = b.port;
            }
            bound = { ls, port: got };
            break;
          } catch (e) {
            for (const l of ls) l.close();
            lastErr = bindError(e as NodeJS.ErrnoException, endpoint, proto, ips[ls.length]!, got);
          }
        }
        if (!bound) throw lastErr ?? conflict('no free host port in the range');
        listeners.push(...bound.ls);
        for (const ip of ips) {
          if (this.exposer) listeners.push({ close: await this.exposer.expose(proto, ip, bound.port) });
          const hk = `${proto}/${ip}/${bound.port}`;
          this.held.set(hk, containerId);
          heldKeys.push(hk);
          out.push({ containerPort: port, proto, hostIp: ip, hostPort: bound.port });
        }
      }
    } catch (e) {
      for (const l of listeners) l.close();
      for (const k of heldKeys) this.held.delete(k);
      throw e;
    }
    this.open.set(containerId, [...(this.open.get(containerId) ?? []), ...listeners]);
    return out;
  }

  /** Ports from the ephemeral range none of `ips` holds, at most EPHEMERAL_TRIES of them. */
  private *ephemeral(proto: string, ips: string[]): Generator<number> {
    let n = 0;
    for (const p of this.alloc.candidates(proto, ips[0]!, (hp) => ips.some((ip) => this.isHeld(proto, ip, hp)))) {
      yield p;
      if (++n >= EPHEMERAL_TRIES) return;
    }
  }

  /** Whether a container holds the port on `ip` or on its family's wildcard (or `ip` is the wildcard). */
  private isHeld(proto: string, ip: string, port: number): boolean {
    const any = ip.includes(':') ? '::' : '0.0.0.0';
    for (const k of this.held.keys()) {
      const i = k.indexOf('/');
      const j = k.lastIndexOf('/');
      const [p, hip, hp] = [k.slice(0, i), k.slice(i + 1, j), k.slice(j + 1)];
      if (p !== proto || Number(hp) !== port || hip.includes(':') !== ip.includes(':')) continue;
      if (hip === ip || hip === any || ip === any) return true;
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

/** A failed bind in docker-proxy's words (`listen tcp6 [::]:8081: bind: address already in use`). */
function bindError(e: NodeJS.ErrnoException, endpoint: string, proto: string, ip: string, port: number): Error {
  const where = `listen ${proto}${ip.includes(':') ? 6 : 4} ${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
  const head = `driver failed programming external connectivity on endpoint ${endpoint}: Error starting userland proxy: ${where}: bind:`;
  if (e.code === 'EADDRINUSE') return conflict(`${head} address already in use`, e);
  if (e.code === 'EADDRNOTAVAIL') return invalidArgument(`${head} cannot assign requested address`, e);
  return e;
}

let v6Probe: Promise<boolean> | undefined;

/** moby's IsV6Listenable: a listener on [::1] works (not on a kernel booted with ipv6.disable=1). */
function ipv6Listenable(): Promise<boolean> {
  return (v6Probe ??= new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '::1', port: 0 }, () => s.close(() => resolve(true)));
  }));
}

function listen(
  proto: 'tcp' | 'udp',
  hostIp: string,
  hostPort: number,
  targetIp: string,
  targetPort: number,
): Promise<{ l: Listener; port: number }> {
  return proto === 'tcp'
    ? listenTcp(hostIp, hostPort, targetIp, targetPort)
    : listenUdp(hostIp, hostPort, targetIp, targetPort);
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
    // [::] alone, not dual-stack: 0.0.0.0 has a listener of its own on the same port.
    server.listen({ host: hostIp, port: hostPort, exclusive: true, ipv6Only: hostIp.includes(':') }, () => {
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
    const v6 = hostIp.includes(':');
    const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: false, ipv6Only: v6 });
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
