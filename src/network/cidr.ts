/** IPv4 addresses and subnets as numbers: parsing, formatting, overlap, and a free subnet. */
import { invalidArgument } from '../errdefs/index.ts';

export interface Subnet {
  /** The network address, as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const p = ip.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255))
    throw invalidArgument(`invalid IP address: ${ip}`);
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** Parses `a.b.c.d/n`; the host bits are cleared. */
export function parseCidr(cidr: string): Subnet & { ip: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || Number(m[2]) > 32) throw invalidArgument(`invalid CIDR address: ${cidr}`);
  const ip = ipToInt(m[1]!);
  const prefix = Number(m[2]);
  return { base: (ip & maskOf(prefix)) >>> 0, prefix, ip };
}

export function formatSubnet(s: Subnet): string {
  return `${intToIp(s.base)}/${s.prefix}`;
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function contains(s: Subnet, ip: number): boolean {
  return (ip & maskOf(s.prefix)) >>> 0 === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & maskOf(p)) >>> 0 === (b.base & maskOf(p)) >>> 0;
}

/** Docker-style MAC address from an IPv4 address: 02:42 and the address's four bytes. */
export function macFor(ip: number): string {
  return [
    '02',
    '42',
    ...[ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].map((b) => b.toString(16).padStart(2, '0')),
  ].join(':');
}

/**
 * The MAC address a bridge Berth makes is given (`ip link add <br> address <mac> type bridge`):
 * the one `macFor` gives its gateway address, which no container's address is. A Linux bridge
 * made without one takes the lowest MAC of its ports and changes it as ports come and go; a
 * container that learnt the gateway's MAC from a port since gone (a warm pool's sandbox taken
 * down, another container's exit) then sends its DNS queries and routed traffic to an address
 * no port has, and they are lost until its ARP entry times out (e2e/berth-compose.test.ts's
 * services failed to resolve each other for 10 s that way). A MAC set by hand stays (the
 * kernel's NET_ADDR_SET), as dockerd sets one on the bridges it makes.
 */
export function bridgeMac(gateway: string): string {
  return macFor(ipToInt(gateway));
}

/**
 * Candidates for the default bridge, in order: Docker's 172.17/16 first (where dockerd's docker0
 * is, it is in use and skipped), so that the subnets users give their networks, which work
 * beside dockerd, are free beside Berth too; then Berth's own.
 */
export const BRIDGE_CANDIDATES = [
  '172.17.0.0/16',
  '172.29.0.0/16',
  '172.30.0.0/16',
  '172.31.0.0/16',
  '172.28.0.0/16',
  '172.27.0.0/16',
  '172.26.0.0/16',
  '172.25.0.0/16',
  '172.24.0.0/16',
  '10.229.0.0/16',
  '10.230.0.0/16',
  '192.168.229.0/24',
  '192.168.230.0/24',
];

/** The first candidate that overlaps none of `used` (routes or addresses already on the host). */
export function pickFree(candidates: readonly string[], used: readonly Subnet[]): Subnet | undefined {
  for (const c of candidates) {
    const s = parseCidr(c);
    if (!used.some((u) => u.prefix > 0 && overlaps(u, s))) return { base: s.base, prefix: s.prefix };
  }
  return undefined;
}
