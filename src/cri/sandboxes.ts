/**
 * A CRI pod sandbox is a Berth pod (services/pods): its infra container (berth-pause) holds the
 * network, IPC and UTS namespaces (and PID when the pod shares one), its containers are the
 * pod's members. This file is the mapping both ways, as pure functions: a `PodSandboxConfig`
 * to the pods service's create request, and a pod with its infra container to the CRI's
 * `PodSandbox` and `PodSandboxStatus`, and the list filter.
 *
 * What the CRI needs back that a pod does not keep (its metadata, the labels and annotations
 * exactly as given, the log directory, the namespace modes) travels as JSON in the pod's
 * `io.berth.cri` annotation; the Kubernetes identification labels are added for Docker's
 * clients (labels.ts).
 */
import { invalidArgument } from '../errdefs/index.ts';
import type { PodCreateRequest } from '../api/types/index.ts';
import type { ContainerRecord } from '../services/containers/index.ts';
import type { PodRecord } from '../services/pods/index.ts';
import { CRI_META, K8S, matchesSelector, nanos, sandboxName } from './labels.ts';

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export interface NamespaceOption {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  target_id: string;
}

export interface SandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

/** The parts of a `PodSandboxConfig` Berth reads (proto-loader's shape: snake case, defaults filled). */
export interface SandboxConfig {
  metadata: SandboxMetadata | null;
  hostname: string;
  log_directory: string;
  dns_config: { servers: string[]; searches: string[]; options: string[] } | null;
  port_mappings: { protocol: string; container_port: number; host_port: number; host_ip: string }[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  linux: {
    cgroup_parent: string;
    sysctls: Record<string, string>;
    security_context: { namespace_options: NamespaceOption | null; privileged?: boolean } | null;
  } | null;
}

/** What the CRI keeps of a sandbox, in the pod's `io.berth.cri` annotation. */
export interface SandboxMeta {
  metadata: SandboxMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  logDirectory: string;
  runtimeHandler: string;
  namespaces: NamespaceOption;
  /** Networked by the CNI network (its addresses in `ips` once set up), not Berth's bridge. */
  cni?: boolean;
  ips?: string[];
}

const DEFAULT_NAMESPACES: NamespaceOption = { network: 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '' };

export function namespacesOf(config: SandboxConfig): NamespaceOption {
  const o = config.linux?.security_context?.namespace_options;
  return o ? { network: o.network, pid: o.pid, ipc: o.ipc, target_id: o.target_id } : { ...DEFAULT_NAMESPACES };
}

/** `RunPodSandbox`'s config as the pods service's create request, and what the CRI keeps of it. */
export function sandboxRequest(
  config: SandboxConfig,
  runtimeHandler: string,
  /** A sandbox without a host name gets the node's, as containerd gives it (the pod's name is no host name). */
  nodeHostname = 'localhost',
  /** The pod network is CNI's: the infra gets a namespace of its own with loopback only, the plugins do the rest. */
  cni = false,
): { request: PodCreateRequest; infraLabels: Record<string, string>; meta: SandboxMeta } {
  const m = config.metadata;
  if (!m || !m.name || !m.namespace || !m.uid)
    throw invalidArgument('sandbox config must include metadata with name, namespace and uid');
  const metadata = { name: m.name, uid: m.uid, namespace: m.namespace, attempt: Number(m.attempt) };
  const ns = namespacesOf(config);
  const hostNetwork = ns.network === 'NODE';
  const shared = ['net', 'uts'];
  if (ns.ipc === 'POD') shared.push('ipc');
  if (ns.pid === 'POD') shared.push('pid');
  const meta: SandboxMeta = {
    metadata,
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    logDirectory: config.log_directory,
    runtimeHandler,
    namespaces: ns,
    ...(cni && !hostNetwork ? { cni: true, ips: [] } : {}),
  };
  const viaCni = !!meta.cni;
  const name = sandboxName(metadata);
  const labels = {
    ...config.labels,
    [K8S.podName]: metadata.name,
    [K8S.podNamespace]: metadata.namespace,
    [K8S.podUid]: metadata.uid,
    [K8S.type]: 'podsandbox',
    [K8S.containerName]: 'POD',
  };
  const request: PodCreateRequest = {
    name,
    infra_name: name,
    labels,
    annotations: { ...config.annotations, [CRI_META]: JSON.stringify(meta) },
    hostname: hostNetwork ? undefined : config.hostname || nodeHostname,
    shared_namespaces: shared,
    ...(hostNetwork ? { netns: { nsmode: 'host' } } : viaCni ? { netns: { nsmode: 'none' } } : {}),
    // A mapping without a host port only documents the port (kubelet sends those too); with
    // CNI the portmap plugin publishes them.
    portmappings:
      hostNetwork || viaCni
        ? []
        : config.port_mappings
            .filter((p) => p.host_port > 0)
            .map((p) => ({
              container_port: p.container_port,
              host_port: p.host_port,
              host_ip: p.host_ip || undefined,
              protocol: p.protocol.toLowerCase(),
            })),
    dns_server: config.dns_config?.servers ?? [],
    dns_search: config.dns_config?.searches ?? [],
    dns_option: config.dns_config?.options ?? [],
    sysctl: config.linux?.sysctls ?? {},
    cgroup_parent: config.linux?.cgroup_parent || undefined,
  };
  return { request, infraLabels: labels, meta };
}

/** The CRI's view of a pod made through it; undefined for a pod `berth pod create` made. */
export function sandboxMeta(pod: PodRecord): SandboxMeta | undefined {
  const raw = pod.Annotations?.[CRI_META];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as SandboxMeta;
  } catch {
    return undefined;
  }
}

export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

/** Ready while its infra process runs (its namespaces exist), as containerd decides. */
export function sandboxState(infra: ContainerRecord | undefined): SandboxState {
  return infra?.State.Running ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
}

export function sandboxView(pod: PodRecord, meta: SandboxMeta, infra: ContainerRecord | undefined) {
  return {
    id: pod.Id,
    metadata: meta.metadata,
    state: sandboxState(infra),
    created_at: nanos(pod.Created),
    labels: meta.labels,
    annotations: meta.annotations,
    runtime_handler: meta.runtimeHandler,
  };
}

export function sandboxStatus(pod: PodRecord, meta: SandboxMeta, infra: ContainerRecord | undefined) {
  const running = !!infra?.State.Running;
  const ips = !running || meta.namespaces.network === 'NODE' ? [] : sandboxIps(meta, infra);
  const ip = ips[0] ?? '';
  const additional = ips.slice(1).map((x) => ({ ip: x }));
  return {
    ...sandboxView(pod, meta, infra),
    network: { ip, additional_ips: additional },
    linux: { namespaces: { options: { ...meta.namespaces } } },
  };
}

/** The pod's addresses, IPv4 first: what CNI answered, or the infra's on Berth's bridge. */
export function sandboxIps(meta: SandboxMeta, infra: ContainerRecord | undefined): string[] {
  if (meta.cni) return [...(meta.ips ?? [])];
  const ep = infra?.Network;
  return [ep?.ipAddress, ep?.ipv6Address].filter((x): x is string => !!x);
}

export interface SandboxFilter {
  id: string;
  state: { state: SandboxState } | null;
  label_selector: Record<string, string>;
}

/** `ListPodSandbox`'s filter: an ID prefix, a state, labels. */
export function sandboxMatches(
  v: { id: string; state: SandboxState; labels: Record<string, string> },
  f: SandboxFilter | null,
): boolean {
  if (!f) return true;
  if (f.id && !v.id.startsWith(f.id)) return false;
  if (f.state && v.state !== f.state.state) return false;
  return matchesSelector(v.labels, f.label_selector);
}
