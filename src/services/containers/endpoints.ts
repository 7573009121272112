/**
 * A container's network endpoints: where its network comes from at a start (an endpoint on
 * the default bridge, on a user network, another container's namespace, or none), the ports it
 * publishes, the further networks it joins as eth1, eth2..., `docker network connect` and
 * `disconnect`, and what a live restore puts back. The service calls these at create (the
 * mode's check), at a start (plan, publish, attach) and after an exit (release).
 */
import { conflict, forbidden, invalidArgument, is, notFound } from '../../errdefs/index.ts';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  BUILTIN_NETWORK_IDS,
  tryParseAddr,
  type Endpoint,
  type EndpointRequest,
  type NetnsTarget,
} from '../../network/index.ts';
import { shortId } from '../../spec/index.ts';
import type { ContainerContext } from './context.ts';
import { parseLink } from './links.ts';
import type { ContainerRecord } from './types.ts';

/** Where a task's network comes from (see `Endpoints.plan`). */
/**
 * `etcDir`: with `--network container:<id>`, the directory of that container, whose
 * /etc/hosts, /etc/hostname and /etc/resolv.conf the joiner shares (as Docker does, and what
 * lets a pod's members see one /etc/hosts).
 */
export type NetworkPlan = { endpoint?: Endpoint; netnsPath?: string; dnsServer?: string; etcDir?: string };

/** What a client asks for on one network: aliases, a fixed address, a MAC (`EndpointsConfig` entries). */
export type EndpointSettings = NonNullable<ContainerRecord['EndpointsConfig']>[string];

/** What endpoints need of the rest of the service. */
export interface EndpointHooks {
  /** Takes down a task created ahead of its start: it was wired to the networks of before. */
  dropPrepared(c: ContainerRecord): Promise<void>;
  /** A start failed with `code` before anything ran (waiters learn it; `--rm` removes). */
  startFailed(c: ContainerRecord, code: number): void;
  /**
   * The warm pool's sandboxes on user network `networkId` go, as a container needs an address
   * they hold (pool.ts's yieldNetwork); true if any went.
   */
  yieldAddresses?(networkId: string): Promise<boolean>;
  /** The init's pid of a task created ahead of its start (tasks.ts), if `id` has one. */
  preparedPid(id: string): number | undefined;
}

export class Endpoints {
  private readonly ctx: ContainerContext;
  private readonly hooks: EndpointHooks;

  constructor(ctx: ContainerContext, hooks: EndpointHooks) {
    this.ctx = ctx;
    this.hooks = hooks;
  }

  /**
   * Where the container's network comes from: an endpoint on the default bridge (for the
   * `default`/`bridge` modes), another container's namespace (`container:<id>`), or nothing.
   * `ahead`: a task made before its start (a pod member's sandbox, pool.ts) may join one whose
   * own task is created but not started yet — its namespaces exist; the start checks that
   * they are still the ones joined (Tasks.joinedStill).
   */
  plan(c: ContainerRecord, ahead = false): NetworkPlan {
    const mode = c.HostConfig.NetworkMode || 'default';
    if (mode.startsWith('container:')) {
      const other = this.ctx.store.get(mode.slice('container:'.length));
      const pid = this.pidToJoin(other, 'network', ahead);
      // As moby's initializeNetworking: the joiner takes the other's names with its /etc
      // files, so `hostname` inside agrees with /etc/hostname and inspect says so.
      c.Config.Hostname = other.Config.Hostname;
      c.Config.Domainname = other.Config.Domainname;
      return { netnsPath: `/proc/${pid}/ns/net`, etcDir: this.ctx.dir(other.Id) };
    }
    if (c.PrimaryDetached) return {};
    if ((mode === 'default' || mode === 'bridge') && !c.Config.NetworkDisabled && this.ctx.d.network?.enabled) {
      const ep = this.ctx.d.network.allocate(c.Id);
      // --mac-address (the CLI sends it in the endpoint's settings, older ones in Config).
      const mac = this.request(c, mode).mac;
      if (mac) ep.macAddress = mac;
      return { endpoint: ep };
    }
    if (!['default', 'bridge', 'host', 'none'].includes(mode) && this.ctx.d.userNetworks) {
      const ep = this.ctx.d.userNetworks.allocate(mode, c.Id, c.Name, this.request(c, mode));
      return { endpoint: ep, dnsServer: ep.gateway };
    }
    return {};
  }

  /**
   * `plan`, once more if the container's user network had no address for it while the warm
   * pool held some there (see `withRoom`).
   */
  async planWithRoom(c: ContainerRecord, ahead = false): Promise<NetworkPlan> {
    const key = this.userNetworkKey(c);
    return key && !c.PrimaryDetached ? this.withRoom(key, () => this.plan(c, ahead)) : this.plan(c, ahead);
  }

  /**
   * `allocate()` on user network `ref`; if its addresses are taken (none left, or the one
   * asked for), the warm pool's sandboxes there give theirs back and it is tried again — a
   * sandbox is no container, and a network must not look fuller with the pool than without.
   */
  private async withRoom<T>(ref: string, allocate: () => T): Promise<T> {
    try {
      return allocate();
    } catch (e) {
      const id = this.ctx.d.userNetworks?.find(ref)?.Id;
      if (!id || !is(e, 'Conflict') || !(await this.hooks.yieldAddresses?.(id))) throw e;
      return allocate();
    }
  }

  /** After a live restore: listen again on the ports running containers published. */
  async republish(): Promise<void> {
    for (const c of this.ctx.store.all()) {
      const ep = c.Network;
      if (!c.State.Running || !ep?.ports?.length || !this.ctx.d.network) continue;
      await this.ctx.d.network
        .publish(ep, c.Id, c.Name, {}, ep.ports)
        .catch((e) => this.ctx.d.log.warn(`publish ports of ${shortId(c.Id)}: ${(e as Error).message}`));
    }
  }

  /**
   * Publishes the container's ports on its endpoint: the prepared task's, or one allocated now,
   * which is returned for the task to use (the published ports are recorded on it, and that
   * is where `inspect` and `ps` read them).
   */
  async publish(c: ContainerRecord): Promise<NetworkPlan | undefined> {
    const h = c.HostConfig;
    if (!Object.keys(h.PortBindings ?? {}).length && !h.PublishAllPorts) return undefined;
    const plan = c.Network ? undefined : this.plan(c);
    const ep = c.Network ?? plan?.endpoint;
    if (!ep) return undefined;
    try {
      await this.ctx.d.network!.publish(ep, c.Id, c.Name, {
        bindings: h.PortBindings,
        exposed: c.Config.ExposedPorts,
        publishAll: h.PublishAllPorts,
      });
    } catch (e) {
      await this.hooks.dropPrepared(c);
      this.release(c);
      this.hooks.startFailed(c, 128);
      throw e;
    }
    return plan;
  }

  /** `--pid|--ipc|--uts container:<id>`: the running container's namespace. */
  joinedNamespace(
    mode: string | undefined,
    ns: 'pid' | 'ipc' | 'uts',
    what: string,
    ahead = false,
  ): string | undefined {
    if (!mode?.startsWith('container:')) return undefined;
    const other = this.ctx.store.get(mode.slice('container:'.length));
    return `/proc/${this.pidToJoin(other, what, ahead)}/ns/${ns}`;
  }

  /** The process whose namespaces a joiner takes: the other's init, running (or, `ahead`, created ahead). */
  private pidToJoin(other: ContainerRecord, what: string, ahead: boolean): number {
    if (other.State.Running && other.State.Pid) return other.State.Pid;
    const prepared = ahead && other.State.Status === 'created' ? this.hooks.preparedPid(other.Id) : undefined;
    if (prepared) return prepared;
    throw conflict(`cannot join ${what} of a non running container: ${other.Id}`);
  }

  release(c: ContainerRecord): void {
    this.ctx.d.network?.release(c.Id);
    this.ctx.d.userNetworks?.release(c.Id);
    c.Network = undefined;
    c.ExtraNetworks = undefined;
    c.NextIf = undefined;
    // The veths of a namespace made ahead live as long as it is bound.
    void this.releaseNamespace(c.Id).catch(() => {});
  }

  /** What Docker refuses at create in a container's network settings. */
  check(c: ContainerRecord): void {
    const builtIn = (k: string) => ['default', 'bridge', 'host', 'none'].includes(k);
    // Aliases and fixed addresses only on user networks (the CLI keys the default network's settings by the mode).
    for (const [k, cfg] of Object.entries(c.EndpointsConfig ?? {})) {
      const v4 = cfg?.IPAMConfig?.IPv4Address;
      const v6 = cfg?.IPAMConfig?.IPv6Address;
      if (v4 && tryParseAddr(v4)?.family !== 4) throw invalidArgument(`invalid IPv4 address: ${v4}`);
      if (v6 && tryParseAddr(v6)?.family !== 6) throw invalidArgument(`invalid IPv6 address: ${v6}`);
      if (!builtIn(k)) continue;
      if (cfg?.Aliases?.length && (k === 'bridge' || k === 'default'))
        throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
      if (v4 || v6) throw invalidArgument('user specified IP address is supported on user defined networks only');
    }
    // A user network that is not there is not looked up here: it is the start's error (404,
    // the container stays created), as moby's, where a network may be made between the two —
    // and the docker CLI answers a create's 404 with a pull of the image.
  }

  /** The key of the container's user network in its endpoints (its NetworkMode), if it is on one. */
  userNetworkKey(c: ContainerRecord): string | undefined {
    const mode = c.HostConfig.NetworkMode || 'default';
    return ['default', 'bridge', 'host', 'none'].includes(mode) || mode.startsWith('container:') ? undefined : mode;
  }

  /** Aliases, addresses, MAC and links asked for on network `ref` (by name or ID). */
  request(c: ContainerRecord, ref: string): EndpointRequest & { aliases: string[] } {
    const n = this.ctx.d.userNetworks?.find(ref);
    const cfg = c.EndpointsConfig?.[ref] ?? (n && (c.EndpointsConfig?.[n.Name] ?? c.EndpointsConfig?.[n.Id]));
    const mode = c.HostConfig.NetworkMode || 'default';
    const mac = cfg?.MacAddress || (ref === mode ? (c.Config as { MacAddress?: string }).MacAddress : undefined);
    return {
      aliases: [...(cfg?.Aliases ?? []), c.Id.slice(0, 12)],
      ip: cfg?.IPAMConfig?.IPv4Address || undefined,
      ip6: cfg?.IPAMConfig?.IPv6Address || undefined,
      mac: mac || undefined,
      dns: c.HostConfig.Dns?.length ? c.HostConfig.Dns : undefined,
      links: cfg?.Links?.length ? cfg.Links.map(parseLink) : undefined,
    };
  }

  /** Plugs `ep` into the task's namespace: its process's (a pid), or one bound to a file. */
  async attach(ep: Endpoint, target: NetnsTarget, ifname: string, gateway = ifname === 'eth0'): Promise<void> {
    if (ep.bridge === this.ctx.d.network?.bridgeName) {
      await this.ctx.d.network.connect(ep, target, ifname, gateway);
      if (this.ctx.d.userNetworks && !this.ctx.d.userNetworks.icc) await this.ctx.d.userNetworks.isolate(ep.hostVeth);
    } else await this.ctx.d.userNetworks!.attach(ep, target, ifname, undefined, gateway);
  }

  /** `<container dir>/netns`: where a namespace made ahead of the task is bound (see `prewire`). */
  private netnsFile(id: string): string {
    return join(this.ctx.dir(id), 'netns');
  }

  /**
   * For a runtime that takes the interfaces it finds when it creates or restores the task
   * (gVisor copies them into its own network stack then): a namespace of the container's own,
   * made now and bound to a file, with every endpoint plugged in. The task joins it by path;
   * `releaseNamespace` lets it go after the task.
   */
  async prewire(c: ContainerRecord, ep: Endpoint): Promise<string> {
    const file = this.netnsFile(c.Id);
    await this.releaseNamespace(c.Id);
    await fs.writeFile(file, '');
    await this.ctx.d.host.run('unshare', [`--net=${file}`, 'true']);
    await this.attach(ep, file, 'eth0');
    await this.attachExtras(c, file);
    return file;
  }

  /** Unbinds and removes the namespace `prewire` made for `id`, if there is one; its veths go with it. */
  async releaseNamespace(id: string): Promise<void> {
    const file = this.netnsFile(id);
    if (!existsSync(file)) return;
    await this.ctx.d.host.unmount(file).catch(() => {});
    await fs.rm(file, { force: true });
  }

  /** Further user networks asked for at create (or connected while stopped): eth1, eth2... */
  async attachExtras(c: ContainerRecord, target: NetnsTarget): Promise<void> {
    const un = this.ctx.d.userNetworks;
    // A run's names are counted afresh (nextIfname): eth0 is its own network's, if it has one.
    c.NextIf = c.Network ? 1 : 0;
    if (!un || !c.EndpointsConfig) return;
    const mode = c.HostConfig.NetworkMode || 'default';
    const primary = un.find(mode)?.Id;
    c.ExtraNetworks = [];
    for (const key of Object.keys(c.EndpointsConfig)) {
      if (key === 'bridge' && this.bridgeExtra(c)) {
        // A user network's container connected to the default bridge while stopped.
        const ep = this.ctx.d.network!.allocate(c.Id);
        await this.attach(ep, target, `eth${c.ExtraNetworks.length + (c.Network ? 1 : 0)}`);
        c.ExtraNetworks.push(ep);
        continue;
      }
      if (['default', 'bridge', 'host', 'none', mode].includes(key)) continue;
      const n = un.find(key);
      if (!n || n.Id === primary || c.ExtraNetworks.some((e) => e.networkId === n.Id)) continue;
      const ep = await this.withRoom(n.Id, () => un.allocate(n.Id, c.Id, c.Name, this.request(c, key)));
      await un.attach(ep, target, `eth${c.ExtraNetworks.length + (c.Network ? 1 : 0)}`);
      c.ExtraNetworks.push(ep);
    }
    c.NextIf = c.ExtraNetworks.length + (c.Network ? 1 : 0);
  }

  /** `docker network connect`: a running container gets the interface now, others at start. */
  async connect(ref: string, netRef: string, cfg: EndpointSettings): Promise<void> {
    if (netRef === 'bridge') return this.connectBridge(ref, cfg);
    const un = this.ctx.d.userNetworks;
    if (!un) throw notFound(`network ${netRef} not found`);
    const n = un.get(netRef);
    const c = this.ctx.store.get(ref);
    let plugged = false;
    await this.ctx.locks.run(c.Id, async () => {
      const mode = refuseSharedNamespace(c);
      const primary = un.find(mode)?.Id === n.Id;
      const mine =
        (primary && !c.PrimaryDetached) ||
        c.ExtraNetworks?.some((e) => e.networkId === n.Id) ||
        Object.keys(c.EndpointsConfig ?? {}).some((k) => un.find(k)?.Id === n.Id);
      // dockerd refuses a second endpoint only where there is one: a stopped container's
      // settings for the network are taken again (the new aliases, address... replace them).
      if (mine && c.State.Running) throw forbidden(`endpoint with name ${c.Name} already exists in network ${n.Name}`);
      if (mine) {
        for (const k of Object.keys(c.EndpointsConfig ?? {})) if (un.find(k)?.Id === n.Id) delete c.EndpointsConfig![k];
      }
      this.refuseLatePlug(c, n.Name);
      c.EndpointsConfig = { ...(c.EndpointsConfig ?? {}), [n.Name]: cfg ?? {} };
      if (primary) c.PrimaryDetached = false;
      // A task created ahead of the start was wired without this network: the start makes a new one.
      if (!c.State.Running) await this.hooks.dropPrepared(c);
      if (c.State.Running && c.State.Pid) {
        const ep = await this.withRoom(n.Id, () => un.allocate(n.Id, c.Id, c.Name, this.request(c, n.Name)));
        const extra = c.ExtraNetworks ?? [];
        const gateway = !c.Network && !extra.length;
        ep.ifname = nextIfname(c);
        try {
          await un.attach(ep, c.State.Pid, ep.ifname, undefined, gateway);
        } catch (e) {
          un.release(c.Id, n.Id);
          delete c.EndpointsConfig[n.Name];
          throw e;
        }
        c.ExtraNetworks = [...extra, ep];
        plugged = true;
      }
      this.ctx.store.save(c);
    });
    // A container that does not run is connected at its start, and logs it then (networkEvents), as dockerd's.
    if (plugged)
      this.ctx.d.events.publish('network', 'connect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
  }

  /** A running container whose runtime takes its networks only at start (gVisor): an interface plugged in now would never be seen inside. */
  private refuseLatePlug(c: ContainerRecord, network: string): void {
    if (c.State.Running && this.ctx.runtime(c).networkAtCreate)
      throw conflict(
        `cannot connect running container ${c.Name} to network ${network}: its runtime (${this.ctx.d.runtimes.nameOf(c)}) takes its networks only when it starts; stop it first`,
      );
  }

  /** The container a `network disconnect` names, or dockerd's 404 for it. */
  private toDisconnect(ref: string, force: boolean): ContainerRecord {
    const c = this.ctx.store.find(ref);
    if (c) return c;
    // dockerd's -f looks for an endpoint left by a container that is gone; Berth's go with
    // their containers, so there is none to find.
    if (force) throw notFound(`endpoint ${ref} not found`);
    throw notFound(`No such container: ${ref}`);
  }

  /** `docker network disconnect`. */
  async disconnect(ref: string, netRef: string, force = false): Promise<void> {
    if (netRef === 'bridge') return this.disconnectBridge(ref, force);
    const un = this.ctx.d.userNetworks;
    if (!un) throw notFound(`network ${netRef} not found`);
    const n = un.get(netRef);
    const c = this.toDisconnect(ref, force);
    await this.ctx.locks.run(c.Id, async () => {
      const mode = c.HostConfig.NetworkMode || 'default';
      const key = Object.keys(c.EndpointsConfig ?? {}).find((k) => un.find(k)?.Id === n.Id);
      const ep =
        c.ExtraNetworks?.find((e) => e.networkId === n.Id) ?? (c.Network?.networkId === n.Id ? c.Network : undefined);
      if (!key && !ep && un.find(mode)?.Id !== n.Id)
        throw forbidden(`container ${c.Id} is not connected to network ${n.Name}`);
      if (!c.State.Running) await this.hooks.dropPrepared(c);
      if (ep) await un.detach(ep);
      un.release(c.Id, n.Id);
      if (key) delete c.EndpointsConfig![key];
      c.ExtraNetworks = c.ExtraNetworks?.filter((e) => e.networkId !== n.Id);
      if (c.Network?.networkId === n.Id) c.Network = undefined;
      if (un.find(mode)?.Id === n.Id) c.PrimaryDetached = true;
      this.ctx.store.save(c);
    });
    this.ctx.d.events.publish('network', 'disconnect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
  }

  /**
   * Whether `c` would take the default bridge as an extra endpoint: a container whose own
   * network is a user one, with the bridge among its endpoints (`network connect bridge`).
   */
  private bridgeExtra(c: ContainerRecord): boolean {
    const mode = c.HostConfig.NetworkMode || 'default';
    return !!this.ctx.d.network?.enabled && this.userNetworkKey(c) !== undefined && !mode.startsWith('container:');
  }

  /**
   * `docker network connect bridge`: a container of the default bridge taken off it gets it
   * back (as its own network again); a user network's container gets a default-bridge
   * interface besides (an extra endpoint, eth1...). Running, the interface is plugged in now;
   * stopped, at its next start. The default bridge has no embedded DNS, aliases or fixed
   * addresses: dockerd refuses those with the words `check` uses at create.
   */
  private async connectBridge(ref: string, cfg: EndpointSettings): Promise<void> {
    const net = this.ctx.d.network;
    if (!net?.enabled) throw notFound('network bridge not found');
    const c = this.ctx.store.get(ref);
    if (cfg?.Aliases?.length)
      throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
    if (cfg?.IPAMConfig?.IPv4Address || cfg?.IPAMConfig?.IPv6Address)
      throw invalidArgument('user specified IP address is supported on user defined networks only');
    let plugged = false;
    await this.ctx.locks.run(c.Id, async () => {
      const mode = refuseSharedNamespace(c);
      const own = mode === 'default' || mode === 'bridge';
      const mine = own
        ? !c.PrimaryDetached
        : 'bridge' in (c.EndpointsConfig ?? {}) || !!c.ExtraNetworks?.some((e) => e.networkId === net.networkId);
      // As on a user network: only a running container's second endpoint is refused.
      if (mine && c.State.Running) throw forbidden(`endpoint with name ${c.Name} already exists in network bridge`);
      this.refuseLatePlug(c, 'bridge');
      if (own) c.PrimaryDetached = false;
      else c.EndpointsConfig = { ...(c.EndpointsConfig ?? {}), bridge: cfg ?? {} };
      if (!c.State.Running) await this.hooks.dropPrepared(c);
      if (c.State.Running && c.State.Pid) {
        const ep = net.allocate(c.Id);
        const gateway = !c.Network && !c.ExtraNetworks?.length;
        ep.ifname = nextIfname(c);
        try {
          await this.attach(ep, c.State.Pid, ep.ifname, gateway);
        } catch (e) {
          net.release(c.Id);
          if (own) c.PrimaryDetached = true;
          else delete c.EndpointsConfig!.bridge;
          throw e;
        }
        if (own) c.Network = ep;
        else c.ExtraNetworks = [...(c.ExtraNetworks ?? []), ep];
        plugged = true;
      }
      this.ctx.store.save(c);
    });
    if (plugged)
      this.ctx.d.events.publish('network', 'connect', net.networkId, {
        container: c.Id,
        name: 'bridge',
        type: 'bridge',
      });
  }

  /**
   * `docker network disconnect bridge`: the default bridge's endpoint goes (the veth, the
   * address, the ports published through it); a default-bridge container is left with no
   * network of its own until it is connected again, as dockerd's.
   */
  private async disconnectBridge(ref: string, force: boolean): Promise<void> {
    const net = this.ctx.d.network;
    if (!net?.enabled) throw notFound('network bridge not found');
    const c = this.toDisconnect(ref, force);
    await this.ctx.locks.run(c.Id, async () => {
      const mode = c.HostConfig.NetworkMode || 'default';
      const own = mode === 'default' || mode === 'bridge';
      const ep =
        c.Network?.networkId === net.networkId
          ? c.Network
          : c.ExtraNetworks?.find((e) => e.networkId === net.networkId);
      const on = own ? !c.PrimaryDetached : 'bridge' in (c.EndpointsConfig ?? {}) || !!ep;
      if (!on) throw forbidden(`container ${c.Id} is not connected to network bridge`);
      if (!c.State.Running) await this.hooks.dropPrepared(c);
      if (ep) await deleteVeth(this.ctx, ep);
      net.release(c.Id);
      if (own) c.PrimaryDetached = true;
      else delete c.EndpointsConfig?.bridge;
      if (c.Network === ep) c.Network = undefined;
      c.ExtraNetworks = c.ExtraNetworks?.filter((e) => e !== ep);
      this.ctx.store.save(c);
    });
    this.ctx.d.events.publish('network', 'disconnect', net.networkId, {
      container: c.Id,
      name: 'bridge',
      type: 'bridge',
    });
  }

  /**
   * The `network connect` events of a start (before its `start`) and the `network disconnect`
   * ones of an exit (after its `die`), as dockerd logs them: one for each network the run is
   * on — the default bridge first at a start and last at an exit, `host` and `none` too (types
   * host and null); none for a namespace joined from another container.
   */
  networkEvents(c: ContainerRecord, action: 'connect' | 'disconnect'): void {
    const nets = this.runNetworks(c);
    if (action === 'disconnect') nets.reverse();
    for (const n of nets)
      this.ctx.d.events.publish('network', action, n.id, { container: c.Id, name: n.name, type: n.type });
  }

  private runNetworks(c: ContainerRecord): Array<{ id: string; name: string; type: string }> {
    const mode = c.HostConfig.NetworkMode || 'default';
    if (mode === 'host' || mode === 'none')
      return [{ id: BUILTIN_NETWORK_IDS[mode], name: mode, type: mode === 'none' ? 'null' : 'host' }];
    const bridgeId = this.ctx.d.network?.networkId;
    const out: Array<{ id: string; name: string; type: string }> = [];
    for (const ep of [c.Network, ...(c.ExtraNetworks ?? [])]) {
      if (!ep) continue;
      if (bridgeId && ep.networkId === bridgeId) out.unshift({ id: bridgeId, name: 'bridge', type: 'bridge' });
      else {
        const n = this.ctx.d.userNetworks?.find(ep.networkId);
        if (n) out.push({ id: n.Id, name: n.Name, type: 'bridge' });
      }
    }
    return out;
  }

  /** After a live restore: the running containers' names answer in their networks' DNS again. */
  restore(c: ContainerRecord): void {
    const un = this.ctx.d.userNetworks;
    if (!un) return;
    for (const ep of [c.Network, ...(c.ExtraNetworks ?? [])]) {
      if (ep && ep.bridge !== this.ctx.d.network?.bridgeName) {
        const req = this.request(c, ep.networkId);
        un.restore(ep, c.Id, c.Name, req.aliases, req.dns, req.links);
      }
    }
  }
}

/**
 * The name for an interface plugged into a running container, as dockerd's sandbox names them:
 * the next ethN of this run, never one an interface taken away had (the default bridge given
 * back to a container that lost its eth0 is eth1). `NextIf` counts them from the start
 * (attachExtras); without it, the next after the highest its endpoints have.
 */
function nextIfname(c: ContainerRecord): string {
  let n = c.NextIf;
  if (n === undefined) {
    const idx = [c.Network, ...(c.ExtraNetworks ?? [])]
      .filter((e) => e !== undefined)
      .map((e, i) => Number((e.ifname ?? `eth${i}`).slice(3)));
    n = idx.length ? Math.max(...idx) + 1 : 0;
  }
  c.NextIf = n + 1;
  return `eth${n}`;
}

/** Takes an endpoint's veth away (its other end goes with it). */
async function deleteVeth(ctx: ContainerContext, ep: Endpoint): Promise<void> {
  await ctx.d.host.run('ip', ['link', 'del', ep.hostVeth], { allowFailure: true });
}

/** A container on the host's or another container's network namespace (or none) joins no other network: dockerd's refusal. Its network mode otherwise. */
function refuseSharedNamespace(c: ContainerRecord): string {
  const mode = c.HostConfig.NetworkMode || 'default';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:'))
    throw forbidden(
      `container sharing network namespace with another container or host cannot be connected to any other network`,
    );
  return mode;
}
