/**
 * The CRI's stats from the cgroup readings `docker stats` shows (the runtime's `stats`), and
 * its container events from Berth's event bus. kubelet's summary API asks for
 * `ListContainerStats` and `ListPodSandboxStats` every few seconds; `usage_nano_cores` is the
 * CPU rate since the call before (containerd computes it the same way), zero on the first.
 * A sandbox's network figures are its namespace's interface counters (the infra's reading has
 * them, as `docker stats` shows a container's), and its process count the pids cgroups of its
 * infra and containers together.
 */
import type { EventMessage } from '../api/types/index.ts';
import type { EventBus } from '../events/index.ts';
import type { ContainerRecord } from '../services/containers/index.ts';
import { K8S, matchesSelector } from './labels.ts';
import { sandboxStatus } from './sandboxes.ts';
import type { ContainerMeta } from './containers.ts';
import type { CriPods } from './pods.ts';
import type { Handlers } from './server.ts';

interface Sample {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
  /** The namespace's interfaces but loopback, as Docker's stats have them. */
  networks?: Record<string, InterfaceCounters>;
}

interface InterfaceCounters {
  rx_bytes: number;
  rx_errors: number;
  tx_bytes: number;
  tx_errors: number;
}

const u64 = (n: number | bigint | undefined) => ({ value: String(n ?? 0) });

/** Working set as kubelet (cAdvisor) counts it: usage less inactive file pages. */
export function workingSet(m: Sample['memory_stats']): number {
  const usage = m?.usage ?? 0;
  const inactive = m?.stats?.inactive_file ?? m?.stats?.total_inactive_file ?? 0;
  return Math.max(0, usage - inactive);
}

/** CPU rate in nanocores between two readings of cumulative usage (ns) taken at two times (ns). */
export function nanoCores(prev: { at: bigint; usage: bigint } | undefined, at: bigint, usage: bigint): bigint {
  if (!prev || at <= prev.at || usage < prev.usage) return 0n;
  return ((usage - prev.usage) * 1_000_000_000n) / (at - prev.at);
}

/** The CRI's NetworkUsage: `eth0` (the interface CNI and Berth's bridge give a pod) is the default. */
export function networkUsage(at: bigint, networks: Record<string, InterfaceCounters>) {
  const usage = ([name, i]: [string, InterfaceCounters]) => ({
    name,
    rx_bytes: u64(i.rx_bytes),
    rx_errors: u64(i.rx_errors),
    tx_bytes: u64(i.tx_bytes),
    tx_errors: u64(i.tx_errors),
  });
  const all = Object.entries(networks).map(usage);
  const def = all.find((i) => i.name === 'eth0') ?? all[0];
  return { timestamp: String(at), default_interface: def ?? null, interfaces: all };
}

export function statsHandlers(p: CriPods): Handlers {
  const last = new Map<string, { at: bigint; usage: bigint }>();

  const sample = async (c: ContainerRecord): Promise<Sample | undefined> => {
    if (!c.State.Running) return undefined;
    for await (const s of p.d.containers.stats(c.Id, { stream: false, oneShot: true })) return s as Sample;
    return undefined;
  };

  const usage = (id: string, s: Sample | undefined, at: bigint) => {
    const total = BigInt(Math.round(s?.cpu_stats?.cpu_usage?.total_usage ?? 0));
    const rate = nanoCores(last.get(id), at, total);
    if (s) last.set(id, { at, usage: total });
    const mem = s?.memory_stats;
    const limit = mem?.limit ?? 0;
    return {
      cpu: { timestamp: String(at), usage_core_nano_seconds: u64(total), usage_nano_cores: u64(rate) },
      memory: {
        timestamp: String(at),
        working_set_bytes: u64(workingSet(mem)),
        available_bytes: u64(limit ? Math.max(0, limit - workingSet(mem)) : 0),
        usage_bytes: u64(mem?.usage),
        rss_bytes: u64(mem?.stats?.anon ?? mem?.stats?.rss ?? 0),
        page_faults: u64(mem?.stats?.pgfault ?? 0),
        major_page_faults: u64(mem?.stats?.pgmajfault ?? 0),
      },
    };
  };

  /** `taken`: the sample already read (the sandbox's stats read its members' pids too). */
  const containerStats = async (c: ContainerRecord, meta: ContainerMeta, taken?: { s: Sample | undefined }) => {
    const at = process.hrtime.bigint() + EPOCH_OFFSET;
    const s = taken ? taken.s : await sample(c).catch(() => undefined);
    const sizes = await p.d.containers.sizes(c.Id).catch(() => ({ SizeRw: 0 }));
    return {
      attributes: { id: c.Id, metadata: meta.metadata, labels: meta.labels, annotations: meta.annotations },
      ...usage(c.Id, s, at),
      writable_layer: {
        timestamp: String(at),
        fs_id: { mountpoint: p.d.containers.dir(c.Id) },
        used_bytes: u64(sizes.SizeRw),
        inodes_used: u64(0),
      },
    };
  };

  const sandboxStats = async (s: ReturnType<CriPods['sandboxes']>[number]) => {
    const at = process.hrtime.bigint() + EPOCH_OFFSET;
    const members = p.containers().filter((x) => x.meta.sandboxId === s.pod.Id);
    const samples = await Promise.all(members.map((x) => sample(x.c).catch(() => undefined)));
    const cs = await Promise.all(members.map((x, i) => containerStats(x.c, x.meta, { s: samples[i] })));
    const infra = s.infra ? await sample(s.infra).catch(() => undefined) : undefined;
    const own = usage(s.pod.Id, infra, at);
    // A host-network sandbox's counters would be the node's: none, as containerd gives none.
    const networks = s.meta.namespaces.network !== 'NODE' ? infra?.networks : undefined;
    let processes = infra?.pids_stats?.current ?? 0;
    // The pod's figures: its infra's and its containers' together (each has a cgroup of its own).
    let cpu = BigInt(own.cpu.usage_core_nano_seconds.value);
    let rate = BigInt(own.cpu.usage_nano_cores.value);
    let ws = BigInt(own.memory.working_set_bytes.value);
    let used = BigInt(own.memory.usage_bytes.value);
    for (const c of cs) {
      cpu += BigInt(c.cpu.usage_core_nano_seconds.value);
      rate += BigInt(c.cpu.usage_nano_cores.value);
      ws += BigInt(c.memory.working_set_bytes.value);
      used += BigInt(c.memory.usage_bytes.value);
    }
    for (const x of samples) processes += x?.pids_stats?.current ?? 0;
    return {
      attributes: {
        id: s.pod.Id,
        metadata: s.meta.metadata,
        labels: s.meta.labels,
        annotations: s.meta.annotations,
      },
      linux: {
        cpu: { timestamp: String(at), usage_core_nano_seconds: u64(cpu), usage_nano_cores: u64(rate) },
        memory: { timestamp: String(at), working_set_bytes: u64(ws), usage_bytes: u64(used) },
        network: networks ? networkUsage(at, networks) : null,
        process: { timestamp: String(at), process_count: u64(processes) },
        containers: cs,
      },
      windows: null,
    };
  };

  return {
    async ContainerStats(req: { container_id: string }) {
      const { c, meta } = p.container(req.container_id);
      return { stats: await containerStats(c, meta) };
    },
    async ListContainerStats(req: {
      filter: { id: string; pod_sandbox_id: string; label_selector: Record<string, string> } | null;
    }) {
      const f = req.filter;
      const list = p
        .containers()
        .filter(({ c }) => c.State.Running)
        .filter(({ c }) => !f?.id || c.Id.startsWith(f.id))
        .filter(({ meta }) => !f?.pod_sandbox_id || meta.sandboxId.startsWith(f.pod_sandbox_id))
        .filter(({ meta }) => matchesSelector(meta.labels, f?.label_selector ?? null));
      return { stats: await Promise.all(list.map(({ c, meta }) => containerStats(c, meta))) };
    },
    async PodSandboxStats(req: { pod_sandbox_id: string }) {
      return { stats: await sandboxStats(p.sandbox(req.pod_sandbox_id)) };
    },
    async ListPodSandboxStats(req: { filter: { id: string; label_selector: Record<string, string> } | null }) {
      const f = req.filter;
      const list = p
        .sandboxes()
        .filter((s) => s.infra?.State.Running)
        .filter((s) => !f?.id || s.pod.Id.startsWith(f.id))
        .filter((s) => matchesSelector(s.meta.labels, f?.label_selector ?? null));
      return { stats: await Promise.all(list.map(sandboxStats)) };
    },
    async ListMetricDescriptors() {
      return { descriptors: [] };
    },
    async ListPodSandboxMetrics() {
      return { pod_metrics: [] };
    },
  };
}

const EPOCH_OFFSET = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Berth's container events as the CRI's: which, and of what kind. */
export function criEventType(e: EventMessage): string | undefined {
  if (e.Type !== 'container') return undefined;
  switch (e.Action) {
    case 'create':
      return 'CONTAINER_CREATED_EVENT';
    case 'start':
      return 'CONTAINER_STARTED_EVENT';
    case 'die':
      return 'CONTAINER_STOPPED_EVENT';
    case 'destroy':
      return 'CONTAINER_DELETED_EVENT';
    default:
      return undefined;
  }
}

/**
 * `GetContainerEvents`: every event of a CRI container from now on, with the sandbox's status
 * and its containers' (kubelet's evented PLEG reads them), until the caller leaves.
 */
export function eventsHandler(p: CriPods, events: EventBus) {
  return (_req: unknown, write: (msg: object) => void, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      const off = events.subscribe((e) => {
        const type = criEventType(e);
        if (!type) return;
        const id = e.Actor.ID;
        const sandboxId = e.Actor.Attributes[K8S.sandboxId];
        // Only the CRI's containers (their labels are the event's attributes).
        if (!sandboxId) return;
        let sandbox = null;
        let statuses: object[] = [];
        const s = p.findSandbox(sandboxId);
        if (s) {
          sandbox = sandboxStatus(s.pod, s.meta, s.infra);
          statuses = p
            .containers()
            .filter((x) => x.meta.sandboxId === s.pod.Id)
            .map((x) => p.status(x.c, x.meta));
        }
        write({
          container_id: id,
          container_event_type: type,
          created_at: String(e.timeNano),
          pod_sandbox_status: sandbox,
          containers_statuses: statuses,
        });
      });
      signal.addEventListener('abort', () => {
        off();
        resolve();
      });
    });
}
