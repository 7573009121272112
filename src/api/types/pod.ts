/**
 * Pods on the wire, in Libpod's shape (`/libpod/pods/...`, Podman 4.3's JSON field names), so
 * that Podman's tooling and scripts written against it read Berth's answers. Only the fields
 * Berth fills are declared; Podman's clients ignore what is absent.
 */

/** A published port of a pod (Libpod's `PortMapping`). */
export interface PodPortMapping {
  host_ip?: string;
  container_port: number;
  host_port: number;
  /** `tcp` (default), `udp` or `sctp`; Podman accepts a comma-separated list. */
  protocol?: string;
  range?: number;
}

/** A namespace mode of Libpod's spec generator. */
export interface PodNamespace {
  nsmode: 'host' | 'bridge' | 'private' | 'none' | string;
  value?: string;
}

/** `POST /libpod/pods/create`: a subset of Libpod's `PodSpecGenerator`, same JSON names. */
export interface PodCreateRequest {
  name?: string;
  labels?: Record<string, string>;
  /** Berth's: kept with the pod and shown by inspect (the CRI's sandbox annotations). */
  annotations?: Record<string, string>;
  hostname?: string;
  /** The namespaces the members share with the infra process: `ipc`, `net`, `uts`, `pid`, `cgroup`. */
  shared_namespaces?: string[];
  netns?: PodNamespace;
  pidns?: PodNamespace;
  ipcns?: PodNamespace;
  /** Network names to attach the pod to (the first is its network); Libpod's is a map. */
  networks?: Record<string, object> | string[];
  portmappings?: PodPortMapping[];
  dns_server?: string[];
  dns_search?: string[];
  dns_option?: string[];
  /** /etc/hosts lines shared by the members, `hostname:ip`. */
  hostadd?: string[];
  sysctl?: Record<string, string>;
  cgroup_parent?: string;
  /** Without an infra process the members share nothing (Podman's `--infra=false`). */
  no_infra?: boolean;
  infra_name?: string;
  /** The infra container's image, run with its own command (Libpod's; the CRI's `--sandbox-image`); Berth's berth-pause when unset. */
  infra_image?: string;
}

/** `GET /libpod/pods/{name}/json` (Libpod's `InspectPodData`). */
export interface PodInspectReport {
  Id: string;
  Name: string;
  Namespace: string;
  Created: string;
  CreateCommand?: string[];
  ExitPolicy: string;
  State: string;
  Hostname: string;
  Labels: Record<string, string>;
  /** Berth's (absent from Podman's): what the pod was made with in `annotations`. */
  Annotations?: Record<string, string>;
  CreateCgroup: boolean;
  CgroupParent: string;
  CgroupPath: string;
  CreateInfra: boolean;
  InfraContainerID: string;
  InfraConfig: PodInfraConfig;
  SharedNamespaces: string[];
  NumContainers: number;
  Containers: { Id: string; Name: string; State: string }[];
}

export interface PodInfraConfig {
  PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
  HostNetwork: boolean;
  StaticIP: string;
  StaticMAC: string;
  NoManageResolvConf: boolean;
  DNSServer: string[] | null;
  DNSSearch: string[] | null;
  DNSOption: string[] | null;
  NoManageHosts: boolean;
  HostAdd: string[] | null;
  Networks: string[] | null;
  NetworkOptions: Record<string, string[]> | null;
  pid_ns: string;
  userns: string;
  uts_ns: string;
}

/** One entry of `GET /libpod/pods/json` (Libpod's `ListPodsReport`). */
export interface PodListEntry {
  Cgroup: string;
  Containers: { Names: string; Id: string; Status: string; RestartCount: number }[];
  Created: string;
  Id: string;
  InfraId: string;
  Name: string;
  Namespace: string;
  Networks: string[];
  Status: string;
  Labels: Record<string, string>;
}

/** The answer of start, stop, kill, pause, unpause and restart (Libpod's `PodActionReport`'s JSON). */
export interface PodActionReport {
  Errs: string[];
  Id: string;
}

/** `DELETE /libpod/pods/{name}` (Libpod's `PodRmReport`). */
export interface PodRmReport {
  Err?: string;
  Id: string;
  RemovedCtrs: Record<string, string | null>;
}

/** One entry of `POST /libpod/pods/prune`. */
export interface PodPruneReport {
  Err?: string;
  Id: string;
}

/** One entry of `GET /libpod/pods/stats` (Libpod's `PodStatsReport`): a member's usage. */
export interface PodStatsReport {
  CPU: string;
  MemUsage: string;
  MemUsageBytes: string;
  Mem: string;
  NetIO: string;
  BlockIO: string;
  PIDS: string;
  Pod: string;
  CID: string;
  Name: string;
}
