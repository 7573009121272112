/**
 * The networks API (`docker network ...`): the built-in `bridge`, `host` and `none`, and
 * user-defined bridge networks, in the shape dockerd answers; connect/disconnect go through
 * the container service; create, destroy and prune publish network events.
 */
import type { EventBus } from '../../events/index.ts';
import { BUILTIN_NETWORK_IDS, type NetworkManager, type UserNetworks, type UserNetwork } from '../../network/index.ts';
import type {
  IPAMConfig,
  Network,
  NetworkConnectRequest,
  NetworkContainer,
  NetworkCreateRequest,
  NetworkCreateResponse,
  NetworkDisconnectRequest,
  NetworkPruneReport,
} from '../../api/types/index.ts';
import { forbidden, notFound } from '../../errdefs/index.ts';
import { checkShape, type Shape } from '../../spec/index.ts';
import type { ContainerService } from '../containers/index.ts';

export interface NetworkListFilters {
  name?: string[];
  id?: string[];
  label?: string[];
  driver?: string[];
  type?: string[];
  dangling?: boolean;
}

export interface NetworkServiceDeps {
  bridge?: NetworkManager;
  user: UserNetworks;
  containers: ContainerService;
  events: EventBus;
}

/** A network create request, as Docker's Go type declares it. */
const NETWORK_CONFIG: Shape = {
  fields: {
    Name: 'string',
    Driver: 'string',
    Scope: 'string',
    Internal: 'boolean',
    Attachable: 'boolean',
    Ingress: 'boolean',
    EnableIPv4: 'boolean',
    EnableIPv6: 'boolean',
    CheckDuplicate: 'boolean',
    ConfigOnly: 'boolean',
    Labels: { map: 'string' },
    Options: { map: 'string' },
    IPAM: {
      fields: {
        Driver: 'string',
        Options: { map: 'string' },
        Config: {
          list: {
            fields: { Subnet: 'string', IPRange: 'string', Gateway: 'string', AuxiliaryAddresses: { map: 'string' } },
          },
        },
      },
    },
  },
};

export class NetworkService {
  private readonly d: NetworkServiceDeps;
  private readonly started = new Date().toISOString();

  constructor(d: NetworkServiceDeps) {
    this.d = d;
  }

  /** Every network as inspect shows it (builtin ones first). */
  private all(): Network[] {
    const out: Network[] = [];
    const info = this.d.bridge?.enabled ? this.d.bridge.info() : undefined;
    if (this.d.bridge?.enabled) {
      out.push(
        this.view({
          Name: 'bridge',
          Id: this.d.bridge.networkId,
          Created: this.started,
          Driver: 'bridge',
          Internal: false,
          Labels: {},
          Options: {
            'com.docker.network.bridge.default_bridge': 'true',
            'com.docker.network.bridge.enable_icc': 'true',
            'com.docker.network.bridge.enable_ip_masquerade': 'true',
            'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
            'com.docker.network.bridge.name': this.d.bridge.bridgeName,
            'com.docker.network.driver.mtu': '1500',
          },
          Config: info
            ? [{ Subnet: info.subnet, Gateway: info.gateway }, ...(info.subnet6 ? [{ Subnet: info.subnet6 }] : [])]
            : [],
          IpamOptions: null,
          EnableIPv6: !!info?.subnet6,
        }),
      );
    }
    out.push(
      this.view({
        Name: 'host',
        Id: BUILTIN_NETWORK_IDS.host,
        Created: this.started,
        Driver: 'host',
        Internal: false,
        Labels: {},
        Options: {},
        Config: [],
        IpamOptions: null,
      }),
    );
    out.push(
      this.view({
        Name: 'none',
        Id: BUILTIN_NETWORK_IDS.none,
        Created: this.started,
        Driver: 'null',
        Internal: false,
        Labels: {},
        Options: {},
        Config: [],
        IpamOptions: null,
      }),
    );
    for (const n of this.d.user.list()) out.push(this.userView(n));
    return out;
  }

  private userView(n: UserNetwork): Network {
    return this.view({
      Name: n.Name,
      Id: n.Id,
      Created: n.Created,
      Driver: 'bridge',
      Internal: n.Internal,
      Attachable: !!n.Attachable,
      Labels: n.Labels,
      Options: n.Options ?? {},
      // Records made before IPAM.Config was kept: their subnet and gateway are all there is.
      Config: n.IPAMConfig ?? [{ Subnet: n.Subnet, Gateway: n.Gateway }],
      IpamOptions: n.IPAMConfig ? (n.IPAMOptions ?? null) : {},
      EnableIPv6: !!n.EnableIPv6,
    });
  }

  private view(n: {
    Name: string;
    Id: string;
    Created: string;
    Driver: string;
    Internal: boolean;
    Labels: Record<string, string>;
    Options: Record<string, string>;
    Config: IPAMConfig[];
    IpamOptions: Record<string, string> | null;
    EnableIPv6?: boolean;
    Attachable?: boolean;
  }): Network {
    return {
      Name: n.Name,
      Id: n.Id,
      Created: n.Created,
      Scope: 'local',
      Driver: n.Driver,
      EnableIPv6: !!n.EnableIPv6,
      IPAM: { Driver: 'default', Options: n.IpamOptions, Config: n.Config },
      Internal: n.Internal,
      Attachable: !!n.Attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: this.containersOn(n.Id, n.Name),
      Options: n.Options,
      Labels: n.Labels,
    };
  }

  private containersOn(id: string, name: string): Record<string, NetworkContainer> {
    const out: Record<string, NetworkContainer> = {};
    for (const c of this.d.containers.store.all()) {
      if (!c.State.Running && !c.State.Paused) continue;
      const mode = c.HostConfig.NetworkMode || 'default';
      if (name === 'host' && mode === 'host') {
        out[c.Id] = { Name: c.Name, EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' };
        continue;
      }
      for (const ep of [c.Network, ...(c.ExtraNetworks ?? [])]) {
        if (ep?.networkId !== id) continue;
        out[c.Id] = {
          Name: c.Name,
          EndpointID: ep.endpointId,
          MacAddress: ep.macAddress,
          IPv4Address: `${ep.ipAddress}/${ep.prefixLen}`,
          IPv6Address: ep.ipv6Address ? `${ep.ipv6Address}/${ep.ipv6PrefixLen}` : '',
        };
      }
    }
    return out;
  }

  list(f: NetworkListFilters = {}): Network[] {
    return this.all().filter((v) => {
      const builtin = ['bridge', 'host', 'none'].includes(v.Name);
      if (f.name?.length && !f.name.some((x) => v.Name.includes(x))) return false;
      if (f.id?.length && !f.id.some((x) => v.Id.startsWith(x))) return false;
      if (f.driver?.length && !f.driver.includes(v.Driver)) return false;
      if (f.type?.length && !f.type.includes(builtin ? 'builtin' : 'custom')) return false;
      if (f.label?.length && !f.label.every((l) => matchLabel(v.Labels, l))) return false;
      if (f.dangling !== undefined && (builtin || Object.keys(v.Containers).length > 0) === f.dangling) return false;
      return true;
    });
  }

  inspect(ref: string): Network {
    const all = this.all();
    const hit =
      all.find((n) => n.Id === ref) ??
      all.find((n) => n.Name === ref) ??
      (() => {
        const p = all.filter((n) => ref.length > 0 && n.Id.startsWith(ref));
        return p.length === 1 ? p[0] : undefined;
      })();
    if (!hit) throw notFound(`network ${ref} not found`);
    return hit;
  }

  async create(req: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    checkShape(req, NETWORK_CONFIG, 'network config');
    const n = await this.d.user.create(req);
    this.d.events.publish('network', 'create', n.Id, { name: n.Name, type: 'bridge' });
    return { Id: n.Id, Warning: '' };
  }

  async remove(ref: string): Promise<void> {
    if (
      ['bridge', 'host', 'none'].includes(ref) ||
      ref === this.d.bridge?.networkId ||
      Object.values(BUILTIN_NETWORK_IDS).includes(ref)
    ) {
      const name = ref.length === 64 ? this.inspect(ref).Name : ref;
      throw forbidden(`${name} is a pre-defined network and cannot be removed`);
    }
    const n = this.d.user.get(ref);
    if (Object.keys(this.containersOn(n.Id, n.Name)).length)
      throw forbidden(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    await this.d.containers.releaseNetwork(n.Id);
    await this.d.user.remove(n.Id);
    this.d.events.publish('network', 'destroy', n.Id, { name: n.Name, type: 'bridge' });
  }

  /** `untilNs`: only networks created before it (nanoseconds since the epoch), as `--filter until`. */
  async prune(labels: string[] = [], untilNs?: number): Promise<NetworkPruneReport> {
    const deleted: string[] = [];
    for (const n of this.d.user.list()) {
      if (untilNs !== undefined && Date.parse(n.Created) * 1e6 >= untilNs) continue;
      if (Object.keys(this.containersOn(n.Id, n.Name)).length) continue;
      if (this.usedByStoppedContainer(n)) continue;
      if (
        !labels.every((l) =>
          l.includes('!=') || l.startsWith('!')
            ? !matchLabel(n.Labels, l.replace('!=', '=').replace(/^!/, ''))
            : matchLabel(n.Labels, l),
        )
      )
        continue;
      // The warm pool's sandboxes on it (no container's) go first, as for `network rm`.
      await this.d.containers.releaseNetwork(n.Id);
      await this.d.user.remove(n.Id).then(
        () => {
          deleted.push(n.Name);
          this.d.events.publish('network', 'destroy', n.Id, { name: n.Name, type: 'bridge' });
        },
        () => {},
      );
    }
    if (deleted.length) this.d.events.publish('network', 'prune', '', { reclaimed: '0' });
    return { NetworksDeleted: deleted };
  }

  private usedByStoppedContainer(n: UserNetwork): boolean {
    return this.d.containers.store.all().some((c) => {
      const mode = c.HostConfig.NetworkMode || 'default';
      return mode === n.Name || mode === n.Id;
    });
  }

  async connect(ref: string, body: NetworkConnectRequest): Promise<void> {
    const net = this.builtinName(ref);
    // dockerd looks the container up first: a missing one is "No such container" on any network.
    if ((net === 'host' || net === 'none') && !this.d.containers.store.find(body.Container ?? ''))
      throw notFound(`No such container: ${body.Container ?? ''}`);
    // dockerd's words: the host and none networks are a container's only one, never an addition.
    if (net === 'host')
      throw forbidden('container cannot be disconnected from host network or connected to host network');
    if (net === 'none')
      throw forbidden(
        'container cannot be connected to multiple networks with one of the networks in private (none) mode',
      );
    await this.d.containers.connectNetwork(body.Container ?? '', net ?? ref, body.EndpointConfig ?? {});
  }

  async disconnect(ref: string, body: NetworkDisconnectRequest): Promise<void> {
    const net = this.builtinName(ref);
    if (net === 'host' || net === 'none') {
      const c = this.d.containers.store.find(body.Container ?? '');
      if (!c) throw notFound(`No such container: ${body.Container ?? ''}`);
      if ((c.HostConfig.NetworkMode || 'default') !== net)
        throw forbidden(`container ${c.Id} is not connected to network ${net}`);
      if (net === 'host')
        throw forbidden('container cannot be disconnected from host network or connected to host network');
      throw forbidden(`disconnecting from the ${net} network is not supported`);
    }
    await this.d.containers.disconnectNetwork(body.Container ?? '', net ?? ref, !!body.Force);
  }

  /**
   * The built-in network `ref` names (by name, ID or a unique prefix of it), if it is one: the
   * default bridge is connected and disconnected by the container service under its name.
   */
  private builtinName(ref: string): string | undefined {
    if (['bridge', 'host', 'none'].includes(ref)) return ref;
    if (!ref || this.d.user.find(ref)) return undefined;
    const hit = this.all().find((n) => n.Id === ref || n.Id.startsWith(ref));
    return hit && ['bridge', 'host', 'none'].includes(hit.Name) ? hit.Name : undefined;
  }
}

function matchLabel(labels: Record<string, string>, l: string): boolean {
  const i = l.indexOf('=');
  return i < 0 ? l in labels : labels[l.slice(0, i)] === l.slice(i + 1);
}
