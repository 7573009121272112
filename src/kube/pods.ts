/**
 * The seam to pods. `kube play` needs groups of containers sharing namespaces, which the
 * daemon does not have yet; the pods work (issue 19, Libpod-shaped `/libpod/pods/...` API)
 * implements `PodBackend` and nothing else in this module changes. Until then the CLI has no
 * backend, and `kube play` of a file with workloads says so before it creates anything —
 * pods are not imitated with plain containers, whose namespaces and lifecycle would differ.
 *
 * The shapes are Libpod's JSON, so the backend can pass them through: `PodCreateSpec` is a
 * subset of Podman's `PodSpecGenerator` (`POST /libpod/pods/create`), `PodInspect` of its
 * `InspectPodData` (`GET /libpod/pods/{name}/json`).
 */
import type { ContainerCreateRequest } from '../client/index.ts';

/** A published port of the pod (Libpod's `PortMapping`). */
export interface PortMapping {
  readonly host_ip?: string;
  readonly container_port: number;
  readonly host_port: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
}

export interface Namespace {
  readonly nsmode: 'host' | 'bridge' | 'private' | 'none';
}

/** What a pod is made with (a subset of Libpod's PodSpecGenerator, same JSON names). */
export interface PodCreateSpec {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Absent with the host's network. */
  readonly hostname?: string;
  /** The namespaces the infra process holds for every member: ipc, net, uts, and pid when shared. */
  readonly shared_namespaces: readonly string[];
  readonly netns?: Namespace;
  /** The network the pod joins (`kube play --network NAME`); the default network when absent. */
  readonly networks?: readonly string[];
  readonly pidns?: Namespace;
  readonly ipcns?: Namespace;
  readonly portmappings?: readonly PortMapping[];
  readonly dns_server?: readonly string[];
  readonly dns_search?: readonly string[];
  readonly dns_option?: readonly string[];
  /** /etc/hosts lines shared by the members, `hostname:ip`. */
  readonly hostadd?: readonly string[];
  readonly sysctl?: Readonly<Record<string, string>>;
}

/** A pod as `GET /libpod/pods/{name}/json` reports it (the fields Berth reads). */
export interface PodInspect {
  readonly Id: string;
  readonly Name: string;
  readonly State?: string;
  readonly Hostname?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly InfraContainerID?: string;
  readonly SharedNamespaces?: readonly string[] | null;
  readonly InfraConfig?: {
    readonly PortBindings?: Readonly<Record<string, readonly { HostIp?: string; HostPort?: string }[] | null>> | null;
    readonly HostNetwork?: boolean;
    readonly DNSServer?: readonly string[] | null;
    readonly DNSSearch?: readonly string[] | null;
    readonly DNSOption?: readonly string[] | null;
    readonly HostAdd?: readonly string[] | null;
  } | null;
  readonly Containers?: readonly { readonly Id: string; readonly Name: string; readonly State?: string }[] | null;
}

/** One entry of `GET /libpod/pods/json`. */
export interface PodSummary {
  readonly Id: string;
  readonly Name: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
}

/**
 * Pods as `kube play`, `kube down` and `kube generate` use them.
 *
 * Lifecycle: `createPod` makes the pod and its infra process (not started); `createContainer`
 * adds members — init containers first, in the order they must run; `startPod` starts the
 * infra, runs the init containers one at a time, each to a zero exit (a failure rejects and
 * leaves the rest unstarted), then starts the other members, and does so again on every later
 * start of the pod, as a pod restarted in place runs its init containers again. `removePod`
 * removes the members and the infra (`force`: running ones too). Members are ordinary
 * containers to the Engine API: play waits for a Job's through `/containers/{id}/wait`.
 *
 * Example:
 *   const id = await pods.createPod({ name: 'web', labels: {}, shared_namespaces: ['ipc', 'net', 'uts'] });
 *   await pods.createContainer('web', 'web-init', initBody, { init: true });
 *   await pods.createContainer('web', 'web-nginx', body, {});
 *   await pods.startPod('web');
 */
export interface PodBackend {
  createPod(spec: PodCreateSpec): Promise<{ Id: string }>;
  createContainer(
    pod: string,
    name: string,
    body: ContainerCreateRequest,
    opts: { init?: boolean },
  ): Promise<{ Id: string }>;
  startPod(pod: string): Promise<void>;
  removePod(pod: string, opts: { force: boolean }): Promise<void>;
  /** Pods carrying every `key=value` of `labels`. */
  listPods(labels: readonly string[]): Promise<PodSummary[]>;
  inspectPod(pod: string): Promise<PodInspect>;
}
