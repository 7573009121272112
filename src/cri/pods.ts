/**
 * The RuntimeService's sandboxes and containers on Berth's pods and containers services: a
 * sandbox is a pod with a berth-pause infra (sandboxes.ts), a container a member of it
 * (containers.ts), so `docker ps` shows kubelet's containers, with their Kubernetes labels, and
 * `berth pod ps` its pods. Nothing is kept here: the records are the services'.
 *
 * Idempotence as kubelet needs it and containerd does it: stopping or removing what is already
 * stopped or gone succeeds; a status of what is gone is NOT_FOUND.
 */
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { conflict, notFound } from '../errdefs/index.ts';
import type { ContainerRecord, ContainerService } from '../services/containers/index.ts';
import type { PodNetworking, SandboxNetworkIds } from '../cni/index.ts';
import type { PodRecord, PodService } from '../services/pods/index.ts';
import { CRI_META } from './labels.ts';
import {
  containerMatches,
  containerMeta,
  containerRequest,
  containerStatus,
  containerView,
  localhostProfile,
  resourcesOf,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerMeta,
  type LinuxResources,
} from './containers.ts';
import {
  sandboxMatches,
  sandboxMeta,
  sandboxRequest,
  sandboxStatus,
  sandboxView,
  type SandboxConfig,
  type SandboxFilter,
  type SandboxMeta,
} from './sandboxes.ts';
import type { Handlers } from './server.ts';

export interface PodDeps {
  pods: PodService;
  containers: ContainerService;
  /** The lowest oom_score_adj this daemon may give (its own: it cannot go lower). */
  oomScoreFloor: number;
  /** The CNI network (src/cni); without one, or while it is not ready, sandboxes use Berth's bridge. */
  networking?: PodNetworking;
  /** `--sandbox-image`: the pause image's reference, present once answered; without it, Berth's berth-pause. */
  sandboxImage?: () => Promise<string>;
}

const isCategory = (e: unknown, cat: string) => (e as { category?: string })?.category === cat;

/** The CRI's sandboxes and containers over Berth's services: lookups shared by the handlers. */
export class CriPods {
  readonly d: PodDeps;

  constructor(d: PodDeps) {
    this.d = d;
  }

  /** A sandbox by its ID (or a unique prefix of it); NOT_FOUND in containerd's words. */
  sandbox(id: string): { pod: PodRecord; meta: SandboxMeta; infra: ContainerRecord | undefined } {
    const pod = this.findSandbox(id);
    if (!pod) throw notFound(`an error occurred when try to find sandbox "${id}": not found`);
    return pod;
  }

  findSandbox(id: string): { pod: PodRecord; meta: SandboxMeta; infra: ContainerRecord | undefined } | undefined {
    if (!id) return undefined;
    let pod: PodRecord | undefined;
    try {
      pod = this.d.pods.store.find(id);
    } catch {
      return undefined;
    }
    const meta = pod && sandboxMeta(pod);
    if (!pod || !meta) return undefined;
    return { pod, meta, infra: this.d.pods.parts(pod).infra };
  }

  sandboxes(): { pod: PodRecord; meta: SandboxMeta; infra: ContainerRecord | undefined }[] {
    const out = [];
    for (const pod of this.d.pods.store.all()) {
      const meta = sandboxMeta(pod);
      if (meta) out.push({ pod, meta, infra: this.d.pods.parts(pod).infra });
    }
    return out;
  }

  /** A CRI container by ID or unique prefix; NOT_FOUND in containerd's words. */
  container(id: string): { c: ContainerRecord; meta: ContainerMeta } {
    let c: ContainerRecord | undefined;
    try {
      c = id ? this.d.containers.store.find(id) : undefined;
    } catch {
      c = undefined;
    }
    const meta = c && containerMeta(c);
    if (!c || !meta) throw notFound(`an error occurred when try to find container "${id}": not found`);
    return { c, meta };
  }

  containers(): { c: ContainerRecord; meta: ContainerMeta }[] {
    const out = [];
    for (const c of this.d.containers.list()) {
      const meta = containerMeta(c);
      if (meta) out.push({ c, meta });
    }
    return out;
  }

  private networkIds(id: string): SandboxNetworkIds {
    const { meta, infra } = this.sandbox(id);
    return {
      containerId: id,
      netnsPath: infra?.State.Running && infra.State.Pid ? `/proc/${infra.State.Pid}/ns/net` : '',
      ifName: 'eth0',
      podName: meta.metadata.name,
      podNamespace: meta.metadata.namespace,
      podUid: meta.metadata.uid,
    };
  }

  /** ADD: the sandbox's namespace (its infra's) joins the CNI network; its addresses are kept with the pod. */
  async setUpNetwork(id: string, config: SandboxConfig): Promise<void> {
    const ids = this.networkIds(id);
    if (!ids.netnsPath) throw conflict(`sandbox "${id}" has no running infra to set up its network in`);
    const net = await this.d.networking!.setUp({
      ...ids,
      portMappings: config.port_mappings
        .filter((m) => m.host_port > 0)
        .map((m) => ({
          hostPort: m.host_port,
          containerPort: m.container_port,
          protocol: m.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp',
          ...(m.host_ip ? { hostIP: m.host_ip } : {}),
        })),
      dns: config.dns_config ?? undefined,
    });
    const { pod, meta } = this.sandbox(id);
    const annotations = { ...pod.Annotations, [CRI_META]: JSON.stringify({ ...meta, ips: net.ips }) };
    this.d.pods.store.update({ ...pod, Annotations: annotations });
  }

  /**
   * At start: the CNI networks kept for sandboxes that are gone (removed while berthd was down,
   * or a crash between a pod's removal and its DEL) are torn down, as containerd does, so their
   * addresses and port mappings are freed. A kept namespace path that now names another
   * namespace is not entered (CniNetwork checks). Answers the sandboxes torn down.
   */
  async reapNetworks(): Promise<string[]> {
    const reaped: string[] = [];
    for (const ids of (await this.d.networking?.kept()) ?? []) {
      if (this.findSandbox(ids.containerId)) continue;
      await this.d.networking!.tearDown(ids);
      reaped.push(ids.containerId);
    }
    return reaped;
  }

  /** DEL: idempotent, and works when the namespace is gone (CniNetwork keeps what ADD answered). */
  async tearDownNetwork(id: string): Promise<void> {
    await this.d.networking?.tearDown(this.networkIds(id));
  }

  logPath(c: ContainerRecord, meta: ContainerMeta): string {
    return meta.logPath || this.d.containers.logPath(c.Id);
  }

  status(c: ContainerRecord, meta: ContainerMeta) {
    return containerStatus(c, meta, this.logPath(c, meta));
  }
}

export function podHandlers(p: CriPods): Handlers {
  const { pods, containers } = p.d;
  return {
    async RunPodSandbox(req: { config: SandboxConfig; runtime_handler: string }) {
      // CNI when its network is usable; else Berth's bridge, as `berth pod` pods (NetworkReady
      // tells kubelet which: it schedules nothing on a node whose network is not ready).
      const cni = !!p.d.networking && (await p.d.networking.status()).ready;
      const { request, infraLabels, meta } = sandboxRequest(req.config, req.runtime_handler, hostname(), cni);
      if (p.d.sandboxImage) request.infra_image = await p.d.sandboxImage();
      const { Id } = await pods.create(request, { infraLabels });
      try {
        const r = await pods.start(Id);
        if (r.Errs.length) throw conflict(`failed to start sandbox "${Id}": ${r.Errs.join('; ')}`);
        if (meta.cni) await p.setUpNetwork(Id, req.config);
      } catch (e) {
        if (meta.cni) await p.tearDownNetwork(Id).catch(() => {});
        await pods.remove(Id, { force: true }).catch(() => {});
        throw e;
      }
      return { pod_sandbox_id: Id };
    },

    async StopPodSandbox(req: { pod_sandbox_id: string }) {
      const s = p.findSandbox(req.pod_sandbox_id);
      if (!s) return {};
      // While the namespace is there: the bridge plugin finds the pod's masquerade rule through it.
      if (s.meta.cni) await p.tearDownNetwork(s.pod.Id);
      // As containerd: the sandbox's containers get no grace period (kubelet stopped them with theirs).
      const r = await pods.stop(s.pod.Id, { timeout: 0 });
      if (r.Errs.length) throw conflict(`failed to stop sandbox "${s.pod.Id}": ${r.Errs.join('; ')}`);
      return {};
    },

    async RemovePodSandbox(req: { pod_sandbox_id: string }) {
      const s = p.findSandbox(req.pod_sandbox_id);
      if (!s) return {};
      if (s.meta.cni) await p.tearDownNetwork(s.pod.Id);
      await pods.remove(s.pod.Id, { force: true }).catch((e) => {
        if (!isCategory(e, 'NotFound')) throw e;
      });
      return {};
    },

    async PodSandboxStatus(req: { pod_sandbox_id: string; verbose: boolean }) {
      const { pod, meta, infra } = p.sandbox(req.pod_sandbox_id);
      const info: Record<string, string> = {};
      if (req.verbose)
        info.info = JSON.stringify({
          pid: infra?.State.Pid ?? 0,
          infraContainerId: pod.InfraContainerID,
          image: infra?.Config.Image,
          hostname: pod.Hostname,
          cgroupParent: pod.CgroupParent,
          portMappings: pod.PortMappings,
          network: infra?.Network ?? null,
        });
      return { status: sandboxStatus(pod, meta, infra), info };
    },

    async ListPodSandbox(req: { filter: SandboxFilter | null }) {
      const items = p
        .sandboxes()
        .map((s) => sandboxView(s.pod, s.meta, s.infra))
        .filter((v) => sandboxMatches(v, req.filter));
      return { items };
    },

    async CreateContainer(req: { pod_sandbox_id: string; config: ContainerConfig }) {
      const s = p.sandbox(req.pod_sandbox_id);
      const profilePath = localhostProfile(req.config);
      const seccompProfile = profilePath ? await fs.readFile(profilePath, 'utf8').catch(() => undefined) : undefined;
      const { request, name, meta } = containerRequest({ id: s.pod.Id, meta: s.meta }, req.config, {
        seccompProfile,
        oomScoreFloor: p.d.oomScoreFloor,
      });
      // kubelet makes the pod's log directory; crictl's callers may not have made the container's.
      if (meta.logPath) await fs.mkdir(dirname(meta.logPath), { recursive: true });
      const { Id } = await pods.createMember(s.pod.Id, request, name);
      return { container_id: Id };
    },

    async StartContainer(req: { container_id: string }) {
      const { c } = p.container(req.container_id);
      await containers.start(c.Id);
      return {};
    },

    async StopContainer(req: { container_id: string; timeout: string }) {
      const { c } = p.container(req.container_id);
      if (!c.State.Running && c.State.Status !== 'paused') return {};
      await containers.stop(c.Id, { timeout: Number(req.timeout) }).catch((e) => {
        if (!isCategory(e, 'NotModified')) throw e;
      });
      return {};
    },

    async RemoveContainer(req: { container_id: string }) {
      let id: string;
      try {
        id = p.container(req.container_id).c.Id;
      } catch {
        return {};
      }
      await containers.remove(id, { force: true }).catch((e) => {
        if (!isCategory(e, 'NotFound')) throw e;
      });
      return {};
    },

    async ListContainers(req: { filter: ContainerFilter | null }) {
      const list = p
        .containers()
        .map(({ c, meta }) => containerView(c, meta))
        .filter((v) => containerMatches(v, req.filter));
      return { containers: list };
    },

    async ContainerStatus(req: { container_id: string; verbose: boolean }) {
      const { c, meta } = p.container(req.container_id);
      const info: Record<string, string> = {};
      if (req.verbose)
        info.info = JSON.stringify({
          pid: c.State.Pid,
          sandboxID: meta.sandboxId,
          name: c.Name,
          runtime: c.HostConfig.Runtime,
          config: c.Config,
          hostConfig: c.HostConfig,
        });
      return { status: p.status(c, meta), info };
    },

    async UpdateContainerResources(req: { container_id: string; linux: LinuxResources | null }) {
      const { c } = p.container(req.container_id);
      const u = resourcesOf(req.linux);
      if (Object.keys(u).length) await containers.update(c.Id, u);
      return {};
    },

    async ReopenContainerLog(req: { container_id: string }) {
      const { c, meta } = p.container(req.container_id);
      if (!c.State.Running) throw conflict(`container is not running`);
      // The monitor's control FIFO (conmon's protocol): `2` reopens the log at its path, made anew.
      const fh = await fs.open(join(containers.dir(c.Id), 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
      try {
        await fh.write('2 0 0\n');
      } finally {
        await fh.close();
      }
      // The monitor reopens on its own time; kubelet expects the new file once the call returns.
      const path = p.logPath(c, meta);
      for (let i = 0; i < 100 && !(await fs.stat(path).catch(() => undefined)); i++)
        await new Promise((r) => setTimeout(r, 20));
      return {};
    },
  };
}
