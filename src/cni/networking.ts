/**
 * What the CRI's sandbox code asks of pod networking, and nothing more: attach a sandbox's
 * network namespace to the pods' network (loopback, then the CNI network's plugins), check it,
 * detach it. `CniNetwork` (network.ts) is the implementation that runs the plugins;
 * `FakePodNetworking` (testing.ts) is the one sandbox tests use.
 *
 * Ids are the sandbox's: kubelet's names for the pod go to the plugins as CNI_ARGS, as
 * containerd sends them. `tearDown` and `check` take the same ids `setUp` took; what ADD
 * answered is kept by the implementation, on disk, so DEL works after a berthd restart.
 */
import type { CniInterface, CniResult } from './result.ts';
import type { PortMapping } from './plan.ts';

export interface SandboxNetworkIds {
  /** The sandbox's id: CNI_CONTAINERID, and the key of what is kept. */
  containerId: string;
  /** Path of the sandbox's network namespace (a bind mount or /proc/<pid>/ns/net). */
  netnsPath: string;
  /** The pod's interface in the sandbox; `eth0` when not given. */
  ifName?: string;
  podName: string;
  podNamespace: string;
  podUid: string;
}

export interface SandboxNetworkRequest extends SandboxNetworkIds {
  /** The sandbox config's port mappings (hostPort), for plugins declaring `portMappings`. */
  portMappings?: PortMapping[];
  /** kubelet's bandwidth annotations, for plugins declaring `bandwidth` (bits per second). */
  bandwidth?: { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number };
  /** The sandbox config's DNS, for plugins declaring `dns`. */
  dns?: { servers: string[]; searches: string[]; options: string[] };
}

export interface SandboxNetwork {
  /** The pod's addresses on its interface, without prefix length, IPv4 first: PodIP, then additional_ips. */
  ips: string[];
  interfaces: CniInterface[];
  /** The DNS the network's plugins answered (usually empty: kubelet's config wins). */
  dns: CniResult['dns'];
  /** The network's final result, normalized. */
  result: CniResult;
}

/** NetworkReady as CRI's Status reports it. */
export interface NetworkStatus {
  ready: boolean;
  /** `NetworkPluginNotReady` when not ready. */
  reason: string;
  message: string;
}

export interface PodNetworking {
  /**
   * ADD: loopback up in the namespace, then the network's plugins in order. On failure what was
   * added is deleted again (best effort) and the plugin's error thrown. A sandbox already set
   * up answers what it was given then.
   */
  setUp(req: SandboxNetworkRequest): Promise<SandboxNetwork>;
  /**
   * DEL, plugins in reverse, with what ADD answered as `prevResult`. Works when the namespace
   * is gone (the IP is released), when berthd restarted since, and when there was no ADD
   * (nothing is kept then; the plugins are told anyway, as containerd does). Idempotent.
   * Call it while the namespace still exists: without it Debian's bridge plugin (1.1.1) frees
   * the address but cannot find which masquerade rule was the pod's, and leaves it.
   */
  tearDown(ids: SandboxNetworkIds): Promise<void>;
  /** CHECK (CNI 0.4.0 on): throws the plugin's error when the sandbox's network is not as added. */
  check(ids: SandboxNetworkIds): Promise<void>;
  /** Is there a valid network with all its plugins? Read afresh each call, as kubelet polls. */
  status(): Promise<NetworkStatus>;
  /**
   * The sandboxes whose network is set up (or half set up) and not torn down, as setUp was
   * given them: after a restart, those no sandbox owns any more are torn down with these ids.
   */
  kept(): Promise<SandboxNetworkIds[]>;
}
