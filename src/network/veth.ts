/**
 * Plugging a container into a bridge: one veth pair, the host end on the bridge, the other
 * moved into the container's network namespace under `ifname` with its address, and up.
 *
 * Through the host's rtnetlink (`host.links`: the launcher's, berth-launcher-link.c) where it
 * has one: no program started. Otherwise two programs: `ip` on the host makes the pair (and
 * moves the peer), `ip -batch` run inside the namespace (the host runs it there: nsenter) sets
 * it up — the steps below, which the launcher's C follows one for one. A host end left over
 * from a crash (same name: names derive from the container ID) is deleted and the pair made
 * again.
 */
import type { Host, LinkMaker } from '../host/index.ts';
import { internal } from '../errdefs/index.ts';

/** A network namespace: a process's (its pid), or one bound to a file (its path). */
export type NetnsTarget = number | string;

export interface VethPlug {
  /** The host end's name (`vethName`). */
  hostVeth: string;
  bridge: string;
  mtu: number;
  /** Inside the namespace: eth0, eth1, ... */
  ifname: string;
  macAddress: string;
  /** address/prefix */
  address: string;
  /** The default route's gateway: given for the first interface only. */
  gateway?: string;
  /** Bridge port isolation (a network with inter-container traffic off). */
  isolated?: boolean;
  /** IPv6 address/prefix, and the IPv6 default route's gateway (first interface only). */
  address6?: string;
  gateway6?: string;
  /**
   * No IPv6 link-local address on either end (the kernel's `addrgenmode none`), for a network
   * without IPv6: see `plugVeth`.
   */
  noLinkLocal6?: boolean;
}

export async function plugVeth(host: Host, target: NetnsTarget, p: VethPlug): Promise<void> {
  // On a network without IPv6, neither end gets the link-local address the kernel gives every
  // interface that comes up: with one, each end's start is duplicate address detection (a
  // kernel worker under the global network lock), multicast group reports and router
  // solicitations repeated for an hour — the container end's flooded by the bridge to every
  // other container on it, so each start costs the kernel in proportion to those running (and
  // all of them together in proportion to its square). Docker 26 turns IPv6 off on such an
  // interface for safety (no neighbour discovery anyone on the bridge can spoof); this keeps
  // the interface's IPv6 on, without addresses, so an address added later still works.
  // (The kernel takes `addrgenmode` on a link that exists, not in the `link add` itself.)
  const quiet = !!p.noLinkLocal6 && !p.address6;
  if (host.links) return plugWithNetlink(host.links, target, p, quiet);
  // ip takes a namespace by pid, or by path (anything with a slash).
  const make = quiet
    ? [
        `link add ${p.hostVeth} mtu ${p.mtu} master ${p.bridge} type veth peer name ${p.ifname} mtu ${p.mtu} address ${p.macAddress} netns ${target}`,
        `link set dev ${p.hostVeth} addrgenmode none`,
        `link set dev ${p.hostVeth} up`,
      ]
    : [
        `link add ${p.hostVeth} mtu ${p.mtu} master ${p.bridge} up type veth peer name ${p.ifname} mtu ${p.mtu} address ${p.macAddress} netns ${target}`,
      ];
  if (p.isolated) make.push(`link set dev ${p.hostVeth} type bridge_slave isolated on`);
  const input = make.join('\n') + '\n';
  let r = await host.run('ip', ['-batch', '-'], { input, allowFailure: true });
  if (r.code !== 0 && /exists/i.test(r.stderr)) {
    await host.run('ip', ['link', 'del', p.hostVeth], { allowFailure: true });
    r = await host.run('ip', ['-batch', '-'], { input, allowFailure: true });
  }
  if (r.code !== 0) throw internal(`connect ${p.hostVeth} to ${p.bridge}: ${r.stderr.trim()}`);
  // brd +: the subnet's broadcast address, as dockerd's (its netlink library sets it).
  const inside = [`addr add ${p.address} brd + dev ${p.ifname}`];
  // nodad, as dockerd: usable at once, not after a second of duplicate address detection.
  if (p.address6) inside.push(`addr add ${p.address6} dev ${p.ifname} nodad`);
  if (quiet) inside.push(`link set dev ${p.ifname} addrgenmode none`);
  inside.push(`link set ${p.ifname} up`, 'link set lo up');
  if (p.gateway) inside.push(`route add default via ${p.gateway}`);
  if (p.address6 && p.gateway6) inside.push(`route add ::/0 via ${p.gateway6}`);
  const netns = typeof target === 'number' ? `/proc/${target}/ns/net` : target;
  await host.run('ip', ['-batch', '-'], { input: inside.join('\n') + '\n', netns });
}

async function plugWithNetlink(links: LinkMaker, target: NetnsTarget, p: VethPlug, quiet: boolean): Promise<void> {
  const link = {
    netns: typeof target === 'number' ? `/proc/${target}/ns/net` : target,
    hostVeth: p.hostVeth,
    bridge: p.bridge,
    ifname: p.ifname,
    macAddress: p.macAddress,
    mtu: p.mtu,
    address: p.address,
    gateway: p.gateway,
    address6: p.address6,
    gateway6: p.address6 ? p.gateway6 : undefined,
    quiet,
    isolated: p.isolated,
  };
  let failed = await links.plugVeth(link);
  if (failed?.step === 'create the veth pair' && failed.errno === 'EEXIST') {
    await links.deleteLink(p.hostVeth);
    failed = await links.plugVeth(link);
  }
  if (failed) throw internal(`connect ${p.hostVeth} to ${p.bridge}: ${failed.step}: ${failed.errno}`);
}
