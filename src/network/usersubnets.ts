/**
 * Where a user network's subnet comes from when none is given: dockerd's default pools, less
 * what the host routes already (another daemon's bridges, VPNs, the LAN). user.ts reads the
 * routes and picks under netlock.ts's lock, so that what it reads is still true when its
 * bridge gets the address.
 */
import type { Host } from '../host/index.ts';
import { parsePrefix, type Prefix } from './ip.ts';
import { hostRouteDestinations } from './bridgelink.ts';

/**
 * User network subnets: dockerd's default pools in its order (172.17–31/16, then 192.168/16 in
 * /20s; one in use — the default bridge's, a route on the host — is skipped), then a few of
 * Berth's own for a host where all of those are taken. Picking as dockerd picks means a
 * subnet a compose file fixes, which works beside dockerd, works beside Berth too.
 */
export const CANDIDATES = [
  ...Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`),
  ...Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`),
  ...Array.from({ length: 20 }, (_, i) => `10.${100 + i}.0.0/16`),
];

/**
 * The destinations of the host's IPv4 and IPv6 routes (both families read at once: this runs
 * while every other daemon's subnet choice waits; bridgelink.ts reads them). A bridge's
 * connected route is there from the moment it is up with its address, which the same request
 * (or `ip -batch`) does.
 */
export async function hostRoutes(host: Host): Promise<Prefix[]> {
  const used: Prefix[] = [];
  for (const { family, dst } of await hostRouteDestinations(host)) {
    if (dst === 'default') continue;
    const p = tryPrefix(dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`);
    // Link-local and multicast routes are on every interface: they say nothing of use.
    if (p && !(p.family === 6 && (p.base >> 118n === 0x3fan || p.base >> 120n === 0xffn))) used.push(p);
  }
  return used;
}

function tryPrefix(cidr: string): Prefix | undefined {
  try {
    return parsePrefix(cidr);
  } catch {
    return undefined;
  }
}
