/**
 * The embedded DNS server of user networks: a UDP socket on each network's gateway, port 53,
 * that answers the names a NameBook knows (containers, aliases, links) and forwards the rest to
 * the asking container's `--dns` servers or the host's resolvers. It is apart from user.ts,
 * which keeps the networks and their members: this file knows sockets and forwarding only, and
 * asks user.ts for names.
 */
import { readFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { buildAnswer, parseQuery, type Answer } from './dns.ts';

/** What the DNS server asks of the networks: whose name is this, and whose `--dns` applies. */
export interface NameBook {
  /** The addresses `name` has for a query from `from` on network `netId`, if anyone has it. */
  resolve(netId: string, name: string, from?: string): { v4: string[]; v6: string[] } | undefined;
  /** The `--dns` servers of the member of network `netId` at address `ip`, if it has any. */
  dnsOf(netId: string, ip: string): string[] | undefined;
}

export class EmbeddedDns {
  private readonly sockets = new Map<string, dgram.Socket>();
  private readonly names: NameBook;
  private readonly log: { warn(m: string): void };
  /** Resolvers for names nobody on the network has, when the asker has no `--dns` of its own. */
  upstream: string[] = [];

  constructor(names: NameBook, log: { warn(m: string): void }) {
    this.names = names;
    this.log = log;
  }

  /** Listens on `gateway:53` for network `netId`; a failure to bind is logged, not thrown. */
  async listen(netId: string, netName: string, gateway: string): Promise<void> {
    if (this.sockets.has(netId)) return;
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    sock.on('message', (msg, rinfo) => this.answer(netId, sock, msg, rinfo));
    await new Promise<void>((resolve) => {
      sock.once('error', (e) => {
        this.log.warn(`network ${netName}: embedded DNS on ${gateway}:53: ${e.message}`);
        resolve();
      });
      sock.bind({ address: gateway, port: 53 }, () => {
        sock.removeAllListeners('error');
        sock.on('error', () => {});
        this.sockets.set(netId, sock);
        resolve();
      });
    });
  }

  close(netId: string): void {
    this.sockets.get(netId)?.close();
    this.sockets.delete(netId);
  }

  closeAll(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private answer(netId: string, sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const q = parseQuery(msg);
    if (!q) return;
    const found = this.names.resolve(netId, q.name, rinfo.address);
    if (found) {
      // The name is ours: its A or AAAA record, or no record of the type asked for (NOERROR).
      const answers: Answer[] = [];
      if (q.type === 1) for (const address of found.v4) answers.push({ type: 1, address });
      if (q.type === 28) for (const address of found.v6) answers.push({ type: 28, address });
      sock.send(buildAnswer(msg, q, answers, 0), rinfo.port, rinfo.address);
      return;
    }
    // The asker's own --dns servers, else the host's.
    const own = this.names.dnsOf(netId, rinfo.address);
    const upstream = own?.length ? own : this.upstream;
    if (!upstream.length) {
      sock.send(buildAnswer(msg, q, [], 2), rinfo.port, rinfo.address);
      return;
    }
    // Anything else goes to the host's resolver, and its answer back as it came.
    const up = dgram.createSocket('udp4');
    const fail = () => {
      up.close();
      sock.send(buildAnswer(msg, q, [], 2), rinfo.port, rinfo.address); // SERVFAIL: the client moves on
    };
    const timer = setTimeout(fail, 3000);
    up.on('error', () => {
      clearTimeout(timer);
      fail();
    });
    up.on('message', (reply) => {
      clearTimeout(timer);
      up.close();
      sock.send(reply, rinfo.port, rinfo.address);
    });
    up.send(msg, 53, upstream[0]!);
  }
}

/** The nameservers of the host's /etc/resolv.conf (the daemon runs on the host: loopback ones work). */
export function hostResolvers(): string[] {
  try {
    return [...readFileSync('/etc/resolv.conf', 'utf8').matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map(
      (m) => m[1]!,
    );
  } catch {
    return [];
  }
}
