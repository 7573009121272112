/**
 * User-defined bridge networks (`docker network create`): one Linux bridge `bn-<id12>` each,
 * addresses from their own IPAM pools (persisted, so never handed out twice), outbound NAT
 * unless `--internal`, isolation from every other Berth bridge, and an embedded DNS server
 * on each network's gateway address that answers the names and aliases of the containers on
 * that network and forwards everything else to the host's resolvers.
 *
 * Networks are JSON files under `<root>/networks/`; the rules live in Berth's own nftables
 * table (`ip <table>`), replaced in one transaction whenever a network comes or goes. The DNS
 * server's sockets and forwarding are in userdns.ts; the names it answers are kept here.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Host } from '../host/index.ts';
import { conflict, forbidden, invalidArgument, notFound } from '../errdefs/index.ts';
import type { IPAMConfig, NetworkCreateRequest } from '../api/types/index.ts';
import { bridgeMac, ipToInt, macFor } from './cidr.ts';
import { formatAddr, formatPrefix, parsePrefix, type Prefix } from './ip.ts';
import { Ipam } from './ipam.ts';
import { planIpam } from './ipamconfig.ts';
import type { Endpoint } from './bridge.ts';
import { NetnsLock, SUBNET_LOCK } from './netlock.ts';
import { EmbeddedDns, hostResolvers } from './userdns.ts';
import { deleteLinks, hostBridges, isolatePort, setUpBridges, type BridgeLink } from './bridgelink.ts';
import { deleteTables, runNft } from './nft.ts';
import { CANDIDATES, hostRoutes } from './usersubnets.ts';
import { BRIDGE_NAME, checkBridgeName } from './bridgename.ts';
import { plugVeth, type NetnsTarget } from './veth.ts';

/**
 * A user network as stored (a JSON file each). Fields after `Bridge` came later: a record
 * without them is an IPv4 network whose `IPAM.Config` is its subnet and gateway.
 */
export interface UserNetwork {
  Id: string;
  Name: string;
  Created: string;
  Internal: boolean;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Subnet: string;
  Gateway: string;
  Bridge: string;
  EnableIPv6?: boolean;
  /** With EnableIPv6: the IPv6 subnet and the bridge's address in it. */
  Subnet6?: string;
  Gateway6?: string;
  /** `IPAM.Config` as inspect shows it. */
  IPAMConfig?: IPAMConfig[];
  /** `IPAM.Options` as given (null when none were sent). */
  IPAMOptions?: Record<string, string> | null;
  /** The IPv4/IPv6 subnet was the user's: only then may containers ask for an address in it. */
  Configured4?: boolean;
  Configured6?: boolean;
  /** `--attachable`: kept and shown (swarm's meaning; a bridge network takes any container). */
  Attachable?: boolean;
}

export interface EndpointRequest {
  aliases?: string[];
  ip?: string;
  /** `--ip6`: the container's IPv6 address on an IPv6 network. */
  ip6?: string;
  mac?: string;
  /** `--dns`: where the embedded DNS forwards this container's other queries. */
  dns?: string[];
  /** `--link name:alias` on this network: the alias answers in the embedded DNS, for this container only. */
  links?: Array<{ name: string; alias: string }>;
}

export interface UserNetworkOptions {
  host: Host;
  /** `<data-root>/network` */
  root: string;
  /** The nftables table of this daemon's user networks. */
  table: string;
  /** The default bridge (isolated from user networks), if any. */
  defaultBridge?: () => { name: string; subnet?: string; subnet6?: string } | undefined;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void };
  /** Upstream resolvers for names the embedded DNS does not know (default: the host's). */
  upstream?: string[];
  /** `--icc=false`: containers on the default bridge cannot talk to each other. */
  icc?: boolean;
  /** false: no embedded DNS listeners (unit tests). */
  dns?: boolean;
  /** Held around choosing a subnet and adding it (default: every berthd's, netlock.ts's SUBNET_LOCK). */
  subnetLock?: NetnsLock;
}

interface Member {
  containerId: string;
  name: string;
  aliases: string[];
  ep: Endpoint;
  dns?: string[];
  links?: Array<{ name: string; alias: string }>;
}

/** The IPAM pool of a network's IPv6 subnet (its IPv4 one is named by the network's ID). */
const v6Pool = (id: string) => `${id}/6`;

export const RESERVED_NETWORKS = ['bridge', 'host', 'none', 'default'];

export class UserNetworks {
  private readonly o: UserNetworkOptions;
  private ipam?: Ipam;
  private readonly nets = new Map<string, UserNetwork>();
  /** Members by network ID, then container ID (in memory; rebuilt by `restore`). */
  private readonly members = new Map<string, Map<string, Member>>();
  private readonly dns = new EmbeddedDns(
    {
      resolve: (netId, name, from) => this.resolve(netId, name, from),
      dnsOf: (netId, ip) => this.memberAt(netId, ip)?.dns,
    },
    { warn: (m) => this.o.log.warn(m) },
  );
  private rulesApplied = false;
  /** The last rules replacement queued (see applyRules). */
  private rulesTurn: Promise<void> = Promise.resolve();
  private readonly lock: NetnsLock;

  constructor(o: UserNetworkOptions) {
    this.o = o;
    this.lock = o.subnetLock ?? new NetnsLock(SUBNET_LOCK, { warn: (m) => o.log.warn(`network: ${m}`) });
  }

  private get dir(): string {
    return join(this.o.root, 'networks');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.ipam = new Ipam(join(this.o.root, 'user-ipam.db'));
    for (const f of await fs.readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const n = JSON.parse(await fs.readFile(join(this.dir, f), 'utf8')) as UserNetwork;
        this.nets.set(n.Id, n);
      } catch (e) {
        this.o.log.warn(`network: unreadable ${f}: ${(e as Error).message}`);
      }
    }
    this.dns.upstream = this.o.upstream ?? hostResolvers();
    if (this.nets.size) {
      const have = await hostBridges(this.o.host).catch(() => new Map<string, string | undefined>());
      const bridges: BridgeLink[] = [];
      for (const n of this.nets.values()) {
        // Not there: a crash between the record and the bridge (see create), or a host rebooted.
        if (!have.has(n.Bridge)) bridges.push(userBridge(n));
        // A bridge kept from before (a live restore) keeps the MAC its containers know, set by
        // hand from now on so that it no longer follows its ports (see bridgeMac).
        else if (have.get(n.Bridge)) bridges.push({ name: n.Bridge, macAddress: have.get(n.Bridge) });
      }
      // Under the lock: a subnet of ours that is not on a bridge yet looks free to another daemon choosing one.
      if (bridges.length) await this.lock.run(() => setUpBridges(this.o.host, bridges));
    }
    await this.applyRules();
    for (const n of this.nets.values()) await this.listenDns(n);
  }

  list(): UserNetwork[] {
    return [...this.nets.values()];
  }

  find(ref: string): UserNetwork | undefined {
    if (this.nets.has(ref)) return this.nets.get(ref);
    for (const n of this.nets.values()) if (n.Name === ref) return n;
    if (/^[0-9a-f]{1,64}$/.test(ref)) {
      const hits = [...this.nets.values()].filter((n) => n.Id.startsWith(ref));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1)
        throw invalidArgument(`network ${ref} is ambiguous (${hits.length} matches found based on ID prefix)`);
    }
    return undefined;
  }

  get(ref: string): UserNetwork {
    const n = this.find(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  /** Containers on the network: ID → name, endpoint. */
  membersOf(id: string): Member[] {
    return [...(this.members.get(id)?.values() ?? [])];
  }

  async create(req: NetworkCreateRequest): Promise<UserNetwork> {
    const name = req.Name ?? '';
    // dockerd takes any name but a blank one (spaces, slashes, unicode: the name is only ever a
    // label here; files and interfaces are named by the ID).
    if (!name.trim()) throw invalidArgument(`invalid name: ${name}`);
    if (RESERVED_NETWORKS.includes(name)) throw forbidden(`${name} is a pre-defined network and cannot be created`);
    // The subnet is chosen and put on the bridge under the lock every berthd here shares
    // (netlock.ts): between reading the routes and adding the address, another daemon, or
    // another create of this one, would find the same subnet free. The name is checked under it
    // too, so that two creates of one name cannot both pass.
    const n = await this.lock.run(async () => {
      if ([...this.nets.values()].some((n) => n.Name === name))
        throw conflict(`network with name ${name} already exists`);
      const driver = req.Driver || 'bridge';
      if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
      // dockerd looks the IPAM driver up as a plugin: any but its built-in one is not there.
      const ipamDriver = req.IPAM?.Driver || 'default';
      if (ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);
      const def = this.o.defaultBridge?.();
      checkBridgeName(req.Options?.[BRIDGE_NAME], [
        ...this.nets.values(),
        ...(def ? [{ Name: 'bridge', Bridge: def.name }] : []),
      ]);
      const plan = planIpam({
        configs: req.IPAM?.Config ?? [],
        enableIPv6: !!req.EnableIPv6,
        used: await this.usedSubnets(),
        candidates: CANDIDATES,
      });
      const n = networkRecord(name, req, plan);
      // The record first: a crash after it leaves a network whose bridge the next start makes,
      // never a bridge nothing knows about.
      const p = join(this.dir, `${n.Id}.json`);
      await fs.writeFile(`${p}.tmp`, JSON.stringify(n));
      await fs.rename(`${p}.tmp`, p);
      this.ipam!.setPool(n.Id, plan.v4);
      if (plan.v6) this.ipam!.setPool(v6Pool(n.Id), plan.v6);
      this.nets.set(n.Id, n);
      try {
        await setUpBridges(this.o.host, [userBridge(n)]);
      } catch (e) {
        await this.undoCreate(n);
        throw e;
      }
      return n;
    });
    try {
      await this.applyRules();
      await this.listenDns(n);
    } catch (e) {
      await this.undoCreate(n);
      throw e;
    }
    return n;
  }

  /** A create that failed part way: its bridge, rules and record go. */
  private async undoCreate(n: UserNetwork): Promise<void> {
    this.nets.delete(n.Id);
    await this.teardown(n).catch(() => {});
    await fs.rm(join(this.dir, `${n.Id}.json`), { force: true });
    await this.applyRules().catch(() => {});
  }

  async remove(ref: string): Promise<UserNetwork> {
    const n = this.get(ref);
    const m = this.membersOf(n.Id);
    if (m.length) throw forbidden(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    // The bridge and rules first, the record last: a crash in between leaves the network, whose
    // bridge the next start makes again, never a bridge nothing knows about.
    this.nets.delete(n.Id);
    await this.teardown(n);
    await this.applyRules();
    await fs.rm(join(this.dir, `${n.Id}.json`), { force: true });
    return n;
  }

  private async teardown(n: UserNetwork): Promise<void> {
    this.dns.close(n.Id);
    this.members.delete(n.Id);
    this.ipam?.deletePool(n.Id);
    this.ipam?.deletePool(v6Pool(n.Id));
    await deleteLinks(this.o.host, [n.Bridge]);
  }

  /**
   * Takes (or finds) the container's addresses on the network — IPv4, and IPv6 on an IPv6
   * network — and registers its names for DNS.
   */
  allocate(ref: string, containerId: string, name: string, req: EndpointRequest = {}): Endpoint {
    const ep = this.reserve(ref, containerId, req);
    this.join(ep, containerId, name, req);
    return ep;
  }

  /**
   * The addresses of `allocate` without the names: a warm pool's sandbox (its ID the
   * container's to be) holds its endpoint and answers to nothing in DNS until a container
   * takes it and `join`s. `release` frees it as any other.
   */
  reserve(ref: string, containerId: string, req: Pick<EndpointRequest, 'ip' | 'ip6' | 'mac'> = {}): Endpoint {
    const n = this.get(ref);
    // As dockerd: an address may be asked for only in a subnet the user configured.
    if ((req.ip && !n.Configured4 && n.IPAMConfig) || (req.ip6 && !n.Configured6))
      throw forbidden(
        'user specified IP address is supported only when connecting to networks with user configured subnets',
      );
    const ip = this.ipam!.allocate(n.Id, containerId, req.ip || undefined);
    let ip6: string | undefined;
    if (n.Subnet6) {
      try {
        ip6 = this.ipam!.allocate(v6Pool(n.Id), containerId, req.ip6 || undefined);
      } catch (e) {
        this.ipam!.release(n.Id, containerId);
        throw e;
      }
    }
    const ep: Endpoint = {
      network: n.Name,
      networkId: n.Id,
      endpointId: randomBytes(32).toString('hex'),
      ipAddress: ip,
      prefixLen: Number(n.Subnet.split('/')[1]),
      gateway: n.Gateway,
      macAddress: req.mac || macFor(ipToInt(ip)),
      // `vu`: never mistaken for a default bridge veth (`vb<id>`).
      hostVeth: `vu${containerId.slice(0, 7)}${n.Id.slice(0, 6)}`,
      bridge: n.Bridge,
      ...(ip6 && n.Subnet6
        ? { ipv6Address: ip6, ipv6PrefixLen: Number(n.Subnet6.split('/')[1]), ipv6Gateway: n.Gateway6 }
        : {}),
    };
    return ep;
  }

  /** Registers the names of an endpoint `reserve` made for `containerId` (its name, aliases, --dns, links) for DNS. */
  join(ep: Endpoint, containerId: string, name: string, req: EndpointRequest = {}): void {
    this.register(ep.networkId, { containerId, name, aliases: req.aliases ?? [], ep, dns: req.dns, links: req.links });
  }

  /** A live-restored container's endpoint, registered again for DNS. */
  restore(
    ep: Endpoint,
    containerId: string,
    name: string,
    aliases: string[] = [],
    dns?: string[],
    links?: EndpointRequest['links'],
  ): void {
    if (!this.nets.has(ep.networkId)) return;
    // The pool's records hold the address already (unless a crash lost the write): a lookup
    // rather than a write transaction each, for a thousand containers restored.
    if (this.ipam!.lookup(ep.networkId, containerId) !== ep.ipAddress)
      this.ipam!.allocate(ep.networkId, containerId, ep.ipAddress);
    if (ep.ipv6Address && this.ipam!.lookup(v6Pool(ep.networkId), containerId) !== ep.ipv6Address)
      this.ipam!.allocate(v6Pool(ep.networkId), containerId, ep.ipv6Address);
    this.register(ep.networkId, { containerId, name, aliases, ep, dns, links });
  }

  private register(netId: string, m: Member): void {
    let map = this.members.get(netId);
    if (!map) this.members.set(netId, (map = new Map()));
    map.set(m.containerId, m);
  }

  /**
   * Plugs the endpoint into a network namespace (a process's, or one bound to a file) as `ifname`;
   * `gateway` (by default the first interface, eth0) also gets the default route.
   */
  async attach(
    ep: Endpoint,
    target: NetnsTarget,
    ifname: string,
    mtu = 1500,
    gateway = ifname === 'eth0',
  ): Promise<void> {
    const noIcc = [...this.nets.values()].some(
      (n) => n.Id === ep.networkId && n.Options['com.docker.network.bridge.enable_icc'] === 'false',
    );
    await plugVeth(this.o.host, target, {
      hostVeth: ep.hostVeth,
      bridge: ep.bridge,
      mtu,
      ifname,
      macAddress: ep.macAddress,
      isolated: noIcc,
      address: `${ep.ipAddress}/${ep.prefixLen}`,
      gateway: gateway ? ep.gateway : undefined,
      address6: ep.ipv6Address ? `${ep.ipv6Address}/${ep.ipv6PrefixLen}` : undefined,
      gateway6: gateway ? ep.ipv6Gateway : undefined,
      noLinkLocal6: !ep.ipv6Address,
    });
  }

  /** Takes the endpoint's veth away (a running container disconnected). */
  async detach(ep: Endpoint): Promise<void> {
    await deleteLinks(this.o.host, [ep.hostVeth]);
  }

  /** Frees the container's address on one network (or on all of them). */
  release(containerId: string, netId?: string): void {
    for (const [id, map] of this.members) {
      if (netId && id !== netId) continue;
      map.delete(containerId);
    }
    if (!this.ipam) return;
    // The owner's own allocations, not every one: this runs at every container's exit.
    for (const pool of this.ipam.poolsOf(containerId))
      if (!netId || pool === netId || pool === v6Pool(netId)) this.ipam.release(pool, containerId);
  }

  /** Frees the addresses of containers that no longer run. */
  reconcile(running: ReadonlySet<string>): void {
    if (!this.ipam) return;
    for (const a of this.ipam.all()) if (!running.has(a.owner)) this.ipam.release(a.pool, a.owner);
  }

  async shutdown(keep: boolean): Promise<void> {
    this.dns.closeAll();
    if (!keep) {
      await deleteLinks(
        this.o.host,
        [...this.nets.values()].map((n) => n.Bridge),
      );
      if (this.rulesApplied) await deleteTables(this.o.host, this.o.table, ['ip', 'ip6', 'bridge']);
    }
    this.ipam?.close();
    this.ipam = undefined;
  }

  /** What a new network's subnets must not overlap: this daemon's networks and the host's routes. */
  private async usedSubnets(): Promise<Prefix[]> {
    const used: Prefix[] = [];
    for (const n of this.nets.values()) {
      used.push(parsePrefix(n.Subnet));
      if (n.Subnet6) used.push(parsePrefix(n.Subnet6));
    }
    const def = this.o.defaultBridge?.();
    if (def?.subnet) used.push(parsePrefix(def.subnet));
    if (def?.subnet6) used.push(parsePrefix(def.subnet6));
    used.push(...(await hostRoutes(this.o.host)));
    return used;
  }

  /**
   * NAT and isolation for every user network, in one transaction. One replacement at a time,
   * each computed when its turn comes: two creates at once each ran `nft -f` with the networks
   * they saw, and the one that finished last won — a table without the other's network.
   */
  private applyRules(): Promise<void> {
    const turn = this.rulesTurn.then(() => this.replaceRules());
    this.rulesTurn = turn.catch(() => {});
    return turn;
  }

  private async replaceRules(): Promise<void> {
    const t = this.o.table;
    const nets = [...this.nets.values()];
    if (!nets.length) {
      // Nothing to do at a start without networks (one spawn less); after the last one goes, the table goes.
      if (this.rulesApplied) await deleteTables(this.o.host, t, ['ip', 'ip6']);
      this.rulesApplied = false;
      return;
    }
    this.rulesApplied = true;
    const bridges = nets.map((n) => `"${n.Bridge}"`);
    const def = this.o.defaultBridge?.()?.name;
    if (def) bridges.push(`"${def}"`);
    const nat: string[] = [];
    const fwd: string[] = [];
    for (const n of nets) {
      const b = `"${n.Bridge}"`;
      if (n.Internal) {
        fwd.push(`    iifname ${b} oifname != ${b} drop`, `    oifname ${b} iifname != ${b} drop`);
      } else {
        nat.push(`    ip saddr ${n.Subnet} oifname != ${b} masquerade`);
        fwd.push(`    iifname ${b} oifname != ${b} oifname @bridges drop`);
      }
    }
    if (def) fwd.push(`    iifname "${def}" oifname != "${def}" oifname @bridges drop`);
    const forward = [
      `  set bridges { type ifname; elements = { ${bridges.join(', ')} } }`,
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      ...fwd,
      '  }',
    ];
    const rules = [
      `table ip ${t}`,
      `delete table ip ${t}`,
      `table ip ${t} {`,
      ...forward,
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      ...nat,
      '  }',
      '}',
      // IPv6: the same isolation, in a table of its own family; no NAT, as dockerd 20.10 has none
      // (the table is there, empty of networks or not, so that one transaction always replaces it).
      `table ip6 ${t}`,
      `delete table ip6 ${t}`,
      `table ip6 ${t} {`,
      ...forward,
      '}',
    ];
    await runNft(this.o.host, rules.join('\n') + '\n');
  }

  /** Whether containers on the default bridge may talk to each other (`--icc`). */
  get icc(): boolean {
    return this.o.icc !== false;
  }

  /**
   * Cuts a bridge port off from the other isolated ports (the kernel's bridge port isolation):
   * `--icc=false` on the default bridge, `com.docker.network.bridge.enable_icc=false` on a
   * user network. The host and the outside stay reachable through the bridge itself. A port
   * plugged into a user network is isolated as it is plugged (plugVeth's `isolated`); this is
   * for one already plugged, into the default bridge: by the launcher where there is one
   * (bridgelink.ts), no ip started on that start.
   */
  async isolate(hostVeth: string): Promise<void> {
    await isolatePort(this.o.host, hostVeth);
  }

  // ---- names, for the embedded DNS (userdns.ts) ----

  private async listenDns(n: UserNetwork): Promise<void> {
    if (this.o.dns !== false) await this.dns.listen(n.Id, n.Name, n.Gateway);
  }

  /**
   * The addresses of `name` for a query that came from `from` on network `netId`: a container's
   * name, alias, short or full ID on any network the asking container is on (as Docker's
   * embedded DNS answers), that network's first; or the container a link of the asker's names
   * by that alias. An alias several containers share (a Compose service scaled up) has all
   * their addresses, as libnetwork answers them, shuffled for a round robin. Undefined when
   * nobody has the name.
   */
  resolve(netId: string, name: string, from?: string): { v4: string[]; v6: string[] } | undefined {
    const q = name.toLowerCase().replace(/\.$/, '');
    const nets = [netId];
    const asker = from ? this.memberAt(netId, from) : undefined;
    if (asker) for (const [id, map] of this.members) if (id !== netId && map.has(asker.containerId)) nets.push(id);
    // A link's alias, for the container that has the link on any of its networks.
    const links = asker ? [...this.members.values()].flatMap((map) => map.get(asker.containerId)?.links ?? []) : [];
    const link = links.find((l) => l.alias.toLowerCase() === q);
    const wanted = link ? link.name.replace(/^\//, '').toLowerCase() : q;
    for (const id of nets) {
      const found = [...(this.members.get(id)?.values() ?? [])].filter(
        (m) =>
          m.name.toLowerCase() === wanted ||
          (!link && m.aliases.some((a) => a.toLowerCase() === q)) ||
          (!link && q.length >= 12 && m.containerId.startsWith(q)),
      );
      if (!found.length) continue;
      shuffle(found);
      return {
        v4: found.map((m) => m.ep.ipAddress),
        v6: found.flatMap((m) => (m.ep.ipv6Address ? [m.ep.ipv6Address] : [])),
      };
    }
    return undefined;
  }

  /** The member of network `netId` at address `ip` (IPv4 or IPv6). */
  private memberAt(netId: string, ip: string): Member | undefined {
    const bare = ip.replace(/^::ffff:/, '');
    for (const m of this.members.get(netId)?.values() ?? [])
      if (m.ep.ipAddress === bare || m.ep.ipv6Address === ip) return m;
    return undefined;
  }
}

/** A new network's record, its subnets as `plan` chose them. */
function networkRecord(name: string, req: NetworkCreateRequest, plan: ReturnType<typeof planIpam>): UserNetwork {
  const id = randomBytes(32).toString('hex');
  return {
    Id: id,
    Name: name,
    Created: new Date().toISOString(),
    Internal: !!req.Internal,
    Attachable: !!req.Attachable,
    Labels: req.Labels ?? {},
    Options: req.Options ?? {},
    Subnet: formatPrefix(plan.v4.subnet),
    Gateway: formatAddr(4, plan.v4.gateway),
    // `-o com.docker.network.bridge.name=...`: the bridge the user asked for (firewall rules and
    // scripts on the host name it), else one named by the ID.
    Bridge: req.Options?.[BRIDGE_NAME] || `bn-${id.slice(0, 12)}`,
    EnableIPv6: !!req.EnableIPv6,
    IPAMConfig: plan.view,
    IPAMOptions: req.IPAM?.Options ?? null,
    Configured4: plan.v4.configured,
    // As dockerd: an IPv6 subnet given is configured even without EnableIPv6, so `--ip6` on
    // such a network is taken (and, with no IPv6 there, gives no address).
    Configured6: plan.view.some((c) => c.Subnet?.includes(':')),
    ...(plan.v6 ? { Subnet6: formatPrefix(plan.v6.subnet), Gateway6: formatAddr(6, plan.v6.gateway) } : {}),
  };
}

/** A network's bridge as its create makes it (bridgelink.ts does the steps). */
function userBridge(n: UserNetwork): BridgeLink {
  return {
    name: n.Bridge,
    create: true,
    // Its own MAC, which ports coming and going never change (see bridgeMac).
    macAddress: bridgeMac(n.Gateway),
    address: `${n.Gateway}/${n.Subnet.split('/')[1]}`,
    // Without DAD: the address works at once (duplicate address detection would hold it for a second).
    ...(n.Subnet6 ? { address6: `${n.Gateway6}/${n.Subnet6.split('/')[1]}` } : {}),
    up: true,
  };
}

/** Fisher–Yates, in place: the order of a shared name's addresses changes with every answer. */
function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
