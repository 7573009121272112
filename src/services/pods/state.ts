/**
 * A pod's rules as pure functions (like services/containers/state.ts): its status from its
 * containers' states (Podman's rules), what `--share` may name, the published ports as Docker
 * port bindings, what a member may ask for, and which operations a pod's state allows. The
 * service applies them; nothing here touches a container.
 */
import { conflict, invalidArgument } from '../../errdefs/index.ts';
import type { ContainerCreateRequest, ContainerState, PodPortMapping } from '../../api/types/index.ts';
import { POD_LABELS, type PodRecord } from './types.ts';

/** Podman's pod states. */
export type PodStatus = 'Created' | 'Running' | 'Degraded' | 'Paused' | 'Stopped' | 'Exited' | 'Error';

/**
 * The pod's status from its containers' (the infra's included), as Podman decides it: some
 * running and some not is Degraded; all paused is Paused; all stopped is Exited; some stopped
 * is Stopped; nothing yet run is Created.
 */
export function podStatus(states: readonly Pick<ContainerState, 'Status'>[]): PodStatus {
  let running = 0;
  let paused = 0;
  let stopped = 0;
  let created = 0;
  let dead = 0;
  for (const s of states) {
    if (s.Status === 'running' || s.Status === 'restarting') running++;
    else if (s.Status === 'paused') paused++;
    else if (s.Status === 'created') created++;
    else if (s.Status === 'dead') dead++;
    else stopped++;
  }
  if (running > 0 && (paused || stopped || dead || created)) return 'Degraded';
  if (running > 0) return 'Running';
  if (states.length > 0 && paused === states.length) return 'Paused';
  if (states.length > 0 && stopped === states.length) return 'Exited';
  if (stopped > 0) return 'Stopped';
  if (dead > 0) return 'Error';
  return 'Created';
}

const SHAREABLE = ['cgroup', 'ipc', 'net', 'pid', 'uts'];
export const DEFAULT_SHARE = ['ipc', 'net', 'uts'];

/**
 * `--share`: the namespaces members share. Podman's names; `cgroup` is accepted and means
 * nothing more here (every container gets its own cgroup namespace only on request).
 */
export function parseShare(share: readonly string[] | undefined): string[] {
  if (share === undefined) return [...DEFAULT_SHARE];
  const out = new Set<string>();
  for (const s of share.flatMap((x) => x.split(',')).map((x) => x.trim())) {
    if (!s || s === 'none') continue;
    if (!SHAREABLE.includes(s)) throw invalidArgument(`invalid kernel namespace to share: ${s}: invalid argument`);
    out.add(s);
  }
  return [...out].sort();
}

/** The pod's published ports as the infra container's Docker port bindings and exposed ports. */
export function portBindings(mappings: readonly PodPortMapping[]): {
  PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
  ExposedPorts: Record<string, object>;
} {
  const PortBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  const ExposedPorts: Record<string, object> = {};
  for (const m of mappings) {
    const protocols = (m.protocol || 'tcp').split(',');
    for (let i = 0; i < Math.max(1, m.range ?? 1); i++) {
      for (const proto of protocols) {
        if (!['tcp', 'udp', 'sctp'].includes(proto)) throw invalidArgument(`invalid port protocol: "${proto}"`);
        if (!Number.isInteger(m.container_port) || m.container_port < 1 || m.container_port > 65535)
          throw invalidArgument(`invalid container port: ${m.container_port}`);
        const key = `${m.container_port + i}/${proto}`;
        ExposedPorts[key] = {};
        (PortBindings[key] ??= []).push({
          HostIp: m.host_ip ?? '',
          HostPort: m.host_port ? String(m.host_port + i) : '',
        });
      }
    }
  }
  return { PortBindings, ExposedPorts };
}

/**
 * A member's create request, joined to its pod: its network (and ports, DNS, /etc/hosts), IPC
 * and PID namespaces are the infra's, its host name the pod's. What it asks for that would take
 * it half out of the pod's namespaces is refused, with Podman's words.
 */
export function memberRequest(
  pod: PodRecord,
  req: ContainerCreateRequest,
  opts: { init?: boolean } = {},
): ContainerCreateRequest {
  const h = req.HostConfig ?? {};
  const shares = (ns: string) => pod.InfraContainerID !== '' && pod.SharedNamespaces.includes(ns);
  const join = `container:${pod.InfraContainerID}`;
  if (shares('net')) {
    const mode = h.NetworkMode ?? '';
    if (mode && mode !== 'default' && mode !== join)
      throw invalidArgument(
        'invalid config provided: networks must be defined when the pod is created: network cannot be configured when it is shared with a pod',
      );
    if (Object.keys(h.PortBindings ?? {}).length || h.PublishAllPorts)
      throw invalidArgument(
        'invalid config provided: published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod',
      );
    if (h.Dns?.length || h.DnsSearch?.length || h.DnsOptions?.length || h.ExtraHosts?.length || h.Links?.length)
      throw invalidArgument(
        'invalid config provided: DNS, hosts and links must be defined when the pod is created: network cannot be configured when it is shared with a pod',
      );
  }
  if (shares('uts') && req.Hostname && req.Hostname !== pod.Hostname)
    throw invalidArgument('invalid config provided: cannot set hostname when joining the pod UTS namespace');
  if (shares('ipc') && h.IpcMode && h.IpcMode !== join)
    throw invalidArgument('invalid config provided: cannot set the IPC namespace when it is shared with a pod');
  if (shares('pid') && h.PidMode && h.PidMode !== join)
    throw invalidArgument('invalid config provided: cannot set the PID namespace when it is shared with a pod');
  const labels: Record<string, string> = {
    ...(req.Labels ?? {}),
    [POD_LABELS.id]: pod.Id,
    [POD_LABELS.name]: pod.Name,
  };
  if (opts.init) labels[POD_LABELS.init] = 'always';
  const hostConfig = { ...h };
  if (shares('net')) hostConfig.NetworkMode = join;
  if (shares('ipc')) hostConfig.IpcMode = join;
  if (shares('pid')) hostConfig.PidMode = join;
  // Members share the infra's UTS namespace, as Podman's do (one name, changed for all); a pod
  // on the host's network has the host's, as its infra does.
  if (shares('uts')) hostConfig.UTSMode = pod.Network === 'host' ? 'host' : join;
  if (pod.CgroupParent && !hostConfig.CgroupParent) hostConfig.CgroupParent = pod.CgroupParent;
  return {
    ...req,
    Hostname: shares('uts') && pod.Hostname ? pod.Hostname : req.Hostname,
    Labels: labels,
    HostConfig: hostConfig,
  };
}

/** `pod rm` without force: a pod with members still running keeps them. */
export function guardRemove(pod: PodRecord, states: readonly Pick<ContainerState, 'Status'>[], force: boolean): void {
  if (force) return;
  if (states.some((s) => s.Status === 'running' || s.Status === 'paused' || s.Status === 'restarting'))
    throw conflict(`remove pod "${pod.Name}": pod has running containers: stop it first or use force`);
}

/** A pod can be pruned when nothing of it runs. */
export function prunable(states: readonly Pick<ContainerState, 'Status'>[]): boolean {
  return !states.some((s) => s.Status === 'running' || s.Status === 'paused' || s.Status === 'restarting');
}

/** Pod names follow container names' rules (Podman's). */
export function checkPodName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
    throw invalidArgument(`invalid pod name "${name}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
}
