/**
 * The shapes of the launcher's BRIDGE and NETINFO requests (berth-launcher-bridge.c): a bridge
 * to make or set up, and the host's links, addresses and routes as its netlink dumps answer them
 * — lines of text, parsed here into plain data.
 */

/**
 * A bridge as the launcher makes or sets it up (the C file's BRIDGE; network/bridgelink.ts's
 * steps, in its words): `create` makes it with the MAC (else it is there, and a MAC given is
 * set on it), then the IPv4 address `delete4` goes, `address` is added, `address6` added
 * without DAD (`replace6`: replaced, as a restart may find it there; addresses as
 * address/length), and with `up` it comes up.
 */
export interface BridgeLink {
  name: string;
  create?: boolean;
  macAddress?: string;
  delete4?: string;
  address?: string;
  address6?: string;
  replace6?: boolean;
  up?: boolean;
}

/** The C file's enum bridge_step, by number: where a BRIDGE failed. */
export const BRIDGE_STEPS = [
  'done',
  'arguments',
  'create the bridge',
  'find the bridge',
  'set the MAC address',
  'delete the old IPv4 address',
  'add the IPv4 address',
  'add the IPv6 address',
  'bring the bridge up',
] as const;

/** What a NETINFO lists. */
export interface NetInfoRequest {
  links?: boolean;
  addrs4?: boolean;
  addrs6?: boolean;
  routes4?: boolean;
  routes6?: boolean;
}

/**
 * The host's links, addresses and routes as `ip -j link/addr/route show` list them: routes are
 * table main's; `dst` is `default` or address/length; a device is undefined where the kernel
 * gave none (a blackhole route, a multipath one).
 */
export interface NetInfo {
  links: Array<{ index: number; name: string; kind?: string; mtu: number; mac?: string }>;
  addrs: Array<{ family: 4 | 6; ifname: string; local: string; prefixLen: number }>;
  routes: Array<{ family: 4 | 6; dst: string; dev?: string }>;
}

/** The C file's NETINFO steps: which dump failed. */
export const NETINFO_STEPS = ['done', 'links', 'addresses', 'routes'] as const;

/** NETINFO's lines (the C file's comment) as plain data. */
export function parseNetInfo(text: string): NetInfo {
  const info: NetInfo = { links: [], addrs: [], routes: [] };
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'link' && f.length === 6)
      info.links.push({
        index: Number(f[1]),
        name: f[2]!,
        ...(f[3] !== '-' ? { kind: f[3] } : {}),
        mtu: Number(f[4]),
        ...(f[5] !== '-' ? { mac: f[5] } : {}),
      });
    else if (f[0] === 'addr' && f.length === 4) {
      const [local, len] = f[3]!.split('/');
      info.addrs.push({ family: f[1] === '6' ? 6 : 4, ifname: f[2]!, local: local!, prefixLen: Number(len) });
    } else if (f[0] === 'route' && f.length === 4)
      info.routes.push({ family: f[1] === '6' ? 6 : 4, dst: f[2]!, ...(f[3] !== '-' ? { dev: f[3] } : {}) });
  }
  return info;
}
