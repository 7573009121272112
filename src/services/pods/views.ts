/** The Libpod views of a pod: `GET /libpod/pods/json` entries and `GET /libpod/pods/{name}/json`. */
import type { PodInspectReport, PodListEntry, PodStatsReport, StatsRow } from '../../api/types/index.ts';
import { bytesSize, humanSize } from '../../spec/index.ts';
import type { ContainerRecord } from '../containers/index.ts';
import { podStatus } from './state.ts';
import { isInitContainer, type PodRecord } from './types.ts';

/** The pod's containers, the infra's first when there is one (Podman lists it too). */
export interface PodParts {
  pod: PodRecord;
  infra?: ContainerRecord;
  members: ContainerRecord[];
}

function all(p: PodParts): ContainerRecord[] {
  return p.infra ? [p.infra, ...p.members] : p.members;
}

/** The pod's status: init containers that did their work (exited 0) no longer count, as in Kubernetes. */
function status(p: PodParts): string {
  return podStatus(
    all(p)
      .filter((c) => !(isInitContainer(c) && c.State.Status === 'exited' && c.State.ExitCode === 0))
      .map((c) => c.State),
  );
}

function bindings(p: PodRecord): PodInspectReport['InfraConfig']['PortBindings'] {
  const out: PodInspectReport['InfraConfig']['PortBindings'] = {};
  for (const m of p.PortMappings) {
    for (const proto of (m.protocol || 'tcp').split(','))
      (out[`${m.container_port}/${proto}`] ??= []).push({
        HostIp: m.host_ip ?? '',
        HostPort: m.host_port ? String(m.host_port) : '',
      });
  }
  return out;
}

export function podInspect(p: PodParts): PodInspectReport {
  const { pod } = p;
  const containers = all(p);
  return {
    Id: pod.Id,
    Name: pod.Name,
    Namespace: '',
    Created: pod.Created,
    CreateCommand: undefined,
    ExitPolicy: 'continue',
    State: status(p),
    Hostname: pod.Hostname,
    Labels: pod.Labels,
    ...(pod.Annotations ? { Annotations: pod.Annotations } : {}),
    CreateCgroup: true,
    CgroupParent: pod.CgroupParent || '/berth',
    CgroupPath: '',
    CreateInfra: pod.InfraContainerID !== '',
    InfraContainerID: pod.InfraContainerID,
    InfraConfig: {
      PortBindings: bindings(pod),
      HostNetwork: pod.Network === 'host',
      StaticIP: '',
      StaticMAC: '',
      NoManageResolvConf: false,
      DNSServer: pod.Dns.length ? pod.Dns : null,
      DNSSearch: pod.DnsSearch.length ? pod.DnsSearch : null,
      DNSOption: pod.DnsOptions.length ? pod.DnsOptions : null,
      NoManageHosts: false,
      HostAdd: pod.HostAdd.length ? pod.HostAdd : null,
      Networks: pod.Network === 'host' || pod.Network === 'none' ? null : [pod.Network],
      NetworkOptions: null,
      pid_ns: pod.SharedNamespaces.includes('pid') ? 'pod' : 'private',
      userns: 'host',
      uts_ns: pod.SharedNamespaces.includes('uts') ? 'pod' : 'private',
    },
    SharedNamespaces: pod.SharedNamespaces,
    NumContainers: containers.length,
    Containers: containers.map((c) => ({ Id: c.Id, Name: c.Name, State: c.State.Status })),
  };
}

export function podListEntry(p: PodParts): PodListEntry {
  const { pod } = p;
  const containers = all(p);
  return {
    Cgroup: pod.CgroupParent || '/berth',
    Containers: containers.map((c) => ({
      Names: c.Name,
      Id: c.Id,
      Status: c.State.Status,
      RestartCount: c.RestartCount ?? 0,
    })),
    Created: pod.Created,
    Id: pod.Id,
    InfraId: pod.InfraContainerID,
    Name: pod.Name,
    Namespace: '',
    Networks: pod.Network === 'host' || pod.Network === 'none' ? [] : [pod.Network],
    Status: status(p),
    Labels: pod.Labels,
  };
}

/** A container's line of Libpod's pod stats: Podman's percentages, `used / limit` in go-units' forms. */
export function podStatsLine(pod: PodRecord, r: StatsRow): PodStatsReport {
  const pct = (n: number) => `${n.toFixed(2)}%`;
  return {
    CPU: pct(r.cpu),
    MemUsage: `${humanSize(r.mem)} / ${humanSize(r.limit)}`,
    MemUsageBytes: `${bytesSize(r.mem)} / ${bytesSize(r.limit)}`,
    Mem: pct(r.memPct),
    NetIO: `${humanSize(r.netRx)} / ${humanSize(r.netTx)}`,
    BlockIO: `${humanSize(r.blkRead)} / ${humanSize(r.blkWrite)}`,
    PIDS: String(r.pids),
    Pod: pod.Id.slice(0, 12),
    CID: r.id.slice(0, 12),
    Name: r.name,
  };
}
