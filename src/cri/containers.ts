/**
 * A CRI container is a member of its sandbox's Berth pod: an ordinary container of the
 * container service, created joined to the infra's namespaces (services/pods' memberRequest).
 * This file maps, as pure functions, a `ContainerConfig` to the Engine API's create request
 * (the request `docker create` would send for the same container) and a container record to the
 * CRI's `Container`, `ContainerStatus` and the list filter.
 *
 * What the CRI needs back and Docker does not keep (metadata, the labels and annotations as
 * given, the log path as kubelet named it, the image as asked for) is JSON in the container's
 * `io.berth.cri` label. The log is the monitor's k8s-file log, which is the CRI's log format
 * already; with a `log_path` it is written there (the k8s-file driver's `path` option, as
 * Podman's) rather than beside the container's bundle.
 */
import { join } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import type { ContainerCreateRequest, HostConfig } from '../api/types/index.ts';
import type { ContainerRecord } from '../services/containers/index.ts';
import { CRI_META, K8S, containerName, matchesSelector, nanos } from './labels.ts';
import type { NamespaceOption, SandboxMeta } from './sandboxes.ts';

interface Int64Value {
  value: string;
}

export interface LinuxResources {
  cpu_period: string;
  cpu_quota: string;
  cpu_shares: string;
  memory_limit_in_bytes: string;
  oom_score_adj: string;
  cpuset_cpus: string;
  cpuset_mems: string;
  memory_swap_limit_in_bytes: string;
}

export interface SecurityProfile {
  profile_type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  localhost_ref: string;
}

export interface ContainerSecurityContext {
  capabilities: { add_capabilities: string[]; drop_capabilities: string[] } | null;
  privileged: boolean;
  namespace_options: NamespaceOption | null;
  run_as_user: Int64Value | null;
  run_as_username: string;
  run_as_group: Int64Value | null;
  readonly_rootfs: boolean;
  supplemental_groups: string[];
  no_new_privs: boolean;
  masked_paths: string[];
  readonly_paths: string[];
  seccomp: SecurityProfile | null;
  seccomp_profile_path: string;
}

export type Propagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';

export interface CriMount {
  container_path: string;
  host_path: string;
  readonly: boolean;
  selinux_relabel: boolean;
  propagation: Propagation;
}

/** The parts of a `ContainerConfig` Berth reads (proto-loader's shape). */
export interface ContainerConfig {
  metadata: { name: string; attempt: number } | null;
  image: { image: string } | null;
  command: string[];
  args: string[];
  working_dir: string;
  envs: { key: string; value: string }[];
  mounts: CriMount[];
  devices: { container_path: string; host_path: string; permissions: string }[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  log_path: string;
  stdin: boolean;
  stdin_once: boolean;
  tty: boolean;
  linux: { resources: LinuxResources | null; security_context: ContainerSecurityContext | null } | null;
}

/** What the CRI keeps of a container, in its `io.berth.cri` label. */
export interface ContainerMeta {
  sandboxId: string;
  metadata: { name: string; attempt: number };
  /** The image as CreateContainer named it (a reference or an ID). */
  image: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Absolute; empty when kubelet gave none (the log then stays beside the bundle). */
  logPath: string;
  mounts: CriMount[];
}

const PROPAGATION: Record<Propagation, string> = {
  PROPAGATION_PRIVATE: 'rprivate',
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
};

/** The CRI's capability names come without `CAP_` (kubelet's) or with it (some tools): Docker takes both. */
function capability(c: string): string {
  return c.toUpperCase() === 'ALL' ? 'ALL' : c.toUpperCase().replace(/^(?!CAP_)/, 'CAP_');
}

/** Resources as the Engine API's host config fields (zero means "not set", as in the CRI). */
export function resourcesOf(r: LinuxResources | null): Partial<HostConfig> {
  if (!r) return {};
  const n = (s: string) => Number(s || 0);
  const out: Partial<HostConfig> = {};
  if (n(r.cpu_period)) out.CpuPeriod = n(r.cpu_period);
  if (n(r.cpu_quota)) out.CpuQuota = n(r.cpu_quota);
  if (n(r.cpu_shares)) out.CpuShares = n(r.cpu_shares);
  if (n(r.memory_limit_in_bytes)) out.Memory = n(r.memory_limit_in_bytes);
  if (n(r.memory_swap_limit_in_bytes)) out.MemorySwap = n(r.memory_swap_limit_in_bytes);
  if (r.cpuset_cpus) out.CpusetCpus = r.cpuset_cpus;
  if (r.cpuset_mems) out.CpusetMems = r.cpuset_mems;
  return out;
}

/**
 * The host's oom_score_adj floor: a process may not lower its score below its parent's without
 * CAP_SYS_RESOURCE, which these VMs' daemons may lack; kubelet asks -998 for sandboxes and
 * critical pods. As containerd's `restrict_oom_score_adj`, such a request is raised to the floor.
 */
export function clampOomScoreAdj(asked: number, floor: number): number {
  return Math.min(1000, Math.max(asked, floor, -1000));
}

/**
 * `CreateContainer`'s config as an Engine API create request for a member of the sandbox's pod.
 * `seccompProfile` is the content of a `Localhost` profile, read by the caller.
 */
export function containerRequest(
  sandbox: { id: string; meta: SandboxMeta },
  config: ContainerConfig,
  opts: { seccompProfile?: string; oomScoreFloor: number },
): { request: ContainerCreateRequest; name: string; meta: ContainerMeta } {
  const m = config.metadata;
  if (!m || !m.name) throw invalidArgument('container config must include metadata with a name');
  if (!config.image?.image) throw invalidArgument('container config must include an image');
  const metadata = { name: m.name, attempt: Number(m.attempt) };
  const pod = sandbox.meta.metadata;
  const logPath = config.log_path ? join(sandbox.meta.logDirectory || '/', config.log_path) : '';
  const meta: ContainerMeta = {
    sandboxId: sandbox.id,
    metadata,
    image: config.image.image,
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    logPath,
    mounts: config.mounts.map((x) => ({ ...x })),
  };
  const sc = config.linux?.security_context;
  const h: HostConfig = {
    ...resourcesOf(config.linux?.resources ?? null),
    Binds: config.mounts.map((x) => {
      const o = [x.readonly ? 'ro' : 'rw', PROPAGATION[x.propagation] ?? 'rprivate'];
      return `${x.host_path}:${x.container_path}:${o.join(',')}`;
    }),
    Devices: config.devices.map((d) => ({
      PathOnHost: d.host_path,
      PathInContainer: d.container_path || d.host_path,
      CgroupPermissions: d.permissions || 'rwm',
    })),
    RestartPolicy: { Name: 'no' },
    LogConfig: logPath ? { Type: 'k8s-file', Config: { path: logPath } } : { Type: 'k8s-file', Config: {} },
  };
  const oom = Number(config.linux?.resources?.oom_score_adj || 0);
  if (oom) h.OomScoreAdj = clampOomScoreAdj(oom, opts.oomScoreFloor);
  let user: string | undefined;
  if (sc) {
    h.Privileged = sc.privileged;
    h.ReadonlyRootfs = sc.readonly_rootfs;
    if (sc.capabilities?.add_capabilities.length) h.CapAdd = sc.capabilities.add_capabilities.map(capability);
    if (sc.capabilities?.drop_capabilities.length) h.CapDrop = sc.capabilities.drop_capabilities.map(capability);
    if (sc.supplemental_groups.length) h.GroupAdd = sc.supplemental_groups.map(String);
    if (sc.masked_paths.length) h.MaskedPaths = [...sc.masked_paths];
    if (sc.readonly_paths.length) h.ReadonlyPaths = [...sc.readonly_paths];
    const secopts: string[] = [];
    if (sc.no_new_privs) secopts.push('no-new-privileges');
    const seccomp = sc.seccomp ?? profileFromPath(sc.seccomp_profile_path);
    // Without a profile a CRI container runs unconfined (kubelet names RuntimeDefault when it wants it).
    if (!seccomp || seccomp.profile_type === 'Unconfined') secopts.push('seccomp=unconfined');
    else if (seccomp?.profile_type === 'Localhost') {
      if (opts.seccompProfile === undefined)
        throw invalidArgument(`seccomp profile ${seccomp.localhost_ref} could not be read`);
      secopts.push(`seccomp=${opts.seccompProfile}`);
    }
    if (secopts.length) h.SecurityOpt = secopts;
    const ns = sc.namespace_options;
    if (ns?.pid === 'NODE') h.PidMode = 'host';
    else if (ns?.pid === 'TARGET' && ns.target_id) h.PidMode = `container:${ns.target_id}`;
    if (ns?.ipc === 'NODE') h.IpcMode = 'host';
    const uid = sc.run_as_username || (sc.run_as_user ? String(sc.run_as_user.value) : '');
    if (!uid && sc.run_as_group)
      throw invalidArgument(`user group "${sc.run_as_group.value}" is specified without user`);
    if (uid) user = sc.run_as_group ? `${uid}:${sc.run_as_group.value}` : uid;
  } else {
    h.SecurityOpt = ['seccomp=unconfined'];
  }
  // The pod's namespace modes hold for its containers where the container's own say nothing else.
  if (!h.PidMode && sandbox.meta.namespaces.pid === 'NODE') h.PidMode = 'host';
  if (!h.IpcMode && sandbox.meta.namespaces.ipc === 'NODE') h.IpcMode = 'host';
  const request: ContainerCreateRequest = {
    Image: config.image.image,
    ...(config.command.length ? { Entrypoint: [...config.command] } : {}),
    ...(config.args.length || config.command.length ? { Cmd: [...config.args] } : {}),
    WorkingDir: config.working_dir || undefined,
    Env: config.envs.map((e) => `${e.key}=${e.value}`),
    Tty: config.tty,
    OpenStdin: config.stdin,
    StdinOnce: config.stdin_once,
    AttachStdin: false,
    User: user,
    Labels: {
      ...config.labels,
      [K8S.containerName]: metadata.name,
      [K8S.podName]: pod.name,
      [K8S.podNamespace]: pod.namespace,
      [K8S.podUid]: pod.uid,
      [K8S.sandboxId]: sandbox.id,
      [K8S.type]: 'container',
      ...(logPath ? { [K8S.logPath]: logPath } : {}),
      [CRI_META]: JSON.stringify(meta),
    },
    HostConfig: h,
  };
  return { request, name: containerName(metadata, pod), meta };
}

/** The deprecated `seccomp_profile_path`: `runtime/default` (or `docker/default`), `unconfined` or `localhost/<path>`. */
function profileFromPath(p: string): SecurityProfile | null {
  if (!p) return null;
  if (p === 'unconfined') return { profile_type: 'Unconfined', localhost_ref: '' };
  if (p.startsWith('localhost/')) return { profile_type: 'Localhost', localhost_ref: p.slice('localhost'.length) };
  if (p === 'runtime/default' || p === 'docker/default') return { profile_type: 'RuntimeDefault', localhost_ref: '' };
  throw invalidArgument(`invalid seccomp profile "${p}"`);
}

/** The Localhost seccomp profile a config names, if any: the caller reads it. */
export function localhostProfile(config: ContainerConfig): string | undefined {
  const sc = config.linux?.security_context;
  if (!sc) return undefined;
  const p = sc.seccomp ?? profileFromPath(sc.seccomp_profile_path);
  return p?.profile_type === 'Localhost' ? p.localhost_ref : undefined;
}

export function containerMeta(c: ContainerRecord): ContainerMeta | undefined {
  const raw = c.Config.Labels?.[CRI_META];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as ContainerMeta;
  } catch {
    return undefined;
  }
}

export type CriContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export function containerState(c: ContainerRecord): CriContainerState {
  const s = c.State.Status;
  if (s === 'created') return 'CONTAINER_CREATED';
  if (s === 'running' || s === 'paused' || s === 'restarting') return 'CONTAINER_RUNNING';
  if (s === 'exited' || s === 'dead') return 'CONTAINER_EXITED';
  return 'CONTAINER_UNKNOWN';
}

export function containerView(c: ContainerRecord, meta: ContainerMeta) {
  return {
    id: c.Id,
    pod_sandbox_id: meta.sandboxId,
    metadata: meta.metadata,
    image: { image: meta.image, annotations: {} },
    image_ref: c.Image,
    state: containerState(c),
    created_at: nanos(c.Created),
    labels: meta.labels,
    annotations: meta.annotations,
  };
}

/** kubelet's reasons: OOMKilled, Completed (exit 0) or Error, as containerd words them. */
export function exitReason(c: ContainerRecord): string {
  if (containerState(c) !== 'CONTAINER_EXITED') return '';
  if (c.State.OOMKilled) return 'OOMKilled';
  return c.State.ExitCode === 0 ? 'Completed' : 'Error';
}

export function containerStatus(c: ContainerRecord, meta: ContainerMeta, logPath: string) {
  const state = containerState(c);
  return {
    id: c.Id,
    metadata: meta.metadata,
    state,
    created_at: nanos(c.Created),
    started_at: state === 'CONTAINER_CREATED' ? '0' : nanos(c.State.StartedAt),
    finished_at: state === 'CONTAINER_EXITED' ? nanos(c.State.FinishedAt) : '0',
    exit_code: state === 'CONTAINER_EXITED' ? c.State.ExitCode : 0,
    image: { image: meta.image, annotations: {} },
    image_ref: c.Image,
    reason: exitReason(c),
    message: c.State.Error ?? '',
    labels: meta.labels,
    annotations: meta.annotations,
    mounts: meta.mounts,
    log_path: meta.logPath || logPath,
    resources: {
      linux: {
        cpu_period: String(c.HostConfig.CpuPeriod ?? 0),
        cpu_quota: String(c.HostConfig.CpuQuota ?? 0),
        cpu_shares: String(c.HostConfig.CpuShares ?? 0),
        memory_limit_in_bytes: String(c.HostConfig.Memory ?? 0),
        oom_score_adj: String(c.HostConfig.OomScoreAdj ?? 0),
        cpuset_cpus: c.HostConfig.CpusetCpus ?? '',
        cpuset_mems: c.HostConfig.CpusetMems ?? '',
        hugepage_limits: [],
        unified: {},
        memory_swap_limit_in_bytes: String(c.HostConfig.MemorySwap ?? 0),
      },
    },
  };
}

export interface ContainerFilter {
  id: string;
  state: { state: CriContainerState } | null;
  pod_sandbox_id: string;
  label_selector: Record<string, string>;
}

/** `ListContainers`' filter: ID and sandbox ID prefixes, a state, labels. */
export function containerMatches(
  v: { id: string; pod_sandbox_id: string; state: CriContainerState; labels: Record<string, string> },
  f: ContainerFilter | null,
): boolean {
  if (!f) return true;
  if (f.id && !v.id.startsWith(f.id)) return false;
  if (f.pod_sandbox_id && !v.pod_sandbox_id.startsWith(f.pod_sandbox_id)) return false;
  if (f.state && v.state !== f.state.state) return false;
  return matchesSelector(v.labels, f.label_selector);
}
