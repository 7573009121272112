/**
 * Subnets for the e2e tests' bridges and networks (`--bip`, `network create --subnet`), one per
 * call, which no other test process holds at that moment. Files took `10.2xx.<pid % 250>` before:
 * two files (or two copies of one, a helper's targeted run beside the lead's full one) whose pids
 * agree mod 250 took the same /24, and the second daemon or network failed ('Pool overlaps') —
 * about 1 run in 250, a red CI for nothing.
 *
 * A subnet is held by a listening socket in the abstract unix namespace named for it
 * (`\0berth-e2e/subnet/10.213.7.0/24`), as berthd's own subnet lock (src/network/netlock.ts):
 * binding the name is the atomic test-and-set between processes, the kernel frees it however
 * the test process ends (SIGKILL included), and there is no file to go stale. It is held for the
 * process's life: a test's daemon and its bridge are gone by then (`cleanup`). Subnets the host
 * routes (a bridge of a test that chose the old way, a daemon's, the machine's own) are skipped.
 * The pool is 10.200.0.0–10.254.255.255 in /24s (less a few /16s, below), searched from a random
 * one, so that processes asking at once seldom contend for the same name at all.
 *
 *     const net = await reserveSubnet(); // '10.213.7'
 *     d = await startDaemon(['--bridge', 'bx1', '--bip', `${net}.1/24`]);
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * The pool's second octets: 10.200-254, but for berthd's own automatic choices (the default
 * bridge's 10.229/16 and 10.230/16 after 172.17/16, the CNI default network's 10.231/16: a daemon
 * may take one after the search here read the routes) and the runtime tests' 10.239.77.
 */
const OCTETS = Array.from({ length: 55 }, (_, i) => 200 + i).filter((o) => ![229, 230, 231, 239].includes(o));
const COUNT = OCTETS.length * 256;

/** The sockets that hold this process's subnets; kept referenced here so they are never collected. */
const held: Server[] = [];

/** The /24 of index `i` in the pool, as its first three octets. */
export const subnetAt = (i: number): string => `10.${OCTETS[i >> 8]}.${i & 255}`;

/**
 * Reserves a /24 no other process holds and the host does not route, for this process's life;
 * resolves with its first three octets ('10.213.7'). `start` (an index in the pool) is where the
 * search begins: random unless a test of this helper fixes it.
 */
export async function reserveSubnet(o: { start?: number } = {}): Promise<string> {
  const start = o.start ?? Math.floor(Math.random() * COUNT);
  const routes = hostRoutes();
  for (let k = 0; k < COUNT; k++) {
    const net = subnetAt((start + k) % COUNT);
    if (routes.some((r) => overlaps(r, net))) continue;
    const server = await hold(`\0berth-e2e/subnet/${net}.0/24`);
    if (server) {
      held.push(server);
      return net;
    }
  }
  throw new Error('reserve a test subnet: every /24 of the pool (10.200-254.x.0/24) is held or routed');
}

/** Listens on the abstract name; undefined when another socket has it. */
function hold(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    // unref: a held subnet never keeps the test process alive.
    server.listen(name, () => resolve(server.unref()));
  });
}

/** A route's destination and mask, as 32-bit numbers. */
interface Route {
  dest: number;
  mask: number;
}

/** The host's IPv4 routes of the main table (/proc/net/route: little-endian hex), the default route left out. */
export function hostRoutes(text = readFileSync('/proc/net/route', 'utf8')): Route[] {
  const le = (hex: string) => Number.parseInt(hex.match(/../g)!.reverse().join(''), 16) >>> 0;
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && /^[0-9A-Fa-f]{8}$/.test(f[1]!) && /^[0-9A-Fa-f]{8}$/.test(f[7]!))
    .map((f) => ({ dest: le(f[1]!), mask: le(f[7]!) }))
    .filter((r) => r.mask !== 0);
}

/** Do the route's addresses and the /24 `net`'s ('10.213.7') meet? */
export function overlaps(r: Route, net: string): boolean {
  const n = (net.split('.').reduce((a, o) => a * 256 + Number(o), 0) * 256) >>> 0;
  // Two prefixes meet when they agree on the shorter one's bits (of contiguous masks, their AND).
  const common = (r.mask & 0xffffff00) >>> 0;
  return (n & common) >>> 0 === (r.dest & common) >>> 0;
}
