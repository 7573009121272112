/**
 * A network create request's `IPAM.Config` (and `EnableIPv6`) turned into the pools of a new
 * network, by dockerd 20.10's rules and with its messages: at most one subnet per family (the
 * bridge driver's limit), `Gateway`, `IPRange` and `AuxiliaryAddresses` inside their subnet,
 * an explicit subnet that overlaps nothing in use, an IPv4 subnet picked from the default
 * pools when none is given, and IPv6 only with a subnet given (dockerd 20.10 has no default
 * IPv6 pools). Pure: what is in use comes in as prefixes.
 */
import type { IPAMConfig } from '../api/types/index.ts';
import { forbidden, invalidArgument, notFound } from '../errdefs/index.ts';
import {
  contains,
  formatAddr,
  formatPrefix,
  lastAddr,
  overlaps,
  parsePrefix,
  prefixSize,
  tryParseAddr,
  within,
  type Family,
  type Prefix,
} from './ip.ts';

/** One entry of `IPAM.Config` as the API takes it (inspect shows it as an `IPAMConfig`). */
export interface IpamConfigEntry {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string> | null;
}

export interface FamilyPlan {
  subnet: Prefix;
  gateway: bigint;
  range?: Prefix;
  reserved: bigint[];
  /** The subnet was the user's (only then may a container ask for an address in it). */
  configured: boolean;
}

export interface IpamPlan {
  v4: FamilyPlan;
  /** Only with EnableIPv6. */
  v6?: FamilyPlan;
  /** `IPAM.Config` as inspect shows it: the entries as given, a picked subnet with its gateway. */
  view: IPAMConfig[];
}

export interface IpamInputs {
  configs: readonly IpamConfigEntry[];
  enableIPv6: boolean;
  /** Subnets in use (other networks, host routes): an explicit subnet must overlap none. */
  used: readonly Prefix[];
  /** The default pools, in order (IPv4). */
  candidates: readonly string[];
}

export function planIpam(o: IpamInputs): IpamPlan {
  const byFamily = new Map<Family, Array<{ entry: IpamConfigEntry; subnet: Prefix & { ip: bigint } }>>();
  for (const entry of o.configs) {
    const subnet = parseSubnet(entry.Subnet ?? '');
    const list = byFamily.get(subnet.family) ?? [];
    list.push({ entry, subnet });
    byFamily.set(subnet.family, list);
  }
  for (const list of byFamily.values())
    if (list.length > 1) throw forbidden("bridge driver doesn't support multiple subnets");
  const view: IPAMConfig[] = [];
  const given4 = byFamily.get(4)?.[0];
  let v4: FamilyPlan;
  if (given4) {
    v4 = familyPlan(given4.entry, given4.subnet, o.used);
    view.push(viewOf(given4.entry));
  } else {
    const free = o.candidates.map((c) => parsePrefix(c)).find((c) => !o.used.some((u) => u.bits > 0 && overlaps(u, c)));
    if (!free)
      throw forbidden(
        'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
      );
    const subnet: Prefix = { family: 4, base: free.base, bits: free.bits };
    v4 = { subnet, gateway: subnet.base + 1n, reserved: [], configured: false };
    view.push({ Subnet: formatPrefix(subnet), Gateway: formatAddr(4, subnet.base + 1n) });
  }
  const given6 = byFamily.get(6)?.[0];
  let v6: FamilyPlan | undefined;
  if (given6) {
    const plan = familyPlan(given6.entry, given6.subnet, o.used);
    view.push(viewOf(given6.entry));
    // Without EnableIPv6 dockerd keeps the subnet in the configuration and gives no addresses.
    if (o.enableIPv6) v6 = plan;
  } else if (o.enableIPv6) {
    throw notFound(
      'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network',
    );
  }
  return { v4, v6, view };
}

function parseSubnet(s: string): Prefix & { ip: bigint } {
  try {
    return parsePrefix(s);
  } catch (e) {
    throw invalidArgument(`Invalid subnet ${s} : invalid CIDR address: ${s}`, e);
  }
}

/** An entry as inspect shows it: what was given, nothing added. */
function viewOf(e: IpamConfigEntry): IPAMConfig {
  const out: IPAMConfig = { Subnet: e.Subnet };
  if (e.IPRange) out.IPRange = e.IPRange;
  if (e.Gateway) out.Gateway = e.Gateway;
  if (e.AuxiliaryAddresses && Object.keys(e.AuxiliaryAddresses).length) out.AuxiliaryAddresses = e.AuxiliaryAddresses;
  return out;
}

function familyPlan(e: IpamConfigEntry, given: Prefix & { ip: bigint }, used: readonly Prefix[]): FamilyPlan {
  const subnet: Prefix = { family: given.family, base: given.base, bits: given.bits };
  if (used.some((u) => u.bits > 0 && overlaps(u, subnet)))
    throw forbidden('Pool overlaps with other one on this address space');
  let range: Prefix | undefined;
  if (e.IPRange) {
    let r: Prefix;
    try {
      r = parsePrefix(e.IPRange);
    } catch (err) {
      throw invalidArgument(`Invalid range ${e.IPRange} : invalid CIDR address: ${e.IPRange}`, err);
    }
    if (!within(r, subnet))
      throw invalidArgument(`invalid ip-range ${e.IPRange}: it is not within subnet ${formatPrefix(subnet)}`);
    range = { family: r.family, base: r.base, bits: r.bits };
  }
  const size = prefixSize(subnet);
  // The subnet's own address (and IPv4's broadcast address) are nobody's.
  const usable = (v: bigint) => size > 2n && v !== subnet.base && (subnet.family === 6 || v !== lastAddr(subnet));
  let gateway: bigint;
  if (e.Gateway) {
    const g = tryParseAddr(e.Gateway);
    if (!g || !contains(subnet, g.family, g.value))
      throw invalidArgument(`failed to allocate gateway (${e.Gateway}): Requested address is out of range`);
    if (!usable(g.value)) throw invalidArgument(`failed to allocate gateway (${e.Gateway}): Address already in use`);
    gateway = g.value;
  } else {
    // The first address of the range, or of the subnet, that a host may have.
    const from = range?.base ?? subnet.base;
    const first = usable(from) ? from : from + 1n;
    if (!usable(first) || !contains(subnet, subnet.family, first))
      throw invalidArgument('failed to allocate gateway (): No available addresses on this pool');
    gateway = first;
  }
  const reserved: bigint[] = [];
  for (const [key, value] of Object.entries(e.AuxiliaryAddresses ?? {})) {
    const a = tryParseAddr(value);
    if (!a) throw invalidArgument(`invalid auxiliary address ${key}: ${value}`);
    if (!contains(subnet, a.family, a.value))
      throw forbidden(`auxiliary address: (${key}:${value}) must belong to the master pool: ${e.Subnet}`);
    if (a.value === gateway || !usable(a.value) || reserved.includes(a.value))
      throw invalidArgument(`failed to allocate secondary ip address (${key}:${value}): Address already in use`);
    reserved.push(a.value);
  }
  return { subnet, gateway, range, reserved, configured: true };
}
