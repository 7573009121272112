/** Engine layer: bridge networking, IPAM, NAT (see bridge.ts). */
export { NetworkManager, DEFAULT_NETWORK, vethName, type Endpoint, type NetworkOptions } from './bridge.ts';
export type { NetnsTarget } from './veth.ts';
export { PortProxies, parsePortKey, type PortExposer, type PortMapping, type PortRequest } from './ports.ts';
export { rootlesskitPorts } from './rootlesskit.ts';
export { Ipam, type Allocation } from './ipam.ts';
export * as cidr from './cidr.ts';
export { tryParseAddr, parsePrefix, formatPrefix, type Prefix } from './ip.ts';
export { type IpamConfigEntry } from './ipamconfig.ts';
export { UserNetworks, RESERVED_NETWORKS, type UserNetwork, type EndpointRequest } from './user.ts';
export { BUILTIN_NETWORK_IDS } from './builtin.ts';
