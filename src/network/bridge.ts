/**
 * The default bridge network: a Linux bridge (`berth0` unless `--bridge` says otherwise) on a
 * subnet that clashes with nothing routed on the host, one veth pair per container, and
 * outbound NAT in Berth's own nftables table. The bridge is read, made and set up through
 * bridgelink.ts (rtnetlink in the launcher, or one `ip -batch -`), the rules in one nftables
 * transaction through nft.ts (libnftables in the launcher, or `nft -f -`).
 *
 * Lifecycle: `init` at daemon start (creates or adopts the bridge, replaces the nft table in
 * one transaction, so live-restored containers keep their NAT); `allocate` before the spec is
 * written (the address goes into /etc/hosts); `connect` after the runtime created the
 * container's network namespace and before its process runs; `release` when it exits.
 * The veth pair dies with the namespace, so exit needs no host command.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/index.ts';
import { internal, invalidArgument } from '../errdefs/index.ts';
import {
  BRIDGE_CANDIDATES,
  bridgeMac,
  formatSubnet,
  intToIp,
  ipToInt,
  macFor,
  parseCidr,
  pickFree,
  type Subnet,
} from './cidr.ts';
import { Ipam } from './ipam.ts';
import { NetnsLock, SUBNET_LOCK } from './netlock.ts';
import { formatAddr, formatPrefix, parsePrefix, type Prefix } from './ip.ts';
import { PortProxies, type PortExposer, type PortMapping, type PortRequest } from './ports.ts';
import { plugVeth, type NetnsTarget } from './veth.ts';
import { deleteLinks, hostAddrs4, setUpBridges } from './bridgelink.ts';
import { deleteTables, runNft } from './nft.ts';

export const DEFAULT_NETWORK = 'bridge';
/** The IPAM pool of the default bridge's IPv6 subnet. */
const DEFAULT_NETWORK_V6 = 'bridge/6';

/** A container's place on a network, in the terms `docker inspect` shows. */
export interface Endpoint {
  network: string;
  networkId: string;
  endpointId: string;
  ipAddress: string;
  prefixLen: number;
  gateway: string;
  macAddress: string;
  /** On an IPv6 network: the container's IPv6 address, its prefix length, the gateway. */
  ipv6Address?: string;
  ipv6PrefixLen?: number;
  ipv6Gateway?: string;
  /** The host side of the veth pair. */
  hostVeth: string;
  /**
   * The container side's name, where it is not the place in the container's list says (eth0
   * the first, eth1...): one plugged into a running container by `network connect`.
   */
  ifname?: string;
  bridge: string;
  /** Published ports, as bound (random host ports resolved). */
  ports?: PortMapping[];
}

export interface NetworkOptions {
  host: Host;
  /** Where the IPAM database lives (`<data-root>/network`). */
  root: string;
  /** Bridge interface name; `none` disables the default bridge. */
  bridge: string;
  /** `--bip`: the bridge's address and prefix, e.g. 172.29.0.1/16. */
  bip?: string;
  /** `--ipv6` with `--fixed-cidr-v6`: containers on the bridge get IPv6 addresses from this subnet. */
  fixedCidrV6?: string;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void };
  /** Rootless berthd: published ports are also exposed on the host (rootlesskit's port driver). */
  ports?: PortExposer;
  /** Held around choosing the subnet and adding it (default: every berthd's, netlock.ts's SUBNET_LOCK). */
  subnetLock?: NetnsLock;
}

export class NetworkManager {
  private readonly o: NetworkOptions;
  private ipam?: Ipam;
  private subnet?: Subnet;
  private gateway = '';
  /** With --fixed-cidr-v6: the IPv6 subnet and the bridge's address in it (its first). */
  private subnet6?: Prefix;
  private gateway6 = '';
  private mtu = 1500;
  private readonly proxies: PortProxies;
  /** Ports published for a container, which its endpoint carries however often it is made. */
  private readonly published = new Map<string, PortMapping[]>();
  /** The bridge network's ID (stable per daemon data root). */
  networkId = '';

  constructor(o: NetworkOptions) {
    this.o = o;
    this.proxies = new PortProxies(o.ports);
  }

  get enabled(): boolean {
    return this.o.bridge !== 'none' && this.o.bridge !== '';
  }

  get bridgeName(): string {
    return this.o.bridge;
  }

  /** Berth's nftables table for this bridge: `berth` for the default one. */
  get table(): string {
    return this.o.bridge === 'berth0' ? 'berth' : `berth_${this.o.bridge.replace(/[^A-Za-z0-9_]/g, '_')}`;
  }

  /** The bridge's subnet and gateway (and IPv6 subnet), once `init` ran. */
  info(): { subnet: string; gateway: string; subnet6?: string } | undefined {
    return (
      this.subnet && {
        subnet: formatSubnet(this.subnet),
        gateway: this.gateway,
        ...(this.subnet6 ? { subnet6: formatPrefix(this.subnet6) } : {}),
      }
    );
  }

  async init(): Promise<void> {
    if (!this.enabled) return;
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(this.o.bridge)) throw invalidArgument(`invalid bridge name: ${this.o.bridge}`);
    await fs.mkdir(this.o.root, { recursive: true, mode: 0o700 });
    const ipam = (this.ipam = new Ipam(join(this.o.root, 'ipam.db')));
    this.networkId = await this.loadId();
    // The subnet is chosen and put on the bridge under the lock every berthd here shares
    // (netlock.ts): between reading the routes and adding the address, another daemon starting
    // (or creating a network) would find the same subnet free.
    const lock = this.o.subnetLock ?? new NetnsLock(SUBNET_LOCK, { warn: (m) => this.o.log.warn(`network: ${m}`) });
    await lock.run(() => this.setUpBridge(ipam));
    await fs
      .writeFile('/proc/sys/net/ipv4/ip_forward', '1')
      .catch((e) => this.o.log.warn(`enable ip forwarding: ${(e as Error).message}`));
    await this.applyRules();
    this.o.log.info(
      `network: bridge ${this.o.bridge} on ${formatSubnet(this.subnet!)} (gateway ${this.gateway}), nft table ip ${this.table}`,
    );
  }

  /** Finds or chooses the bridge's subnet, and makes the bridge with its address (see init). */
  private async setUpBridge(ipam: Ipam): Promise<void> {
    const br = this.o.bridge;
    const { addrs, routes } = await hostAddrs4(this.o.host);
    const existing = addrs.find((a) => a.ifname === br);
    const existingAddr = existing?.addr_info?.find((a) => a.family === 'inet');
    const used: Subnet[] = [];
    for (const r of routes) {
      if (r.dev === br) continue;
      if (r.dst === 'default') continue;
      try {
        used.push(parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`));
      } catch {
        /* not IPv4 */
      }
    }
    for (const a of addrs) {
      if (a.ifname === br) continue;
      for (const i of a.addr_info ?? []) if (i.family === 'inet') used.push(parseCidr(`${i.local}/${i.prefixlen}`));
    }
    let gw: number;
    if (this.o.bip) {
      const b = parseCidr(this.o.bip);
      this.subnet = { base: b.base, prefix: b.prefix };
      gw = b.ip;
    } else if (existingAddr) {
      const b = parseCidr(`${existingAddr.local}/${existingAddr.prefixlen}`);
      this.subnet = { base: b.base, prefix: b.prefix };
      gw = b.ip;
    } else {
      const saved = ipam.pool(DEFAULT_NETWORK);
      // Docker's own default first, if it is free; then the subnet this bridge had last time.
      const candidates = saved
        ? [BRIDGE_CANDIDATES[0]!, formatPrefix(saved.subnet), ...BRIDGE_CANDIDATES.slice(1)]
        : BRIDGE_CANDIDATES;
      const free = pickFree(candidates, used);
      if (!free)
        throw internal(`create bridge "${br}": no free subnet among ${BRIDGE_CANDIDATES.join(', ')}; use --bip`);
      this.subnet = free;
      gw = free.base + 1;
    }
    this.gateway = intToIp(gw);
    ipam.setPool(DEFAULT_NETWORK, {
      subnet: { family: 4, base: BigInt(this.subnet.base), bits: this.subnet.prefix },
      gateway: BigInt(gw),
    });
    if (this.o.fixedCidrV6) {
      const p = parsePrefix(this.o.fixedCidrV6);
      if (p.family !== 6) throw invalidArgument(`invalid --fixed-cidr-v6: ${this.o.fixedCidrV6} is not an IPv6 subnet`);
      this.subnet6 = { family: 6, base: p.base, bits: p.bits };
      this.gateway6 = formatAddr(6, p.base + 1n);
      ipam.setPool(DEFAULT_NETWORK_V6, { subnet: this.subnet6, gateway: p.base + 1n });
    }
    // The veths get the MTU of the host's default route, so NAT never needs fragmenting.
    const defDev = routes.find((r) => r.dst === 'default')?.dev;
    this.mtu = Math.min(1500, addrs.find((a) => a.ifname === defDev)?.mtu ?? 1500);

    const same = existingAddr?.local === this.gateway && existingAddr.prefixlen === this.subnet.prefix;
    await setUpBridges(this.o.host, [
      {
        name: br,
        // Its own MAC, which ports coming and going never change (see bridgeMac); a bridge
        // already there (kept over a live restore, or the user's own) keeps the one it has.
        ...(existing ? {} : { create: true, macAddress: bridgeMac(this.gateway) }),
        ...(existingAddr && !same ? { delete4: `${existingAddr.local}/${existingAddr.prefixlen}` } : {}),
        ...(same ? {} : { address: `${this.gateway}/${this.subnet.prefix}` }),
        // Replaced: the address may be there already (a restart, live restore).
        ...(this.subnet6 ? { address6: `${this.gateway6}/${this.subnet6.bits}`, replace6: true } : {}),
        up: true,
      },
    ]);
  }

  /** Replaces Berth's nftables table in one transaction (no window without NAT). */
  private async applyRules(): Promise<void> {
    const t = this.table;
    const rules = [
      `table ip ${t}`,
      `delete table ip ${t}`,
      `table ip ${t} {`,
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    ip saddr ${formatSubnet(this.subnet!)} oifname != "${this.o.bridge}" masquerade`,
      '  }',
      // From outside, containers' private addresses answer only what they started: published
      // ports come in through the proxy, never straight to the bridge.
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      `    oifname "${this.o.bridge}" iifname != "${this.o.bridge}" ct state != { established, related } drop`,
      '  }',
      '}',
    ];
    await runNft(this.o.host, rules.join('\n') + '\n');
  }

  private async loadId(): Promise<string> {
    const p = join(this.o.root, 'bridge-id');
    try {
      const id = (await fs.readFile(p, 'utf8')).trim();
      if (/^[0-9a-f]{64}$/.test(id)) return id;
    } catch {
      /* first start */
    }
    const { randomBytes } = await import('node:crypto');
    const id = randomBytes(32).toString('hex');
    await fs.writeFile(`${p}.tmp`, id);
    await fs.rename(`${p}.tmp`, p);
    return id;
  }

  /** Takes (or finds) the container's address on the default bridge. */
  allocate(containerId: string): Endpoint {
    if (!this.ipam || !this.subnet) throw internal('network: the default bridge is not set up');
    const ip = this.ipam.allocate(DEFAULT_NETWORK, containerId);
    const mac = macFor(ipToInt(ip));
    let ip6: string | undefined;
    if (this.subnet6) {
      try {
        ip6 = this.ipam.allocate(DEFAULT_NETWORK_V6, containerId, macAddress6(this.subnet6, mac));
      } catch {
        // The MAC-derived address is taken (a MAC given by hand): the next free one.
        ip6 = this.ipam.allocate(DEFAULT_NETWORK_V6, containerId);
      }
    }
    return {
      network: DEFAULT_NETWORK,
      networkId: this.networkId,
      endpointId: containerId.split('').reverse().join(''),
      ipAddress: ip,
      prefixLen: this.subnet.prefix,
      gateway: this.gateway,
      macAddress: mac,
      ...(ip6 && this.subnet6
        ? { ipv6Address: ip6, ipv6PrefixLen: this.subnet6.bits, ipv6Gateway: this.gateway6 }
        : {}),
      hostVeth: vethName(containerId),
      bridge: this.o.bridge,
      ports: this.published.get(containerId),
    };
  }

  /**
   * Plugs the endpoint into the network namespace of process `pid`: one veth pair, the
   * container side named `ifname` (eth0 at a start) with its address; `gateway` (by default
   * eth0) also gets the default route — a container on a user network given a default-bridge
   * interface too (`docker network connect bridge`) keeps its own, as dockerd's does.
   */
  async connect(ep: Endpoint, target: NetnsTarget, ifname = 'eth0', gateway = ifname === 'eth0'): Promise<void> {
    await plugVeth(this.o.host, target, {
      hostVeth: ep.hostVeth,
      bridge: ep.bridge,
      mtu: this.mtu,
      ifname,
      macAddress: ep.macAddress,
      address: `${ep.ipAddress}/${ep.prefixLen}`,
      gateway: gateway ? ep.gateway : undefined,
      address6: ep.ipv6Address ? `${ep.ipv6Address}/${ep.ipv6PrefixLen}` : undefined,
      gateway6: gateway ? ep.ipv6Gateway : undefined,
      // As on a user network (see plugVeth): without IPv6, no link-local address whose
      // discovery traffic the bridge floods to every container on it.
      noLinkLocal6: !ep.ipv6Address,
    });
  }

  /**
   * Publishes the requested ports to the endpoint (`again`: the mappings of the run a
   * live-restored daemon takes over). `name`: the container's, for Docker's error wording.
   */
  async publish(
    ep: Endpoint,
    containerId: string,
    name: string,
    req: PortRequest,
    again?: PortMapping[],
  ): Promise<void> {
    const hasAny =
      again?.length ||
      Object.keys(req.bindings ?? {}).length ||
      (req.publishAll && Object.keys(req.exposed ?? {}).length);
    if (!hasAny) return;
    ep.ports = await this.proxies.publish(containerId, `${name} (${ep.endpointId})`, ep.ipAddress, req, again);
    this.published.set(containerId, ep.ports);
  }

  release(containerId: string): void {
    this.proxies.unpublish(containerId);
    this.published.delete(containerId);
    this.ipam?.release(DEFAULT_NETWORK, containerId);
    this.ipam?.release(DEFAULT_NETWORK_V6, containerId);
  }

  /** Frees the addresses of containers that no longer run (after a crash or restart). */
  reconcile(running: ReadonlySet<string>): void {
    if (!this.ipam) return;
    for (const a of this.ipam.all()) {
      if (!running.has(a.owner)) {
        this.o.log.debug(`network: release ${a.ip} of ${a.owner.slice(0, 12)}`);
        this.ipam.release(a.pool, a.owner);
      }
    }
  }

  /**
   * At daemon shutdown. `keep` (live restore with running containers): leave everything.
   * Otherwise remove the bridge and the nftables table.
   */
  async shutdown(keep: boolean): Promise<void> {
    this.proxies.closeAll();
    if (!this.enabled || !this.ipam) return;
    if (!keep) {
      await deleteTables(this.o.host, this.table, ['ip']);
      await deleteLinks(this.o.host, [this.o.bridge]);
    }
    this.ipam.close();
    this.ipam = undefined;
  }
}

/**
 * dockerd's IPv6 address on the default bridge: the subnet with the container's MAC address in
 * the low 48 bits (`fd00::242:ac11:2` for 02:42:ac:11:00:02), when the prefix leaves room for
 * it (80 bits or fewer); else undefined (the next free address is taken).
 */
export function macAddress6(subnet: Prefix, mac: string): string | undefined {
  if (subnet.bits > 80) return undefined;
  return formatAddr(6, subnet.base | BigInt(`0x${mac.replace(/:/g, '')}`));
}

/** The host side of a container's veth pair: at most 15 characters, stable per container. */
export function vethName(containerId: string): string {
  return `vb${containerId.slice(0, 12)}`.slice(0, 15);
}
