/** Networks on the wire: inspect and list, create, a container's endpoint (moby's `api/types/network`). */
import type { Labels } from './container.ts';

/**
 * A container's endpoint on a network: asked for in a create or connect request (aliases, a
 * fixed address, links), shown filled in by inspect.
 */
export interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  DriverOpts?: Record<string, string> | null;
  DNSNames?: string[] | null;
}

export interface Network {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  IPAM?: {
    Driver?: string;
    Options?: Record<string, string> | null;
    Config?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }> | null;
  };
  Containers?: Record<string, unknown>;
  Options?: Record<string, string> | null;
  Labels: Labels | null;
}

export interface NetworkCreateRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: Network['IPAM'];
  Options?: Record<string, string>;
  Labels?: Labels;
  CheckDuplicate?: boolean;
}
