/**
 * Bridges made, set up and deleted, their ports isolated, and the host's links, addresses and
 * routes read, for the default bridge (bridge.ts) and user networks (user.ts, usersubnets.ts).
 *
 * Through the host's rtnetlink (`host.links`: the launcher's, berth-launcher-bridge.c) where it
 * has one: no program started — a `network create` ran ip three times and `network rm` once,
 * each a program's start-up that a loaded host stretches. Otherwise through ip, as before: one
 * `ip -batch` of the lines `bridgeSteps` writes (which the launcher's C follows one for one),
 * and `ip -j ... show` for the reads. What a user sees of the bridge is the same either way
 * (`ip -d link show`; src/network/bridgelink.test.ts compares them).
 */
import type { BridgeLink, Host, NetInfo } from '../host/index.ts';
import { internal } from '../errdefs/index.ts';

export type { BridgeLink } from '../host/index.ts';

/**
 * `b` as `ip -batch` lines, in the order the launcher does them: the bridge with its own MAC
 * (see cidr.ts's bridgeMac) or, on one already there, that MAC pinned; the old IPv4 address
 * out, the new one in; the IPv6 one without DAD (usable at once; `replace6`: replaced, as a
 * restart may find it there already); up.
 */
export function bridgeSteps(b: BridgeLink): string[] {
  const lines: string[] = [];
  if (b.create) lines.push(`link add ${b.name}${b.macAddress ? ` address ${b.macAddress}` : ''} type bridge`);
  else if (b.macAddress) lines.push(`link set dev ${b.name} address ${b.macAddress}`);
  if (b.delete4) lines.push(`addr del ${b.delete4} dev ${b.name}`);
  if (b.address) lines.push(`addr add ${b.address} brd + dev ${b.name}`);
  if (b.address6) lines.push(`addr ${b.replace6 ? 'replace' : 'add'} ${b.address6} dev ${b.name} nodad`);
  if (b.up) lines.push(`link set ${b.name} up`);
  return lines;
}

/**
 * Makes or sets up the bridges, one after the other; a failure names the bridge and what
 * failed, and stops there (as `ip -batch` stops at its first failing line).
 */
export async function setUpBridges(host: Host, bridges: readonly BridgeLink[]): Promise<void> {
  if (!bridges.length) return;
  if (host.links) {
    for (const b of bridges) {
      const failed = await host.links.setUpBridge(b);
      if (failed) throw internal(`set up bridge ${b.name}: ${failed.step}: ${failed.errno}`);
    }
    return;
  }
  await host.run('ip', ['-batch', '-'], { input: bridges.flatMap(bridgeSteps).join('\n') + '\n' });
}

/** Deletes links (bridges, containers' host ends); one that is not there, or that fails, does not stop the others. */
export async function deleteLinks(host: Host, names: readonly string[]): Promise<void> {
  if (!names.length) return;
  if (host.links) {
    for (const name of names) await host.links.deleteLink(name).catch(() => {});
    return;
  }
  if (names.length === 1) await host.run('ip', ['link', 'del', names[0]!], { allowFailure: true });
  else
    await host.run('ip', ['-force', '-batch', '-'], {
      input: names.map((n) => `link del ${n}`).join('\n') + '\n',
      allowFailure: true,
    });
}

/**
 * Cuts the bridge port `name` off from the bridge's other isolated ports (the kernel's bridge
 * port isolation, `ip link set dev X type bridge_slave isolated on`): by the launcher's
 * rtnetlink where the host has it, else by ip. What `bridge -d link show` prints of the port
 * is the same either way.
 */
export async function isolatePort(host: Host, name: string): Promise<void> {
  if (host.links) return host.links.isolatePort(name);
  await host.run('ip', ['link', 'set', 'dev', name, 'type', 'bridge_slave', 'isolated', 'on']);
}

/** The host's bridges: name → MAC (`ip -j link show type bridge`). */
export async function hostBridges(host: Host): Promise<Map<string, string | undefined>> {
  if (host.links) {
    const { links } = await host.links.netInfo({ links: true });
    return new Map(links.filter((l) => l.kind === 'bridge').map((l) => [l.name, l.mac]));
  }
  const links = await host.run('ip', ['-j', 'link', 'show', 'type', 'bridge']).then(
    (r) => JSON.parse(r.stdout || '[]') as Array<{ ifname: string; address?: string }>,
    () => [],
  );
  return new Map(links.map((l) => [l.ifname, l.address]));
}

/**
 * The destinations of the host's IPv4 and IPv6 routes (table main's: `default` or an address,
 * with or without its length), both families read at once; a family that cannot be read is
 * left out.
 */
export async function hostRouteDestinations(host: Host): Promise<Array<{ family: 4 | 6; dst: string }>> {
  if (host.links)
    return host.links.netInfo({ routes4: true, routes6: true }).then(
      ({ routes }) => routes,
      () => [],
    );
  const families = await Promise.all(
    ([4, 6] as const).map((family) =>
      host.run('ip', ['-j', `-${family}`, 'route', 'show']).then(
        (r) => (JSON.parse(r.stdout || '[]') as Array<{ dst: string }>).map(({ dst }) => ({ family, dst })),
        () => [],
      ),
    ),
  );
  return families.flat();
}

/** `ip -j addr show`'s shape: a link, its MTU and addresses. */
export interface IpAddrJson {
  ifname: string;
  mtu?: number;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}
/** `ip -j route show`'s shape. */
export interface IpRouteJson {
  dst: string;
  dev?: string;
}

/** The host's links with their IPv4 addresses, and its IPv4 routes (`ip -j -4 addr/route show`). */
export async function hostAddrs4(host: Host): Promise<{ addrs: IpAddrJson[]; routes: IpRouteJson[] }> {
  if (host.links) return asIpJson(await host.links.netInfo({ links: true, addrs4: true, routes4: true }));
  const [addrs, routes] = await Promise.all([
    host.run('ip', ['-j', '-4', 'addr', 'show']).then((r) => JSON.parse(r.stdout || '[]') as IpAddrJson[]),
    host.run('ip', ['-j', '-4', 'route', 'show']).then((r) => JSON.parse(r.stdout || '[]') as IpRouteJson[]),
  ]);
  return { addrs, routes };
}

/** NETINFO's IPv4 part in ip's JSON shapes (every link listed, as `ip -4 addr show` lists only those with an address: the callers look links up by name). */
export function asIpJson(info: NetInfo): { addrs: IpAddrJson[]; routes: IpRouteJson[] } {
  return {
    addrs: info.links.map((l) => ({
      ifname: l.name,
      mtu: l.mtu,
      addr_info: info.addrs
        .filter((a) => a.ifname === l.name && a.family === 4)
        .map((a) => ({ family: 'inet', local: a.local, prefixlen: a.prefixLen })),
    })),
    routes: info.routes.filter((r) => r.family === 4).map((r) => ({ dst: r.dst, ...(r.dev ? { dev: r.dev } : {}) })),
  };
}
