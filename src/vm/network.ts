/**
 * A VM container's network, handed over at start. The caller (Berth, or whoever drives
 * berth-vm as it drives runc) wires the container's interface into the network namespace of
 * the container's process — here the shim — between create and start, as it does for runc:
 * a veth `eth0` with the container's MAC, address and default route. At start berth-vm moves
 * that identity into the guest: the guest's NIC takes eth0's MAC, address, MTU and route; eth0
 * loses its address; and two tc rules redirect every frame arriving on eth0 to the VM's tap
 * device and every frame from the tap out of eth0 (Kata's "tcfilter" model). The host side
 * keeps seeing one veth with the container's MAC and address; nothing about the bridge, NAT or
 * published ports changes.
 */
import type { Runner } from '../host/index.ts';
import { internal } from '../errdefs/index.ts';
import type { GuestNetwork } from './plan.ts';

/** eth0 as `ip -j addr show dev eth0` reports it. */
export function parseIpAddr(json: string): Omit<GuestNetwork, 'gateway'> | undefined {
  const links = JSON.parse(json || '[]') as Array<{
    address?: string;
    mtu?: number;
    addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
  }>;
  const l = links[0];
  if (!l) return undefined;
  return {
    mac: l.address,
    mtu: l.mtu,
    addresses: (l.addr_info ?? [])
      .filter((a) => a.family === 'inet' && a.local)
      .map((a) => `${a.local}/${a.prefixlen ?? 32}`),
  };
}

/** The gateway of `ip -j route show default`. */
export function parseDefaultRoute(json: string): string | undefined {
  const routes = JSON.parse(json || '[]') as Array<{ dst?: string; gateway?: string }>;
  return routes.find((r) => r.dst === 'default' && r.gateway)?.gateway;
}

const REDIRECT = (from: string, to: string) =>
  `tc qdisc add dev ${from} ingress && tc filter add dev ${from} parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev ${to}`;

/** The commands that move eth0's traffic to the tap (run in the container's network namespace). */
export function handoverScript(): string {
  return ['ip addr flush dev eth0', 'ip link set tap0 up', REDIRECT('eth0', 'tap0'), REDIRECT('tap0', 'eth0')].join(
    ' && ',
  );
}

/**
 * Reads eth0 in the namespace `netns` and hands it over to the guest. Undefined when there is
 * no eth0 (`--network none`): the guest then has only its loopback.
 */
export async function handOverNetwork(host: Runner, netns: string): Promise<GuestNetwork | undefined> {
  const addr = await host.run('ip', ['-j', 'addr', 'show', 'dev', 'eth0'], { netns, allowFailure: true });
  if (addr.code !== 0) return undefined;
  const link = parseIpAddr(addr.stdout);
  if (!link || !link.addresses.length) return undefined;
  const route = await host.run('ip', ['-j', 'route', 'show', 'default'], { netns, allowFailure: true });
  const gateway = route.code === 0 ? parseDefaultRoute(route.stdout) : undefined;
  const r = await host.run('sh', ['-c', handoverScript()], { netns, allowFailure: true });
  if (r.code !== 0) throw internal(`hand the network over to the VM: ${r.stderr.trim() || `exit ${r.code}`}`);
  return { ...link, gateway };
}
