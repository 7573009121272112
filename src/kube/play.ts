/**
 * Running a plan against a daemon: the operations behind `berth kube play` and `--down`.
 *
 * Lifecycle: a `KubePlayer` is made per command with a client, the pods backend (absent until
 * the daemon has pods) and a reporter. `pull` brings the plan's images as their pull policies
 * say and returns their configs (the plan is then made again with the images' users known);
 * `apply` first removes what an earlier play of the same objects made (play replaces), then
 * makes volumes, writes ConfigMap and Secret files into theirs, and makes and starts each pod;
 * if anything fails it removes what it made, so a failed play leaves nothing half made. `down`
 * removes everything labelled with the given objects, keeping claims' volumes unless asked.
 * Everything is found by labels (`labels.ts`), never by name.
 */
import { pack } from 'tar-stream';
import { isNotFound, type ContainerConfig, type EngineClient } from '../client/index.ts';
import { KubeError } from './model.ts';
import { LABELS } from './labels.ts';
import type { Plan, VolumeFile, VolumePlan } from './plan.ts';
import type { PodBackend } from './pods.ts';

/** The Engine API calls play, down and generate make. */
export type KubeClient = Pick<
  EngineClient,
  | 'containerList'
  | 'containerCreate'
  | 'containerRemove'
  | 'containerWait'
  | 'containerPutArchive'
  | 'volumeCreate'
  | 'volumeRemove'
  | 'volumeList'
  | 'volumeInspect'
  | 'imageInspect'
  | 'imagePull'
>;

export type KubeResource = 'Image' | 'Volume' | 'Pod' | 'Container';

export interface KubeReporter {
  event(kind: KubeResource, name: string, status: string): void;
  warn(message: string): void;
}

export interface PlayResult {
  /** Pods made, in order. */
  readonly pods: readonly string[];
  /** Exit codes of the containers of Jobs' pods, when waited for. */
  readonly exits: Readonly<Record<string, number>>;
}

/** The pods work has not landed: what every workload needs. */
export class PodsUnavailableError extends KubeError {
  constructor() {
    super('pods are not available in this daemon yet: kube play runs Pods, Deployments, DaemonSets and Jobs as pods');
  }
}

const FILL_TARGET = '/berth-kube-fill';

/** `repo` and tag (or digest) of an image reference, as `POST /images/create` takes them. */
export function splitReference(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

/** The files as a tar stream, owned by root, directories made as needed. */
export async function filesTar(files: readonly VolumeFile[]): Promise<Buffer> {
  const p = pack();
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      dirs.add(d);
      p.entry({ name: `${d}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0 });
    }
    p.entry({ name: parts.join('/'), mode: f.mode, uid: 0, gid: 0 }, Buffer.from(f.content, f.encoding));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export class KubePlayer {
  private readonly client: KubeClient;
  private readonly pods: PodBackend | undefined;
  private readonly reporter: KubeReporter;

  constructor(client: KubeClient, pods: PodBackend | undefined, reporter: KubeReporter) {
    this.client = client;
    this.pods = pods;
    this.reporter = reporter;
  }

  /** Refuses, before anything is pulled or made, what this daemon cannot run. */
  check(plan: Plan): void {
    if (plan.pods.length && !this.pods) throw new PodsUnavailableError();
  }

  /** Pulls what the policies ask for; returns each image's config (null if it has none). */
  async pull(plan: Plan): Promise<Map<string, ContainerConfig | null>> {
    this.check(plan);
    const policies = new Map<string, string>();
    for (const pod of plan.pods)
      for (const c of [...pod.initContainers, ...pod.containers]) {
        const image = c.body.Image!;
        // the strictest policy asked for an image wins
        const prev = policies.get(image);
        if (!prev || c.pullPolicy === 'Always' || (prev === 'Never' && c.pullPolicy === 'IfNotPresent'))
          policies.set(image, c.pullPolicy);
      }
    const configs = new Map<string, ContainerConfig | null>();
    for (const [image, policy] of policies) {
      let present = await this.inspectImage(image);
      if (policy === 'Never' && !present)
        throw new KubeError(`image "${image}" is not present and its imagePullPolicy is "Never"`);
      if (policy === 'Always' || !present) {
        const { repo, tag } = splitReference(image);
        this.reporter.event('Image', image, 'Pulling');
        try {
          for await (const m of await this.client.imagePull(repo, { tag }))
            if (m.error || m.errorDetail) throw new Error(m.errorDetail?.message ?? m.error);
        } catch (e) {
          // a present image whose registry cannot be reached still runs, as the kubelet's cache would
          if (!present) throw e;
          this.reporter.warn(`pull of "${image}" failed, using the local image: ${(e as Error).message}`);
        }
        present = (await this.inspectImage(image)) ?? present;
        this.reporter.event('Image', image, 'Pulled');
      }
      if (!present) throw new KubeError(`image "${image}" not found after pulling it`);
      configs.set(image, present.config);
    }
    return configs;
  }

  private async inspectImage(image: string): Promise<{ config: ContainerConfig | null } | undefined> {
    try {
      return { config: (await this.client.imageInspect(image)).Config };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * Makes what the plan says, replacing what an earlier play of its objects made. `start:
   * false` (Podman's `kube play --start=false`) leaves the pods created, Jobs' too (not waited for).
   */
  async apply(plan: Plan, o: { wait?: boolean; start?: boolean } = {}): Promise<PlayResult> {
    const start = o.start ?? true;
    this.check(plan);
    for (const name of plan.existingVolumes) {
      try {
        await this.client.volumeInspect(name);
      } catch (e) {
        if (isNotFound(e)) throw new KubeError(`persistentvolumeclaim "${name}" not found: no volume of that name`);
        throw e;
      }
    }
    await this.down(plan.objects, { claims: false });
    const made: { volumes: string[]; pods: string[] } = { volumes: [], pods: [] };
    try {
      const fillImage = plan.pods[0]?.containers[0]?.body.Image;
      for (const v of plan.volumes) if (await this.makeVolume(v, fillImage)) made.volumes.push(v.request.Name);
      for (const pod of plan.pods) {
        const pods = this.pods!;
        await pods.createPod(pod.spec);
        made.pods.push(pod.spec.name);
        this.reporter.event('Pod', pod.spec.name, 'Created');
        for (const c of pod.initContainers) await pods.createContainer(pod.spec.name, c.name, c.body, { init: true });
        for (const c of pod.containers) await pods.createContainer(pod.spec.name, c.name, c.body, {});
        if (!start) continue;
        await pods.startPod(pod.spec.name);
        this.reporter.event('Pod', pod.spec.name, 'Started');
      }
    } catch (e) {
      for (const p of made.pods.reverse()) await this.pods!.removePod(p, { force: true }).catch(() => {});
      for (const v of made.volumes.reverse()) await this.client.volumeRemove(v, true).catch(() => {});
      throw e;
    }
    const exits: Record<string, number> = {};
    if (o.wait && start) {
      for (const pod of plan.pods.filter((p) => p.runToCompletion)) {
        for (const c of pod.containers) {
          const w = await this.client.containerWait(c.name, 'not-running');
          const r = await w.result;
          exits[c.name] = r.StatusCode;
          this.reporter.event('Container', c.name, `Exited (${r.StatusCode})`);
        }
      }
    }
    return { pods: made.pods, exits };
  }

  /** Makes a volume (a claim's only if missing) and writes its files; true if it was made. */
  private async makeVolume(v: VolumePlan, fillImage: string | undefined): Promise<boolean> {
    const name = v.request.Name;
    if (v.keep) {
      try {
        const existing = await this.client.volumeInspect(name);
        if (existing.Labels?.[LABELS.object] !== v.request.Labels?.[LABELS.object])
          this.reporter.warn(`volume "${name}" exists and was not made by this file: the claim uses it`);
        this.reporter.event('Volume', name, 'Exists');
        return false;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    await this.client.volumeCreate(v.request);
    this.reporter.event('Volume', name, 'Created');
    if (v.files.length) {
      if (!fillImage) throw new KubeError(`volume "${name}": no image to write its files with`);
      await this.fill(name, v.files, fillImage, v.request.Labels?.[LABELS.object] ?? '');
    }
    return true;
  }

  /**
   * Writes files into a volume through a container that is made and never started: the
   * archive endpoint reaches a stopped container's volumes, so this works against any daemon,
   * local or not.
   */
  private async fill(volume: string, files: readonly VolumeFile[], image: string, object: string): Promise<void> {
    const { Id } = await this.client.containerCreate({
      Image: image,
      Entrypoint: ['true'],
      Cmd: [],
      Labels: { [LABELS.object]: object },
      HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: FILL_TARGET }] },
    });
    try {
      await this.client.containerPutArchive(Id, FILL_TARGET, await filesTar(files));
    } finally {
      await this.client.containerRemove(Id, { force: true }).catch(() => {});
    }
  }

  /** Removes what plays of these objects made; claims' volumes too only with `claims`. */
  async down(objects: readonly string[], o: { claims: boolean }): Promise<{ removed: number }> {
    let removed = 0;
    for (const object of objects) {
      const label = `${LABELS.object}=${object}`;
      if (this.pods) {
        for (const p of await this.pods.listPods([label])) {
          await this.pods.removePod(p.Name, { force: true });
          this.reporter.event('Pod', p.Name, 'Removed');
          removed++;
        }
      }
      // members left behind (a pod removed half-way) and fill containers
      for (const c of await this.client.containerList({ all: true, filters: { label: [label] } })) {
        await this.client.containerRemove(c.Id, { force: true });
        this.reporter.event('Container', (c.Names[0] ?? c.Id).replace(/^\//, ''), 'Removed');
        removed++;
      }
      const vols = (await this.client.volumeList({ label: [label] })).Volumes ?? [];
      for (const v of vols) {
        if (v.Labels?.[LABELS.volumeType] === 'persistentVolumeClaim' && !o.claims) continue;
        await this.client.volumeRemove(v.Name, true);
        this.reporter.event('Volume', v.Name, 'Removed');
        removed++;
      }
    }
    return { removed };
  }
}
