/**
 * What the pods service keeps per pod. Members are not listed here: a container belongs to a
 * pod by its labels (`POD_LABELS`), so the container store stays the one truth about
 * containers, and a member removed with `docker rm` leaves no stale entry behind.
 */
import type { PodPortMapping } from '../../api/types/index.ts';

export interface PodRecord {
  Id: string;
  Name: string;
  /** RFC 3339, with nanoseconds as Podman prints them. */
  Created: string;
  Labels: Record<string, string>;
  /** Free-form data kept for the pod's maker (the CRI's sandbox annotations); absent in older records. */
  Annotations?: Record<string, string>;
  /** The members' host name (empty with the host's network, whose name they keep). */
  Hostname: string;
  /** What members share with the infra process: of `ipc`, `net`, `pid`, `uts`. */
  SharedNamespaces: string[];
  /** Empty for a pod made without infra (`--infra=false`): its members share nothing. */
  InfraContainerID: string;
  /** The infra's network mode: `bridge`, `host`, `none` or a user network's name. */
  Network: string;
  PortMappings: PodPortMapping[];
  Dns: string[];
  DnsSearch: string[];
  DnsOptions: string[];
  HostAdd: string[];
  Sysctls: Record<string, string>;
  CgroupParent: string;
}

/** The labels that tie containers to their pod (Docker-API clients see them on the members). */
export const POD_LABELS = {
  /** The pod's ID, on its members and its infra container. */
  id: 'io.berth.pod.id',
  /** The pod's name, for people and filters (`docker ps --filter label=io.berth.pod.name=web`). */
  name: 'io.berth.pod.name',
  /** `true` on the infra container. */
  infra: 'io.berth.pod.infra',
  /** `always` on an init container: run to a zero exit, in order, before the others, at every start of the pod. */
  init: 'io.berth.pod.init',
} as const;

/** An init container of its pod (run to a zero exit before the others). */
export function isInitContainer(c: { Config: { Labels?: Record<string, string> | null } }): boolean {
  return c.Config.Labels?.[POD_LABELS.init] === 'always';
}
