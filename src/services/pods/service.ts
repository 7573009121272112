/**
 * The pods service: groups of containers sharing an infra process's namespaces (Podman's
 * pods, Kubernetes' pod sandbox). A pod is a record (store.ts) and an infra container running
 * berth-pause (infra.ts) that holds the network, IPC and PID namespaces; members are ordinary
 * containers of the container service, created joined to the infra (`container:<infra>`
 * modes, state.ts's `memberRequest`) and labelled with their pod, so every Docker-API client
 * sees them, and daemon restarts and live restore treat them like any container.
 *
 * Operations take plain data and return plain data (the Libpod shapes of api/types), so the
 * HTTP routes and the CRI server call the same methods. Operations on one pod are serialised
 * by one keyed lock; a member's own start (docker start, restart policies aside) first starts
 * the pod's infra through the container service's `beforeStart` hook.
 *
 * Example:
 *   const { Id } = await pods.create({ name: 'web', portmappings: [{ container_port: 80, host_port: 8080 }] });
 *   await pods.createMember('web', { Image: 'busybox', Cmd: ['httpd', '-f'] }, 'web-httpd');
 *   await pods.start('web');
 */
import { randomBytes } from 'node:crypto';
import { KeyedLock } from '../../async/index.ts';
import { conflict, invalidArgument, notModified } from '../../errdefs/index.ts';
import type { EventBus } from '../../events/index.ts';
import type { MetadataDb } from '../../metadata/index.ts';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerTop,
  PodActionReport,
  PodCreateRequest,
  PodInspectReport,
  PodListEntry,
  PodPruneReport,
  PodRmReport,
  PodStatsReport,
  StatsResponse,
} from '../../api/types/index.ts';
import { statsRow } from '../../api/types/index.ts';
import { freeRandomName, type ContainerRecord, type ContainerService } from '../containers/index.ts';
import { PAUSE_COMMAND } from './infra.ts';
import { checkPodName, guardRemove, memberRequest, parseShare, portBindings, prunable } from './state.ts';
import { PodStore } from './store.ts';
import { POD_LABELS, isInitContainer as isInit, type PodRecord } from './types.ts';
import { podInspect, podListEntry, podStatsLine, type PodParts } from './views.ts';

export interface PodServiceDeps {
  db: MetadataDb;
  containers: ContainerService;
  events: EventBus;
  /** The infra containers' image (infra.ts's `InfraImage` in the daemon): its reference, made if missing. */
  infraImage: { ensure(): Promise<string> };
}

const running = (c: ContainerRecord) => c.State.Running || c.State.Status === 'paused';

export class PodService {
  readonly store: PodStore;
  private readonly d: PodServiceDeps;
  private readonly locks = new KeyedLock();
  /** Pods being removed: their infra container may go. */
  private readonly removing = new Set<string>();

  constructor(deps: PodServiceDeps) {
    this.d = deps;
    this.store = new PodStore(deps.db);
    deps.containers.hooks = {
      beforeStart: (c) => this.beforeMemberStart(c),
      beforeRemove: (c, o) => this.beforeContainerRemove(c, o),
    };
  }

  // ---- create ----

  /**
   * `POST /libpod/pods/create`: the record and its infra container (created, not started).
   * `infraLabels`: labels for the infra container too (the CRI's Kubernetes labels, so that
   * `docker ps` shows a sandbox's infra as cri-dockerd's).
   */
  async create(
    req: PodCreateRequest,
    opts: { infraLabels?: Record<string, string>; warmMembers?: boolean } = {},
  ): Promise<{ Id: string }> {
    const name = req.name || freeRandomName((n) => !!this.store.find(n));
    checkPodName(name);
    const owner = this.store.find(name);
    if (owner?.Name === name)
      throw conflict(`create pod "${name}": name is in use by pod ${owner.Id}: pod already exists`);
    const shared = parseShare(req.shared_namespaces);
    const network = networkOf(req);
    if (network === 'host' && req.portmappings?.length)
      throw invalidArgument('invalid config provided: published ports cannot be used with the host network');
    const id = randomBytes(32).toString('hex');
    const rec: PodRecord = {
      Id: id,
      Name: name,
      Created: new Date().toISOString(),
      Labels: { ...(req.labels ?? {}) },
      ...(req.annotations && Object.keys(req.annotations).length ? { Annotations: { ...req.annotations } } : {}),
      Hostname: network === 'host' ? '' : req.hostname || name,
      SharedNamespaces: req.no_infra ? [] : shared,
      InfraContainerID: '',
      Network: network,
      PortMappings: [...(req.portmappings ?? [])],
      Dns: [...(req.dns_server ?? [])],
      DnsSearch: [...(req.dns_search ?? [])],
      DnsOptions: [...(req.dns_option ?? [])],
      HostAdd: [...(req.hostadd ?? [])],
      Sysctls: { ...(req.sysctl ?? {}) },
      CgroupParent: req.cgroup_parent ?? '',
    };
    if (!req.no_infra) {
      if (!shared.includes('net') && (rec.PortMappings.length || network !== 'bridge'))
        throw invalidArgument('invalid config provided: network settings need the network namespace to be shared');
      // Another pause image (registry.k8s.io/pause) runs its own entrypoint; it must be here already.
      const image = req.infra_image || (await this.d.infraImage.ensure());
      const ports = portBindings(rec.PortMappings);
      const infra = await this.d.containers.create(
        {
          Image: image,
          Cmd: req.infra_image ? undefined : [PAUSE_COMMAND],
          Hostname: rec.Hostname || undefined,
          Labels: { ...opts.infraLabels, [POD_LABELS.id]: id, [POD_LABELS.name]: name, [POD_LABELS.infra]: 'true' },
          ExposedPorts: ports.ExposedPorts,
          HostConfig: {
            NetworkMode: network,
            PortBindings: ports.PortBindings,
            Dns: rec.Dns,
            DnsSearch: rec.DnsSearch,
            DnsOptions: rec.DnsOptions,
            ExtraHosts: rec.HostAdd,
            Sysctls: Object.keys(rec.Sysctls).length ? rec.Sysctls : undefined,
            CgroupParent: rec.CgroupParent || undefined,
            UTSMode: network === 'host' ? 'host' : undefined,
          },
        },
        req.infra_name || `${id.slice(0, 12)}-infra`,
      );
      rec.InfraContainerID = infra.Id;
    }
    // A name taken while the infra was made (two creates at once) fails the second.
    if (this.store.find(name)?.Name === name) {
      if (rec.InfraContainerID) await this.d.containers.remove(rec.InfraContainerID, { force: true }).catch(() => {});
      throw conflict(`create pod "${name}": name is in use: pod already exists`);
    }
    this.store.insert(rec);
    this.emit(rec, 'create');
    // `pod create` then `run --pod`: the member's task is made while its CLI starts (the container service's warm pool).
    if (opts.warmMembers && rec.InfraContainerID) {
      const template = memberRequest(rec, {});
      this.d.containers.warmMembers(rec.InfraContainerID, template);
    }
    return { Id: id };
  }

  /**
   * A container in the pod (`berth run --pod`, kube play): joined to the infra's namespaces.
   * `init`: an init container, run to a zero exit before the others at every start of the pod.
   */
  async createMember(
    ref: string,
    req: ContainerCreateRequest,
    name?: string,
    opts: { init?: boolean; platform?: string } = {},
  ): Promise<ContainerCreateResponse> {
    const pod = this.store.get(ref);
    return this.d.containers.create(memberRequest(pod, req, opts), name, opts.platform);
  }

  // ---- start / stop / kill / pause / restart ----

  /** Starts the infra, runs the init containers in order to a zero exit, then starts the others. */
  async start(ref: string): Promise<PodActionReport> {
    const pod = this.store.get(ref);
    return this.locks.run(pod.Id, async () => {
      const parts = this.parts(pod);
      const infraUp = parts.infra ? parts.infra.State.Running : parts.members.length > 0;
      if (infraUp && parts.members.every((c) => c.State.Running)) throw notModified('pod already started');
      await this.startInfra(pod);
      const errs: string[] = [];
      for (const c of parts.members.filter(isInit)) {
        const exit = this.d.containers.nextExit(c.Id);
        try {
          await this.d.containers.start(c.Id);
        } catch (e) {
          errs.push((e as Error).message);
          break;
        }
        const code = await exit;
        if (code !== 0) {
          errs.push(`init container "${c.Name}" exited with code ${code}`);
          break;
        }
      }
      if (!errs.length)
        await Promise.all(
          parts.members
            .filter((c) => !isInit(c) && !running(c))
            .map((c) => this.d.containers.start(c.Id).catch((e: Error) => void errs.push(e.message))),
        );
      this.emit(pod, 'start');
      return report(pod, errs);
    });
  }

  /** Stops the members (each with its own stop signal and `timeout`), then the infra. */
  async stop(ref: string, opts: { timeout?: number } = {}): Promise<PodActionReport> {
    const pod = this.store.get(ref);
    return this.locks.run(pod.Id, async () => {
      const errs = await this.stopParts(this.parts(pod), opts.timeout);
      this.emit(pod, 'stop');
      return report(pod, errs);
    });
  }

  /** The members' stops at once, then the infra's; the errors' messages (the caller holds the pod's lock). */
  private async stopParts(parts: PodParts, timeout: number | undefined): Promise<string[]> {
    const errs: string[] = [];
    const stop = (c: ContainerRecord) =>
      this.d.containers.stop(c.Id, { timeout }).catch((e: Error) => void errs.push(e.message));
    await Promise.all(parts.members.filter(running).map(stop));
    if (parts.infra && running(parts.infra)) await stop(parts.infra);
    return errs;
  }

  /** Signals every running container of the pod, the infra's too (Podman's `pod kill`). */
  async kill(ref: string, signal = 'SIGKILL'): Promise<PodActionReport> {
    const pod = this.store.get(ref);
    return this.locks.run(pod.Id, async () => {
      const targets = this.containersOf(pod).filter((c) => c.State.Running);
      if (!targets.length) throw conflict(`kill pod "${pod.Name}": no running containers: pod is not running`);
      const errs: string[] = [];
      await Promise.all(
        targets.map((c) => this.d.containers.kill(c.Id, signal).catch((e: Error) => void errs.push(e.message))),
      );
      this.emit(pod, 'kill');
      return report(pod, errs);
    });
  }

  async pause(ref: string): Promise<PodActionReport> {
    return this.each(
      ref,
      'pause',
      (c) => c.State.Running && !c.State.Paused,
      (id) => this.d.containers.pause(id),
    );
  }

  async unpause(ref: string): Promise<PodActionReport> {
    return this.each(
      ref,
      'unpause',
      (c) => c.State.Paused,
      (id) => this.d.containers.unpause(id),
    );
  }

  async restart(ref: string, opts: { timeout?: number } = {}): Promise<PodActionReport> {
    const stopped = await this.stop(ref, opts);
    if (stopped.Errs.length) return stopped;
    const started = await this.start(ref).catch((e: Error & { category?: string }) => {
      if (e.category === 'NotModified') return report(this.store.get(ref), []);
      throw e;
    });
    this.emit(this.store.get(ref), 'restart');
    return started;
  }

  // ---- remove / prune ----

  /**
   * Removes the members, then the infra, then the record. `force`: running ones too, killed as
   * `docker rm -f` kills; with a `timeout` as well (Podman's `pod rm -f -t N`, Libpod's
   * `?force=true&timeout=N`) they are first stopped as `pod stop -t N` stops them, each with its
   * stop signal and N seconds before the kill. A stop that fails leaves the removal to the kill.
   */
  async remove(ref: string, opts: { force?: boolean; timeout?: number } = {}): Promise<PodRmReport> {
    const pod = this.store.get(ref);
    return this.locks.run(pod.Id, async () => {
      let parts = this.parts(pod);
      guardRemove(
        pod,
        this.containersOf(pod).map((c) => c.State),
        !!opts.force,
      );
      if (opts.force && opts.timeout !== undefined) {
        await this.stopParts(parts, opts.timeout);
        parts = this.parts(pod);
      }
      const removed: Record<string, string | null> = {};
      this.removing.add(pod.Id);
      try {
        if (pod.InfraContainerID) await this.d.containers.unwarmMembers(pod.InfraContainerID);
        for (const c of [...parts.members, ...(parts.infra ? [parts.infra] : [])]) {
          await this.d.containers.remove(c.Id, { force: true });
          removed[c.Id] = null;
        }
        this.store.delete(pod.Id);
      } finally {
        this.removing.delete(pod.Id);
      }
      this.emit(pod, 'remove');
      return { Id: pod.Id, RemovedCtrs: removed };
    });
  }

  /** `pod prune`: every pod nothing of which runs. */
  async prune(): Promise<PodPruneReport[]> {
    const out: PodPruneReport[] = [];
    for (const pod of this.store.all()) {
      if (!prunable(this.containersOf(pod).map((c) => c.State))) continue;
      try {
        await this.remove(pod.Id);
        out.push({ Id: pod.Id });
      } catch (e) {
        out.push({ Id: pod.Id, Err: (e as Error).message });
      }
    }
    return out;
  }

  // ---- views ----

  inspect(ref: string): PodInspectReport {
    return podInspect(this.parts(this.store.get(ref)));
  }

  list(filter: (p: PodListEntry) => boolean = () => true): PodListEntry[] {
    return this.store
      .all()
      .map((p) => podListEntry(this.parts(p)))
      .filter(filter);
  }

  exists(ref: string): boolean {
    return !!this.store.find(ref);
  }

  /** `pod top`: the processes of every running container of the pod, in one table. */
  async top(ref: string, psArgs = '-ef'): Promise<ContainerTop> {
    const pod = this.store.get(ref);
    const targets = this.parts(pod).members.filter((c) => c.State.Running);
    if (!targets.length) throw conflict(`top of pod "${pod.Name}": no running containers: pod is not running`);
    const tables = await Promise.all(targets.map((c) => this.d.containers.top(c.Id, psArgs)));
    return { Titles: tables[0]!.Titles, Processes: tables.flatMap((t) => t.Processes) };
  }

  /**
   * `pod stats` (Libpod's `GET /pods/stats`): one line per running container of the pods named,
   * or of every pod when none is, with Podman's figures as text.
   */
  async stats(refs: string[]): Promise<PodStatsReport[]> {
    const pods = refs.length ? refs.map((r) => this.store.get(r)) : this.store.all();
    const lines = await Promise.all(
      pods.flatMap((pod) =>
        this.containersOf(pod)
          .filter((c) => c.State.Running)
          .map(async (c) => {
            let sample: StatsResponse | undefined;
            for await (const s of this.d.containers.stats(c.Id, { stream: false })) sample = s as StatsResponse;
            if (!sample) throw conflict(`no stats for container ${c.Id}`);
            return podStatsLine(pod, statsRow(c.Id, sample));
          }),
      ),
    );
    return lines;
  }

  /** The pod's containers: its infra and its members, members in the order they were made. */
  parts(pod: PodRecord): PodParts {
    const mine = this.d.containers.list().filter((c) => c.Config.Labels?.[POD_LABELS.id] === pod.Id);
    const infra = mine.find((c) => c.Id === pod.InfraContainerID);
    const members = mine
      .filter((c) => c.Id !== pod.InfraContainerID)
      .sort((a, b) => (a.Created < b.Created ? -1 : a.Created > b.Created ? 1 : 0));
    return { pod, infra, members };
  }

  private containersOf(pod: PodRecord): ContainerRecord[] {
    const p = this.parts(pod);
    return p.infra ? [p.infra, ...p.members] : p.members;
  }

  // ---- internals ----

  private async each(
    ref: string,
    action: string,
    which: (c: ContainerRecord) => boolean,
    op: (id: string) => Promise<void>,
  ): Promise<PodActionReport> {
    const pod = this.store.get(ref);
    return this.locks.run(pod.Id, async () => {
      const targets = this.containersOf(pod).filter(which);
      if (!targets.length) throw conflict(`${action} pod "${pod.Name}": no containers to ${action}`);
      const errs: string[] = [];
      await Promise.all(targets.map((c) => op(c.Id).catch((e: Error) => void errs.push(e.message))));
      this.emit(pod, action);
      return report(pod, errs);
    });
  }

  /** The infra must run before a member can join its namespaces; starts of one pod's infra are one at a time. */
  private async startInfra(pod: PodRecord): Promise<void> {
    if (!pod.InfraContainerID) return;
    await this.locks.run(`infra:${pod.Id}`, async () => {
      const infra = this.d.containers.store.find(pod.InfraContainerID);
      if (!infra) throw conflict(`pod "${pod.Name}" has lost its infra container: remove the pod and make it again`);
      if (infra.State.Paused) throw conflict(`pod "${pod.Name}" is paused: unpause it first`);
      if (!infra.State.Running) await this.d.containers.start(infra.Id);
    });
  }

  private async beforeMemberStart(c: ContainerRecord): Promise<void> {
    const podId = c.Config.Labels?.[POD_LABELS.id];
    if (!podId || c.Config.Labels?.[POD_LABELS.infra]) return;
    const pod = this.store.find(podId);
    if (!pod) throw conflict(`start container "${c.Name}": its pod ${podId} no longer exists`);
    await this.startInfra(pod);
  }

  private beforeContainerRemove(c: ContainerRecord, _opts: { force: boolean }): void {
    const podId = c.Config.Labels?.[POD_LABELS.id];
    if (!podId || !c.Config.Labels?.[POD_LABELS.infra] || this.removing.has(podId)) return;
    const pod = this.store.find(podId);
    if (pod?.InfraContainerID === c.Id)
      throw conflict(
        `remove container "${c.Name}": it is the infra container of pod "${pod.Name}" and cannot be removed without removing the pod`,
      );
  }

  private emit(pod: PodRecord, action: string): void {
    this.d.events.publish('pod', action, pod.Id, { name: pod.Name });
  }
}

function report(pod: PodRecord, errs: string[]): PodActionReport {
  return { Id: pod.Id, Errs: errs };
}

/** The infra's network mode from Libpod's netns and networks. */
function networkOf(req: PodCreateRequest): string {
  const mode = req.netns?.nsmode;
  if (mode === 'host') return 'host';
  if (mode === 'none') return 'none';
  const nets = Array.isArray(req.networks) ? req.networks : Object.keys(req.networks ?? {});
  if (nets.length > 1) throw invalidArgument('a pod joins one network in Berth: give one --network');
  if (nets[0] && nets[0] !== 'default') return nets[0];
  return 'bridge';
}
