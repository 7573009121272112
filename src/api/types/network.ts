/** Networks on the wire: inspect and list, create, a container's endpoint (moby's `api/types/network`). */
import type { Labels } from './container.ts';

export interface EndpointSettings {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  MacAddress?: string;
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
