/**
 * The RuntimeService's runtime-wide methods: `Version`, `Status` and `UpdateRuntimeConfig`
 * (sandboxes and containers are pods.ts's, streaming streaming.ts's).
 *
 * Status is honest: the runtime is ready (it answers, and images can be pulled); the network
 * is ready when the CNI directory names a network whose plugins are there, which kubelet
 * reports as the node's NetworkReady condition rather than scheduling pods that could not get
 * an address.
 */
import { invalidArgument } from '../errdefs/index.ts';
import type { Handlers } from './server.ts';

/** The kubelet API version CRI v1 runtimes report (containerd and CRI-O say the same). */
export const KUBELET_API_VERSION = '0.1.0';
export const RUNTIME_NAME = 'berth';
export const RUNTIME_API_VERSION = 'v1';

export interface RuntimeDeps {
  /** Berth's version. */
  version: string;
  /** What `Status` with `verbose` shows as `info["config"]`: the daemon's CRI-related settings. */
  config: () => Record<string, unknown>;
  /** What `Status` with `verbose` shows as `info["cni"]`: the network the CNI directory names. */
  cni?: () => Promise<Record<string, unknown>>;
  /** NetworkReady: whether the CNI directory names a network whose plugins are there. */
  network?: () => Promise<{ ready: boolean; reason: string; message: string }>;
}

export interface Condition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

/** The runtime's conditions, as kubelet reads them. */
export function conditions(network?: { ready: boolean; reason: string; message: string }): Condition[] {
  return [
    { type: 'RuntimeReady', status: true, reason: '', message: '' },
    network
      ? { type: 'NetworkReady', status: network.ready, reason: network.reason, message: network.message }
      : {
          type: 'NetworkReady',
          status: false,
          reason: 'NetworkPluginNotReady',
          message: 'berth: pod networking (CNI) is not implemented yet',
        },
  ];
}

export function runtimeHandlers(d: RuntimeDeps): Handlers {
  let podCidr = '';
  return {
    async Version() {
      return {
        version: KUBELET_API_VERSION,
        runtime_name: RUNTIME_NAME,
        runtime_version: d.version,
        runtime_api_version: RUNTIME_API_VERSION,
      };
    },
    async Status(req: { verbose: boolean }) {
      const info: Record<string, string> = {};
      if (req.verbose) {
        info.config = JSON.stringify({ ...d.config(), ...(podCidr ? { podCIDR: podCidr } : {}) });
        if (d.cni) info.cni = JSON.stringify(await d.cni());
      }
      return { status: { conditions: conditions(await d.network?.()) }, info };
    },
    // kubelet sends the node's pod CIDR once it is assigned. containerd uses it only to fill a
    // CNI config template; Berth has none (the CNI directory's network has its own IPAM), so
    // it is remembered and shown in Status, and the call succeeds as containerd's does.
    async UpdateRuntimeConfig(req: { runtime_config?: { network_config?: { pod_cidr?: string } } | null }) {
      const cidr = req.runtime_config?.network_config?.pod_cidr ?? '';
      if (cidr && !/^[0-9a-fA-F.:]+\/\d{1,3}(,[0-9a-fA-F.:]+\/\d{1,3})*$/.test(cidr))
        throw invalidArgument(`invalid pod CIDR ${JSON.stringify(cidr)}`);
      if (cidr) podCidr = cidr;
      return {};
    },
  };
}
