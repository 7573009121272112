/**
 * Plugging a container into a bridge: one veth pair, the host end on the bridge, the other
 * moved into the container's network namespace under `ifname` with its address, and up.
 *
 * Two programs: `ip` on the host makes the pair (and moves the peer), `ip -batch` run inside
 * the namespace (the host runs it there: the launcher's setns, or nsenter) sets it up. A host
 * end left over from a crash (same name: names derive from the container ID) is deleted and
 * the pair made again.
 */
import type { Host } from '../host/index.ts';
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
}

export async function plugVeth(host: Host, target: NetnsTarget, p: VethPlug): Promise<void> {
  // ip takes a namespace by pid, or by path (anything with a slash).
  const make = [
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
  const inside = [`addr add ${p.address} dev ${p.ifname}`];
  // nodad, as dockerd: usable at once, not after a second of duplicate address detection.
  if (p.address6) inside.push(`addr add ${p.address6} dev ${p.ifname} nodad`);
  inside.push(`link set ${p.ifname} up`, 'link set lo up');
  if (p.gateway) inside.push(`route add default via ${p.gateway}`);
  if (p.address6 && p.gateway6) inside.push(`route add ::/0 via ${p.gateway6}`);
  const netns = typeof target === 'number' ? `/proc/${target}/ns/net` : target;
  await host.run('ip', ['-batch', '-'], { input: inside.join('\n') + '\n', netns });
}
