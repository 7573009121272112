/**
 * What running a network's plugins for a pod means, as data (CNI spec, "Execution protocol" and
 * "Network configuration lists"): for ADD each plugin in order, for CHECK the same order, for
 * DEL the reverse; each gets its binary, its environment (CNI_COMMAND, CNI_CONTAINERID,
 * CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH) and its standard input — its own configuration with
 * the network's name and version, the runtime config for the capabilities it declares, and the
 * previous plugin's result (`prevResult`), which only exists while running, so the caller
 * passes it to `stdinFor`. Pure: the daemon's runner spawns through src/host.
 *
 * The loopback interface is the runtime's own business (always, before the network), so
 * `loopbackCalls` plans that too.
 */
import { notFound } from '../errdefs/index.ts';
import type { NetworkConfList, PluginConf } from './config.ts';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** A pod's side of the call: what kubelet's sandbox config says, in CNI's words. */
export interface PodNetwork {
  /** The sandbox's id (CNI_CONTAINERID). */
  id: string;
  /** Path of the sandbox's network namespace. */
  netns: string;
  ifName?: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  portMappings?: PortMapping[];
  dns?: { servers: string[]; searches: string[]; options: string[] };
  bandwidth?: { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number };
}

export interface PluginCall {
  type: string;
  binary: string;
  env: Record<string, string>;
  /** The plugin's configuration as it goes on stdin, without `prevResult`. */
  config: Record<string, unknown>;
}

export const DEFAULT_IFNAME = 'eth0';

/** `failed to find plugin "x" in path [...]`, libcni's words, when a type has no binary. */
export function pluginBinary(type: string, binDirs: readonly string[], available: ReadonlyMap<string, string>): string {
  const b = available.get(type);
  if (!b) throw notFound(`failed to find plugin "${type}" in path [${binDirs.join(' ')}]`);
  return b;
}

/** The types a network needs whose binaries are not there. */
export function missingPlugins(net: NetworkConfList, available: ReadonlyMap<string, string>): string[] {
  const types = new Set<string>();
  for (const p of net.plugins) {
    types.add(p.type);
    const ipam = (p.ipam as { type?: unknown } | undefined)?.type;
    if (typeof ipam === 'string' && ipam) types.add(ipam);
  }
  return [...types].filter((t) => !available.has(t));
}

/** CNI_ARGS as containerd's CRI plugin sends them: kubelet's names for the pod. */
export function cniArgs(pod: PodNetwork): string {
  return [
    'IgnoreUnknown=1',
    `K8S_POD_NAMESPACE=${pod.podNamespace}`,
    `K8S_POD_NAME=${pod.podName}`,
    `K8S_POD_INFRA_CONTAINER_ID=${pod.id}`,
    `K8S_POD_UID=${pod.podUid}`,
  ].join(';');
}

/** The runtime config a plugin gets: only the capabilities it declares, and only those set. */
export function runtimeConfig(plugin: PluginConf, pod: PodNetwork): Record<string, unknown> | undefined {
  const caps = plugin.capabilities ?? {};
  const rc: Record<string, unknown> = {};
  if (caps.portMappings && pod.portMappings?.length)
    rc.portMappings = pod.portMappings.map((m) => ({
      hostPort: m.hostPort,
      containerPort: m.containerPort,
      protocol: m.protocol,
      ...(m.hostIP ? { hostIP: m.hostIP } : {}),
    }));
  if (caps.dns && pod.dns) rc.dns = pod.dns;
  if (caps.bandwidth && pod.bandwidth) rc.bandwidth = pod.bandwidth;
  return Object.keys(rc).length ? rc : undefined;
}

function call(
  cmd: CniCommand,
  net: NetworkConfList,
  plugin: PluginConf,
  pod: PodNetwork,
  binDirs: readonly string[],
  available: ReadonlyMap<string, string>,
): PluginCall {
  const { capabilities: _caps, ...own } = plugin;
  const rc = runtimeConfig(plugin, pod);
  return {
    type: plugin.type,
    binary: pluginBinary(plugin.type, binDirs, available),
    env: {
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: pod.id,
      CNI_NETNS: pod.netns,
      CNI_IFNAME: pod.ifName ?? DEFAULT_IFNAME,
      CNI_ARGS: cniArgs(pod),
      CNI_PATH: binDirs.join(':'),
    },
    config: { ...own, name: net.name, cniVersion: net.cniVersion, ...(rc ? { runtimeConfig: rc } : {}) },
  };
}

/**
 * The calls of one command on a network. ADD and CHECK go in the list's order, DEL in reverse;
 * CHECK is planned only where the spec has it (0.4.0 on) and the list does not disable it.
 */
export function planCalls(
  cmd: CniCommand,
  net: NetworkConfList,
  pod: PodNetwork,
  binDirs: readonly string[],
  available: ReadonlyMap<string, string>,
): PluginCall[] {
  if (cmd === 'CHECK' && (net.disableCheck || !versionAtLeast(net.cniVersion, '0.4.0'))) return [];
  const plugins = cmd === 'DEL' ? [...net.plugins].reverse() : net.plugins;
  return plugins.map((p) => call(cmd, net, p, pod, binDirs, available));
}

/** The loopback plugin on `lo`, planned like a network of its own. */
export function loopbackCalls(
  cmd: 'ADD' | 'DEL',
  pod: PodNetwork,
  binDirs: readonly string[],
  available: ReadonlyMap<string, string>,
): PluginCall[] {
  const lo: NetworkConfList = {
    file: '',
    name: 'cni-loopback',
    cniVersion: '1.0.0',
    disableCheck: true,
    plugins: [{ type: 'loopback' }],
  };
  return planCalls(cmd, lo, { ...pod, ifName: 'lo', portMappings: undefined }, binDirs, available);
}

/**
 * A call's standard input. From 0.3.0 on, each plugin after the first of an ADD sees the
 * previous one's result, and DEL and CHECK see the ADD's final result (kept by the runtime).
 */
export function stdinFor(c: PluginCall, prevResult?: unknown): string {
  const chained = prevResult !== undefined && versionAtLeast(String(c.config.cniVersion), '0.3.0');
  return JSON.stringify(chained ? { ...c.config, prevResult } : c.config);
}

export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}
