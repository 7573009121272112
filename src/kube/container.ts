/**
 * One Kubernetes container as a Docker create body, by Kubernetes' rules:
 *
 * - `command` replaces the image's ENTRYPOINT and drops its CMD, `args` replaces CMD: exactly
 *   Docker's reading of `Entrypoint`/`Cmd` in a create body (an Entrypoint given drops the
 *   image's Cmd), so the body carries them as they are and the daemon merges the image's;
 * - `$(VAR)` in env values refers to variables defined before it (envFrom first, then env in
 *   order), in command and args to all of them; `$$` is a literal `$`; unknown names stay;
 * - env takes precedence over envFrom; ConfigMap and Secret keys resolve within the file;
 * - securityContext: the container's fields over the pod's; runAsGroup alone keeps the image's
 *   user; allowPrivilegeEscalation false is `no-new-privileges`;
 * - limits.memory → Memory, limits.cpu → NanoCpus, requests.memory → MemoryReservation,
 *   requests.cpu → CpuShares (the kubelet's 1024 per core, at least 2);
 * - the livenessProbe is the health check (a readinessProbe when there is none), labelled so
 *   `kube generate` writes it back as the same kind; a liveness failure asks for a restart.
 */
import type { ContainerCreateRequest, HostConfig } from '../client/index.ts';
import { KubeError, type ConfigMap, type Container, type PodSpec, type Secret } from './model.ts';
import { healthcheckFor } from './probe.ts';
import { LABELS } from './labels.ts';

/** What a container is made in: its pod and what the file around it defines. */
export interface ContainerContext {
  readonly file: string;
  readonly pod: string;
  readonly object: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: PodSpec;
  readonly configMaps: ReadonlyMap<string, ConfigMap>;
  readonly secrets: ReadonlyMap<string, Secret>;
  /** `Always` → always, `OnFailure` → on-failure (with this many retries for a Job), `Never` → no. */
  readonly restart: HostConfig['RestartPolicy'];
  /** The image's configured user, when known (runAsGroup alone, runAsNonRoot). */
  readonly imageUser?: (image: string) => string | undefined;
  /** Volume mounts of the pod's volumes, by volume name, made by plan.ts. */
  readonly mounts: (
    volume: string,
    target: string,
    readOnly: boolean,
  ) => { bind?: string; mount?: Record<string, unknown> };
  readonly warn: (msg: string) => void;
}

/** Kubernetes' `$(VAR)` expansion. */
export function expand(s: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '$' || i + 1 >= s.length) {
      out += ch;
      continue;
    }
    const next = s[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = s.indexOf(')', i + 2);
      if (end < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, end);
      out += vars.has(name) ? vars.get(name)! : `$(${name})`;
      i = end;
    } else {
      out += ch + next;
      i++;
    }
  }
  return out;
}

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

/** The container's environment, in the order Docker's Env lists it. */
export function environment(c: Container, ctx: ContainerContext): Map<string, string> {
  const fail = (msg: string): never => {
    throw new KubeError(`${ctx.file}: line ${c.line}: ${ctx.object}: ${c.path}: ${msg}`);
  };
  const vars = new Map<string, string>();
  for (const f of c.envFrom) {
    if (f.configMapRef) {
      const cm = ctx.configMaps.get(f.configMapRef.name);
      if (!cm) {
        if (f.configMapRef.optional) continue;
        fail(`configmap "${f.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm!.data)) vars.set(f.prefix + k, v);
      for (const [k, v] of Object.entries(cm!.binaryData)) vars.set(f.prefix + k, decode(v));
    } else if (f.secretRef) {
      const s = ctx.secrets.get(f.secretRef.name);
      if (!s) {
        if (f.secretRef.optional) continue;
        fail(`secret "${f.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(s!.data)) vars.set(f.prefix + k, decode(v));
    }
  }
  for (const e of c.env) {
    const from = e.from;
    let value: string | undefined;
    if ('value' in from) value = expand(from.value, vars);
    else if ('configMapKeyRef' in from) {
      const r = from.configMapKeyRef;
      const cm = ctx.configMaps.get(r.name);
      const v = cm
        ? (cm.data[r.key] ?? (cm.binaryData[r.key] !== undefined ? decode(cm.binaryData[r.key]!) : undefined))
        : undefined;
      if (v === undefined && !r.optional)
        fail(cm ? `key "${r.key}" not found in configmap "${r.name}"` : `configmap "${r.name}" not found`);
      value = v;
    } else if ('secretKeyRef' in from) {
      const r = from.secretKeyRef;
      const s = ctx.secrets.get(r.name);
      const v = s?.data[r.key] !== undefined ? decode(s.data[r.key]!) : undefined;
      if (v === undefined && !r.optional)
        fail(s ? `key "${r.key}" not found in secret "${r.name}"` : `secret "${r.name}" not found`);
      value = v;
    } else if ('fieldRef' in from) {
      const p = from.fieldRef.fieldPath;
      const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(p);
      if (p === 'metadata.name') value = ctx.pod;
      else if (p === 'metadata.namespace') value = ctx.namespace;
      else if (m) value = (m[1] === 'labels' ? ctx.labels : ctx.annotations)[m[2]!] ?? '';
    } else {
      const r = from.resourceFieldRef;
      const [kind, res] = r.resource.split('.') as ['limits' | 'requests', 'cpu' | 'memory'];
      const amount = c.resources[kind][res];
      if (amount === undefined) fail(`env "${e.name}": ${r.resource} is not set for the container`);
      const divisor = r.divisor ?? (res === 'cpu' ? 1000 : 1);
      value = String(Math.ceil(amount! / divisor));
    }
    if (value !== undefined) vars.set(e.name, value);
  }
  return vars;
}

/** The user the container runs as (`uid[:gid]`), or undefined for the image's. */
function userOf(c: Container, ctx: ContainerContext): string | undefined {
  const pod = ctx.spec.securityContext;
  const uid = c.securityContext.runAsUser ?? pod.runAsUser;
  const gid = c.securityContext.runAsGroup ?? pod.runAsGroup;
  const nonRoot = c.securityContext.runAsNonRoot ?? pod.runAsNonRoot;
  const imageUser = ctx.imageUser?.(c.image);
  if (nonRoot) {
    const fail = (why: string): never => {
      throw new KubeError(`${ctx.file}: line ${c.line}: ${ctx.object}: ${c.path}: runAsNonRoot: ${why}`);
    };
    if (uid === 0) fail('runAsUser is 0');
    if (uid === undefined) {
      if (imageUser === undefined)
        ctx.warn(`${ctx.object}: ${c.path}: runAsNonRoot not checked: the image's user is not known`);
      else {
        const u = imageUser.split(':')[0]!;
        if (u === '' || u === '0' || u === 'root') fail(`image "${c.image}" runs as root`);
        if (!/^\d+$/.test(u)) fail(`image "${c.image}" has a non-numeric user (${u}): cannot verify it is not root`);
      }
    }
  }
  if (uid !== undefined) return gid !== undefined ? `${uid}:${gid}` : String(uid);
  if (gid !== undefined) return `${(imageUser ?? '').split(':')[0] || '0'}:${gid}`;
  return undefined;
}

/** The create body of one container of the pod; `init` is its place among the init containers. */
export function createBody(c: Container, ctx: ContainerContext, init?: number): ContainerCreateRequest {
  const vars = environment(c, ctx);
  const hc: HostConfig = { RestartPolicy: init === undefined ? ctx.restart : { Name: 'no' } };
  const binds: string[] = [];
  const mounts: Record<string, unknown>[] = [];
  for (const m of c.volumeMounts) {
    const made = ctx.mounts(m.name, m.mountPath, m.readOnly);
    if (made.bind) binds.push(made.bind);
    if (made.mount) mounts.push(made.mount);
  }
  if (binds.length) hc.Binds = binds;
  if (mounts.length) hc.Mounts = mounts;

  const sc = c.securityContext;
  if (sc.capabilities?.add.length) hc.CapAdd = [...sc.capabilities.add];
  if (sc.capabilities?.drop.length) hc.CapDrop = [...sc.capabilities.drop];
  if (sc.privileged) hc.Privileged = true;
  if (sc.readOnlyRootFilesystem) hc.ReadonlyRootfs = true;
  if (sc.allowPrivilegeEscalation === false) hc.SecurityOpt = ['no-new-privileges'];
  if (ctx.spec.securityContext.supplementalGroups.length)
    hc.GroupAdd = ctx.spec.securityContext.supplementalGroups.map(String);
  const { limits, requests } = c.resources;
  if (limits.memory !== undefined) hc.Memory = limits.memory;
  if (limits.cpu !== undefined) hc.NanoCpus = limits.cpu * 1e6;
  if (requests.memory !== undefined) hc.MemoryReservation = requests.memory;
  if (requests.cpu !== undefined) hc.CpuShares = Math.max(2, Math.floor((requests.cpu * 1024) / 1000));

  const labels: Record<string, string> = {
    ...ctx.labels,
    [LABELS.pod]: ctx.pod,
    [LABELS.object]: ctx.object,
    [LABELS.container]: c.name,
    ...(init !== undefined ? { [LABELS.init]: String(init) } : {}),
  };
  const probe = c.livenessProbe ?? c.readinessProbe;
  let healthcheck;
  if (probe) {
    const kind = c.livenessProbe ? 'liveness' : 'readiness';
    if (c.livenessProbe && c.readinessProbe)
      ctx.warn(
        `${ctx.object}: ${c.path}: readinessProbe not checked: a container has one health check, its livenessProbe`,
      );
    healthcheck = healthcheckFor(probe, c.ports);
    labels[LABELS.probe] = kind;
    if (kind === 'liveness' && ctx.spec.restartPolicy !== 'Never') labels[LABELS.healthOnFailure] = 'restart';
  }

  const exposed: Record<string, object> = {};
  for (const p of c.ports) exposed[`${p.containerPort}/${p.protocol.toLowerCase()}`] = {};
  const user = userOf(c, ctx);
  return {
    Image: c.image,
    ...(c.command ? { Entrypoint: c.command.map((s) => expand(s, vars)) } : {}),
    ...(c.args ? { Cmd: c.args.map((s) => expand(s, vars)) } : {}),
    ...(vars.size ? { Env: [...vars].map(([k, v]) => `${k}=${v}`) } : {}),
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    ...(user !== undefined ? { User: user } : {}),
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    ...(ctx.spec.terminationGracePeriodSeconds !== undefined
      ? { StopTimeout: ctx.spec.terminationGracePeriodSeconds }
      : {}),
    Tty: c.tty,
    OpenStdin: c.stdin,
    StdinOnce: c.stdinOnce,
    Labels: labels,
    HostConfig: hc,
  };
}
