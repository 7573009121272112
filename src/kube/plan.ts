/**
 * The plan of a play: from the parsed file to what must be made through the Engine API and
 * the pods seam, and in which order — volumes (a claim's named volume, kept across plays; a
 * pod's emptyDir, ConfigMap and Secret volumes, with the files to write into them), then per
 * pod its create spec with published ports (containers' hostPorts and NodePort services), its
 * init containers in order and its containers, each with the Docker create body it needs.
 * Pure: no daemon, no clock; everything that can be refused is refused here, before anything
 * is made.
 *
 * Names follow Podman's: a Pod's pod is its name, a Deployment's replicas `<name>-pod-<i>`, a
 * DaemonSet's and a Job's `<name>-pod`; containers `<pod>-<container>`; pod volumes
 * `<pod>-<volume>`; a claim's volume the claim's name.
 *
 * Ports: one host can bind a port once. A hostPort or nodePort wanted by several pods (the
 * replicas of a Deployment) is published by the first of them, with a warning.
 */
import type { ContainerCreateRequest, HostConfig, RestartPolicy, VolumeCreateRequest } from '../client/index.ts';
import {
  KubeError,
  deepFreeze,
  objectKey,
  type ConfigMap,
  type KubeFile,
  type PodSpec,
  type Secret,
  type Service,
  type Volume,
  type Workload,
} from './model.ts';
import { createBody, type ContainerContext } from './container.ts';
import { LABELS } from './labels.ts';
import type { PodCreateSpec, PortMapping } from './pods.ts';

export interface VolumeFile {
  /** Relative to the volume's root. */
  readonly path: string;
  readonly mode: number;
  readonly content: string;
  readonly encoding: 'utf8' | 'base64';
}

export interface VolumePlan {
  readonly request: VolumeCreateRequest & { readonly Name: string };
  /** What to write into it once made (ConfigMap and Secret volumes). */
  readonly files: readonly VolumeFile[];
  /** A claim's volume: made if missing, kept by down and by a second play (its data is the user's). */
  readonly keep: boolean;
}

export interface ContainerPlan {
  readonly name: string;
  readonly body: ContainerCreateRequest;
  readonly pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
}

export interface PodPlan {
  /** `Kind/name` of the object it comes from. */
  readonly object: string;
  readonly spec: PodCreateSpec;
  /** In the order they run. */
  readonly initContainers: readonly ContainerPlan[];
  readonly containers: readonly ContainerPlan[];
  /** A Job's pod: play waits for its containers to exit, and reports their status. */
  readonly runToCompletion: boolean;
}

export interface Plan {
  /** `Kind/name` of every object of the file: what down and a second play look for. */
  readonly objects: readonly string[];
  readonly volumes: readonly VolumePlan[];
  /** Claims the file mounts without defining: volumes that must exist already. */
  readonly existingVolumes: readonly string[];
  readonly pods: readonly PodPlan[];
  readonly warnings: readonly string[];
}

export interface PlanOptions {
  /** The configured user of an image (`Config.User`), when it is known locally. */
  readonly imageUser?: (image: string) => string | undefined;
  /**
   * `kube play --network` (Podman's): every pod on that network, or in that mode (`host`,
   * `none`; `bridge` and `default` are the default network), whatever the YAML's hostNetwork says.
   */
  readonly network?: string;
}

/** The pods a workload makes: names, and the labels and spec they have. */
function podsOf(
  w: Workload,
): { name: string; labels: Record<string, string>; annotations: Record<string, string>; spec: PodSpec }[] {
  switch (w.kind) {
    case 'Pod':
      return [
        {
          name: w.metadata.name,
          labels: { ...w.metadata.labels },
          annotations: { ...w.metadata.annotations },
          spec: w.spec,
        },
      ];
    case 'Deployment':
      return Array.from({ length: w.replicas }, (_, i) => ({
        name: `${w.metadata.name}-pod-${i}`,
        labels: { ...w.template.labels },
        annotations: { ...w.template.annotations },
        spec: w.template.spec,
      }));
    case 'DaemonSet':
    case 'Job':
      return [
        {
          name: `${w.metadata.name}-pod`,
          labels: { ...w.template.labels },
          annotations: { ...w.template.annotations },
          spec: w.template.spec,
        },
      ];
  }
}

const RESTART: Record<string, RestartPolicy['Name']> = { Always: 'always', OnFailure: 'on-failure', Never: 'no' };

export function planPlay(file: KubeFile, opts: PlanOptions = {}): Plan {
  const warnings: string[] = [];
  const configMaps = new Map<string, ConfigMap>();
  const secrets = new Map<string, Secret>();
  const claims = new Set<string>();
  for (const o of file.objects) {
    if (o.kind === 'ConfigMap') configMaps.set(o.metadata.name, o);
    if (o.kind === 'Secret') secrets.set(o.metadata.name, o);
    if (o.kind === 'PersistentVolumeClaim') claims.add(o.metadata.name);
  }
  const volumes: VolumePlan[] = [];
  for (const o of file.objects) {
    if (o.kind !== 'PersistentVolumeClaim') continue;
    volumes.push({
      request: {
        Name: o.metadata.name,
        Driver: 'local',
        Labels: { ...o.metadata.labels, [LABELS.object]: objectKey(o), [LABELS.volumeType]: 'persistentVolumeClaim' },
      },
      files: [],
      keep: true,
    });
  }
  const existingVolumes = new Set<string>();
  const pods: PodPlan[] = [];
  const podNames = new Map<string, string>();
  const specs = new Map<string, PodSpec>();
  for (const w of file.objects) {
    if (w.kind !== 'Pod' && w.kind !== 'Deployment' && w.kind !== 'DaemonSet' && w.kind !== 'Job') continue;
    const object = objectKey(w);
    for (const p of podsOf(w)) {
      const other = podNames.get(p.name);
      if (other)
        throw new KubeError(
          `${file.file}: line ${w.source.line}: ${object}: pod "${p.name}" is already made by ${other}`,
        );
      podNames.set(p.name, object);
      const spec = p.spec;
      specs.set(p.name, spec);
      // the pod's volumes, made once and mounted by its containers
      const mounts = new Map<
        string,
        (target: string, ro: boolean) => { bind?: string; mount?: Record<string, unknown> }
      >();
      for (const v of spec.volumes) {
        const made = planVolume(file.file, object, p.name, v, { configMaps, secrets, claims });
        if (made.volume) volumes.push(made.volume);
        if (made.existing) existingVolumes.add(made.existing);
        mounts.set(v.name, made.mount);
      }
      const restart: HostConfig['RestartPolicy'] =
        w.kind === 'Job' && spec.restartPolicy === 'OnFailure'
          ? { Name: 'on-failure', MaximumRetryCount: w.backoffLimit }
          : { Name: RESTART[spec.restartPolicy]! };
      const ctx: ContainerContext = {
        file: file.file,
        pod: p.name,
        object,
        namespace: w.metadata.namespace ?? 'default',
        labels: p.labels,
        annotations: p.annotations,
        spec,
        configMaps,
        secrets,
        restart,
        imageUser: opts.imageUser,
        mounts: (name, target, ro) => mounts.get(name)!(target, ro),
        warn: (m) => warnings.push(m),
      };
      const plan = (c: (typeof spec.containers)[number], init?: number): ContainerPlan => ({
        name: `${p.name}-${c.name}`,
        body: createBody(c, ctx, init),
        pullPolicy: c.imagePullPolicy,
      });
      pods.push({
        object,
        spec: podSpec(p.name, { ...p.labels, [LABELS.object]: object }, spec, opts.network),
        initContainers: spec.initContainers.map((c, i) => plan(c, i)),
        containers: spec.containers.map((c) => plan(c)),
        runToCompletion: w.kind === 'Job',
      });
    }
  }
  publish(file, pods, specs, warnings);
  return deepFreeze({
    objects: file.objects.map(objectKey),
    volumes,
    existingVolumes: [...existingVolumes],
    pods,
    warnings,
  });
}

/** The pod's create spec, its ports still to be added by publish(). */
function podSpec(name: string, labels: Record<string, string>, s: PodSpec, network?: string): PodCreateSpec {
  const dns = s.dnsConfig;
  const sysctls = s.securityContext.sysctls;
  const host = network ? network === 'host' : s.hostNetwork;
  return {
    name,
    labels,
    ...(host ? { netns: { nsmode: 'host' } } : { hostname: s.hostname ?? name }),
    ...(network === 'none' ? { netns: { nsmode: 'none' } } : {}),
    ...(network && !['host', 'none', 'bridge', 'default'].includes(network) ? { networks: [network] } : {}),
    ...(s.hostPID ? { pidns: { nsmode: 'host' } } : {}),
    ...(s.hostIPC ? { ipcns: { nsmode: 'host' } } : {}),
    shared_namespaces: ['ipc', 'net', 'uts', ...(s.shareProcessNamespace ? ['pid'] : [])],
    ...(dns?.nameservers.length ? { dns_server: [...dns.nameservers] } : {}),
    ...(dns?.searches.length ? { dns_search: [...dns.searches] } : {}),
    ...(dns?.options.length
      ? { dns_option: dns.options.map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)) }
      : {}),
    ...(s.hostAliases.length ? { hostadd: s.hostAliases.flatMap((h) => h.hostnames.map((n) => `${n}:${h.ip}`)) } : {}),
    ...(sysctls.length ? { sysctl: Object.fromEntries(sysctls.map((x) => [x.name, x.value])) } : {}),
  };
}

interface Refs {
  readonly configMaps: ReadonlyMap<string, ConfigMap>;
  readonly secrets: ReadonlyMap<string, Secret>;
  readonly claims: ReadonlySet<string>;
}

function planVolume(
  file: string,
  object: string,
  pod: string,
  v: Volume,
  refs: Refs,
): {
  volume?: VolumePlan;
  existing?: string;
  mount: (target: string, ro: boolean) => { bind?: string; mount?: Record<string, unknown> };
} {
  const s = v.source;
  const name = `${pod}-${v.name}`;
  const labels = {
    [LABELS.object]: object,
    [LABELS.pod]: pod,
    [LABELS.volume]: v.name,
    [LABELS.volumeType]: s.type,
  };
  const volumeMount = (source: string, always?: boolean) => (target: string, ro: boolean) => ({
    mount: { Type: 'volume', Source: source, Target: target, ...(ro || always ? { ReadOnly: true } : {}) },
  });
  const fail = (msg: string): never => {
    throw new KubeError(`${file}: line ${v.line}: ${object}: volume "${v.name}": ${msg}`);
  };
  switch (s.type) {
    case 'emptyDir': {
      const driverOpts =
        s.medium === 'Memory'
          ? { type: 'tmpfs', device: 'tmpfs', ...(s.sizeLimit ? { o: `size=${s.sizeLimit}` } : {}) }
          : undefined;
      return {
        volume: {
          request: { Name: name, Driver: 'local', ...(driverOpts ? { DriverOpts: driverOpts } : {}), Labels: labels },
          files: [],
          keep: false,
        },
        mount: volumeMount(name),
      };
    }
    case 'hostPath':
      // Binds make a missing directory (DirectoryOrCreate); a bind mount refuses a missing source
      if (s.hostPathType === '' || s.hostPathType === 'DirectoryOrCreate')
        return { mount: (target, ro) => ({ bind: `${s.path}:${target}${ro ? ':ro' : ''}` }) };
      return {
        mount: (target, ro) => ({
          mount: { Type: 'bind', Source: s.path, Target: target, ...(ro ? { ReadOnly: true } : {}) },
        }),
      };
    case 'persistentVolumeClaim':
      return {
        ...(refs.claims.has(s.claimName) ? {} : { existing: s.claimName }),
        mount: (target, ro) => volumeMount(s.claimName)(target, ro || s.readOnly),
      };
    case 'configMap':
    case 'secret': {
      const ref = s.type === 'configMap' ? s.name : s.secretName;
      const data: Record<string, { content: string; encoding: 'utf8' | 'base64' }> = {};
      if (s.type === 'configMap') {
        const cm = refs.configMaps.get(ref);
        if (!cm && !s.optional) fail(`configmap "${ref}" not found`);
        for (const [k, x] of Object.entries(cm?.data ?? {})) data[k] = { content: x, encoding: 'utf8' };
        for (const [k, x] of Object.entries(cm?.binaryData ?? {})) data[k] = { content: x, encoding: 'base64' };
      } else {
        const sec = refs.secrets.get(ref);
        if (!sec && !s.optional) fail(`secret "${ref}" not found`);
        for (const [k, x] of Object.entries(sec?.data ?? {})) data[k] = { content: x, encoding: 'base64' };
      }
      const exists = s.type === 'configMap' ? refs.configMaps.has(ref) : refs.secrets.has(ref);
      const items = s.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      const files: VolumeFile[] = [];
      for (const it of items) {
        const d = data[it.key];
        if (!d) {
          if (!exists) continue;
          if (s.optional) continue;
          fail(`key "${it.key}" not found in ${s.type === 'configMap' ? 'configmap' : 'secret'} "${ref}"`);
        }
        files.push({ path: it.path, mode: 'mode' in it && it.mode !== undefined ? it.mode : s.defaultMode, ...d! });
      }
      // Kubernetes mounts ConfigMap and Secret volumes read-only, whatever the mount says
      return {
        volume: { request: { Name: name, Driver: 'local', Labels: labels }, files, keep: false },
        mount: volumeMount(name, true),
      };
    }
  }
}

/** Adds the published ports: containers' hostPorts, then NodePort services' nodePorts. */
function publish(file: KubeFile, pods: PodPlan[], specs: ReadonlyMap<string, PodSpec>, warnings: string[]): void {
  const taken = new Map<string, string>(); // host ip:port/proto → pod
  const perPod = new Map<string, PortMapping[]>();
  const add = (pod: PodPlan, m: PortMapping, what: string): void => {
    const key = `${m.host_ip ?? ''}:${m.host_port}/${m.protocol}`;
    const owner = taken.get(key);
    const list = perPod.get(pod.spec.name) ?? [];
    if (owner === pod.spec.name) {
      if (list.some((x) => x.container_port === m.container_port && (x.host_ip ?? '') === (m.host_ip ?? ''))) return;
      throw new KubeError(
        `${file.file}: ${what}: host port ${m.host_port}/${m.protocol} of pod "${pod.spec.name}" is already published`,
      );
    }
    if (owner) {
      warnings.push(
        `${what}: host port ${m.host_port}/${m.protocol} is published by pod "${owner}" only; pod "${pod.spec.name}" goes without`,
      );
      return;
    }
    taken.set(key, pod.spec.name);
    list.push(m);
    perPod.set(pod.spec.name, list);
  };
  for (const pod of pods) {
    const spec = specs.get(pod.spec.name)!;
    for (const c of spec.containers)
      for (const p of c.ports)
        if (p.hostPort !== undefined)
          add(
            pod,
            {
              ...(p.hostIP ? { host_ip: p.hostIP } : {}),
              container_port: p.containerPort,
              host_port: p.hostPort,
              protocol: p.protocol.toLowerCase() as PortMapping['protocol'],
            },
            `${pod.object}: container "${c.name}"`,
          );
  }
  for (const svc of file.objects.filter((o): o is Service => o.kind === 'Service')) {
    const sel = Object.entries(svc.selector);
    const members = sel.length ? pods.filter((p) => sel.every(([k, v]) => p.spec.labels[k] === v)) : [];
    if (!members.length) warnings.push(`${objectKey(svc)}: selects no pod of the file: nothing published`);
    for (const sp of svc.ports) {
      if (sp.nodePort === undefined) {
        warnings.push(`${objectKey(svc)}: port ${sp.port} has no nodePort: not published`);
        continue;
      }
      for (const pod of members) {
        const spec = specs.get(pod.spec.name)!;
        let target: number | undefined;
        if (typeof sp.targetPort === 'number') target = sp.targetPort;
        else target = spec.containers.flatMap((c) => c.ports).find((x) => x.name === sp.targetPort)?.containerPort;
        if (target === undefined) {
          warnings.push(`${objectKey(svc)}: pod "${pod.spec.name}" has no port named "${sp.targetPort}"`);
          continue;
        }
        add(
          pod,
          {
            container_port: target,
            host_port: sp.nodePort,
            protocol: sp.protocol.toLowerCase() as PortMapping['protocol'],
          },
          objectKey(svc),
        );
      }
    }
  }
  for (let i = 0; i < pods.length; i++) {
    const ports = perPod.get(pods[i]!.spec.name);
    if (ports) pods[i] = { ...pods[i]!, spec: { ...pods[i]!.spec, portmappings: ports } };
  }
}
