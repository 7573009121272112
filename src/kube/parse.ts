/**
 * Parsing a Kubernetes YAML file (one or more documents, or a `List`) into the frozen model of
 * `model.ts`, parse-at-the-edge: each document's shape is checked against `schema.ts` first
 * (unknown or unsupported fields refused with their path and line), then read into typed values
 * with Kubernetes' defaults and its cross-field rules (one volume source, mounts naming
 * declared volumes, selectors matching their template, unique names ...). Nothing here looks
 * beyond the file: references between objects are resolved by `plan.ts`.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import {
  KubeError,
  deepFreeze,
  objectKey,
  type Container,
  type ContainerPort,
  type EnvFromSource,
  type EnvVar,
  type KeyToPath,
  type KubeFile,
  type KubeObject,
  type ObjectMeta,
  type PodSpec,
  type PodTemplate,
  type Probe,
  type ProbeHandler,
  type ResourceList,
  type Service,
  type ServicePort,
  type Volume,
  type VolumeSource,
} from './model.ts';
import { DocContext, check, formatPath, type Path } from './shape.ts';
import { API_VERSIONS, KINDS } from './schema.ts';
import { parseQuantity } from './quantity.ts';

// YAML values are read through this loose type only after check() has proved their shape
// against schema.ts; spelling the same shapes again as TypeScript types would say it twice.
type Raw = Record<string, any>;

/** Parses the text of a file; `file` names it in messages. */
export function parseKube(text: string, file: string): KubeFile {
  const lc = new LineCounter();
  // YAML 1.1, as Kubernetes' own parser reads it: 0644 is octal (file modes), yes/no are booleans
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true, version: '1.1' });
  const objects: KubeObject[] = [];
  const seen = new Map<string, number>();
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const line = e.linePos?.[0]?.line;
      throw new KubeError(
        `${file}: ${line ? `line ${line}: ` : ''}yaml: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      );
    }
    const ctx = new DocContext(file, doc, lc);
    const v = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (v === null || v === undefined) continue; // an empty document (`---` at the end)
    if (typeof v !== 'object' || Array.isArray(v)) ctx.fail([], 'a document must be a mapping (a Kubernetes object)');
    const items: [Raw, Path][] = (v as Raw).kind === 'List' ? listItems(ctx, v as Raw) : [[v as Raw, []]];
    for (const [raw, base] of items) {
      const o = readObject(ctx, raw, base);
      const key = objectKey(o);
      if (seen.has(key))
        ctx.fail([...base, 'metadata', 'name'], `${key} is defined twice (first at line ${seen.get(key)})`);
      seen.set(key, o.source.line);
      objects.push(o);
    }
  }
  return deepFreeze({ file, objects });
}

function listItems(ctx: DocContext, v: Raw): [Raw, Path][] {
  for (const k of Object.keys(v))
    if (!['apiVersion', 'kind', 'items', 'metadata'].includes(k)) ctx.fail([k], 'not supported by berth kube play');
  if (!Array.isArray(v.items)) ctx.fail(['items'], 'must be a list');
  return (v.items as unknown[]).map((it, i) => {
    if (!it || typeof it !== 'object' || Array.isArray(it)) ctx.fail(['items', i], 'must be a mapping');
    return [it as Raw, ['items', i]];
  });
}

function readObject(ctx: DocContext, r: Raw, base: Path): KubeObject {
  const kind = r.kind;
  if (typeof kind !== 'string') ctx.fail([...base, 'kind'], kind === undefined ? 'required value' : 'must be a string');
  const shape = KINDS[kind as string];
  if (!shape)
    ctx.fail(
      [...base, 'kind'],
      `kind "${kind as string}" is not supported by berth kube play (supported: ${Object.keys(KINDS).join(', ')})`,
    );
  if (r.apiVersion !== undefined && r.apiVersion !== API_VERSIONS[kind as string])
    ctx.fail(
      [...base, 'apiVersion'],
      `"${String(r.apiVersion)}": ${kind as string} is read as ${API_VERSIONS[kind as string]}`,
    );
  check(ctx, r, shape!, base);
  const p = (...k: (string | number)[]): Path => [...base, ...k];
  const metadata = readMeta(r.metadata);
  const common = { apiVersion: r.apiVersion as string, metadata, source: { file: ctx.file, line: ctx.line(base) } };
  const spec: Raw = r.spec ?? {};
  switch (kind) {
    case 'Pod':
      return { kind, ...common, spec: readPodSpec(ctx, spec, p('spec'), 'Pod') };
    case 'Deployment': {
      const template = readTemplate(ctx, spec.template, p('spec', 'template'), kind);
      return {
        kind,
        ...common,
        replicas: spec.replicas ?? 1,
        selector: readSelector(ctx, spec.selector, template, p('spec')),
        template,
      };
    }
    case 'DaemonSet': {
      const template = readTemplate(ctx, spec.template, p('spec', 'template'), kind);
      return { kind, ...common, selector: readSelector(ctx, spec.selector, template, p('spec')), template };
    }
    case 'Job':
      return {
        kind,
        ...common,
        backoffLimit: spec.backoffLimit ?? 6,
        template: readTemplate(ctx, spec.template, p('spec', 'template'), kind),
      };
    case 'ConfigMap': {
      const data: Record<string, string> = { ...r.data };
      const binaryData: Record<string, string> = {};
      for (const [k, v] of Object.entries((r.binaryData ?? {}) as Record<string, string>)) {
        if (k in data) ctx.fail(p('binaryData', k), `duplicate of key "${k}" in data`);
        binaryData[k] = v.replace(/\s/g, '');
      }
      for (const k of [...Object.keys(data), ...Object.keys(binaryData)]) checkDataKey(ctx, p('data', k), k);
      return { kind, ...common, data, binaryData };
    }
    case 'Secret': {
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries((r.data ?? {}) as Record<string, string>)) {
        checkDataKey(ctx, p('data', k), k);
        data[k] = v.replace(/\s/g, '');
      }
      for (const [k, v] of Object.entries((r.stringData ?? {}) as Record<string, string>)) {
        checkDataKey(ctx, p('stringData', k), k);
        data[k] = Buffer.from(v, 'utf8').toString('base64');
      }
      return { kind, ...common, type: r.type ?? 'Opaque', data };
    }
    case 'PersistentVolumeClaim': {
      const storage = spec.resources?.requests?.storage;
      return {
        kind,
        ...common,
        ...(storage !== undefined
          ? { storage: quantityOf(ctx, storage, p('spec', 'resources', 'requests', 'storage'), 1) }
          : {}),
      };
    }
    case 'Service':
      return readService(ctx, spec, p('spec'), common);
  }
  throw new Error(`unreachable: kind ${kind as string}`);
}

function readMeta(m: Raw): ObjectMeta {
  return {
    name: m.name,
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    labels: { ...m.labels },
    annotations: { ...m.annotations },
  };
}

function checkDataKey(ctx: DocContext, path: Path, k: string): void {
  if (!/^[-._a-zA-Z0-9]{1,253}$/.test(k) || k === '.' || k === '..')
    ctx.fail(path, `invalid key "${k}": must consist of alphanumeric characters, '-', '_' or '.'`);
}

function quantityOf(ctx: DocContext, q: string | number, path: Path, scale: number): number {
  const v = parseQuantity(q, scale);
  if (v === undefined || v < 0) ctx.fail(path, `invalid quantity "${q}"`);
  return v!;
}

function readTemplate(ctx: DocContext, t: Raw, path: Path, kind: string): PodTemplate {
  return {
    labels: { ...t.metadata?.labels },
    annotations: { ...t.metadata?.annotations },
    spec: readPodSpec(ctx, t.spec, [...path, 'spec'], kind),
  };
}

function readSelector(ctx: DocContext, s: Raw, template: PodTemplate, spec: Path): Record<string, string> {
  const match: Record<string, string> = { ...s.matchLabels };
  if (Object.keys(match).length === 0) ctx.fail([...spec, 'selector'], 'empty selector is invalid');
  for (const [k, v] of Object.entries(match))
    if (template.labels[k] !== v)
      ctx.fail([...spec, 'template', 'metadata', 'labels'], '`selector` does not match template `labels`');
  return match;
}

function readPodSpec(ctx: DocContext, s: Raw, path: Path, kind: string): PodSpec {
  const p = (...k: (string | number)[]): Path => [...path, ...k];
  const restartPolicy = s.restartPolicy ?? (kind === 'Job' ? undefined : 'Always');
  if (kind === 'Job' && restartPolicy !== 'OnFailure' && restartPolicy !== 'Never')
    ctx.fail(
      p('restartPolicy'),
      `${restartPolicy ? `"${restartPolicy}"` : 'required value'}: a Job's pods restart "OnFailure" or "Never"`,
    );
  if ((kind === 'Deployment' || kind === 'DaemonSet') && restartPolicy !== 'Always')
    ctx.fail(p('restartPolicy'), `"${restartPolicy}": only "Always" is allowed for a ${kind}`);
  if (s.containers.length === 0) ctx.fail(p('containers'), 'required value');

  const volumes = ((s.volumes ?? []) as Raw[]).map((v, i) => readVolume(ctx, v, p('volumes', i)));
  const volumeNames = new Set<string>();
  volumes.forEach((v, i) => {
    if (volumeNames.has(v.name)) ctx.fail(p('volumes', i, 'name'), `duplicate volume name "${v.name}"`);
    volumeNames.add(v.name);
  });
  const names = new Set<string>();
  const readAll = (list: Raw[] | undefined, field: string) =>
    (list ?? []).map((c, i) => {
      const cp = p(field, i);
      if (names.has(c.name)) ctx.fail([...cp, 'name'], `duplicate container name "${c.name}"`);
      names.add(c.name);
      return readContainer(ctx, c, cp, volumeNames, field === 'initContainers');
    });
  const initContainers = readAll(s.initContainers, 'initContainers');
  const containers = readAll(s.containers, 'containers');

  const sc: Raw = s.securityContext ?? {};
  const dns: Raw | undefined = s.dnsConfig;
  if (s.dnsPolicy === 'None' && !dns?.nameservers?.length)
    ctx.fail(p('dnsConfig', 'nameservers'), 'required value: dnsPolicy "None" needs at least one nameserver');
  if (s.hostNetwork && s.hostname) ctx.fail(p('hostname'), "a pod on the host network has the host's name");
  return {
    containers,
    initContainers,
    volumes,
    restartPolicy,
    ...(s.terminationGracePeriodSeconds !== undefined
      ? { terminationGracePeriodSeconds: s.terminationGracePeriodSeconds }
      : {}),
    ...(s.hostname !== undefined ? { hostname: s.hostname } : {}),
    hostNetwork: !!s.hostNetwork,
    hostPID: !!s.hostPID,
    hostIPC: !!s.hostIPC,
    shareProcessNamespace: !!s.shareProcessNamespace,
    hostAliases: ((s.hostAliases ?? []) as Raw[]).map((h) => ({ ip: h.ip, hostnames: [...(h.hostnames ?? [])] })),
    ...(dns
      ? {
          dnsConfig: {
            nameservers: [...(dns.nameservers ?? [])],
            searches: [...(dns.searches ?? [])],
            options: ((dns.options ?? []) as Raw[]).map((o) => ({
              name: o.name,
              ...(o.value !== undefined ? { value: o.value } : {}),
            })),
          },
        }
      : {}),
    securityContext: {
      ...(sc.runAsUser !== undefined ? { runAsUser: sc.runAsUser } : {}),
      ...(sc.runAsGroup !== undefined ? { runAsGroup: sc.runAsGroup } : {}),
      ...(sc.runAsNonRoot !== undefined ? { runAsNonRoot: sc.runAsNonRoot } : {}),
      supplementalGroups: [...(sc.supplementalGroups ?? [])],
      sysctls: ((sc.sysctls ?? []) as Raw[]).map((x) => ({ name: x.name, value: x.value })),
    },
  };
}

const SOURCES = ['emptyDir', 'hostPath', 'configMap', 'secret', 'persistentVolumeClaim'] as const;

function readVolume(ctx: DocContext, v: Raw, path: Path): Volume {
  const given = SOURCES.filter((s) => v[s] !== undefined && v[s] !== null);
  if (given.length !== 1)
    ctx.fail(
      path,
      given.length ? `may not specify more than 1 volume type (${given.join(', ')})` : 'must specify a volume type',
    );
  const s: Raw = v[given[0]!];
  const items = (list: Raw[] | undefined): KeyToPath[] | undefined =>
    list?.map((it, i) => {
      if (it.path.split('/').includes('..') || it.path.startsWith('/'))
        ctx.fail(
          [...path, given[0]!, 'items', i, 'path'],
          `invalid path "${it.path}": must be relative and may not contain '..'`,
        );
      return { key: it.key, path: it.path, ...(it.mode !== undefined ? { mode: it.mode } : {}) };
    });
  let source: VolumeSource;
  switch (given[0]!) {
    case 'emptyDir':
      if (s.sizeLimit !== undefined && s.medium !== 'Memory')
        ctx.fail(
          [...path, 'emptyDir', 'sizeLimit'],
          'not supported by berth kube play for a disk emptyDir (only medium "Memory")',
        );
      source = {
        type: 'emptyDir',
        medium: s.medium ?? '',
        ...(s.sizeLimit !== undefined
          ? { sizeLimit: quantityOf(ctx, s.sizeLimit, [...path, 'emptyDir', 'sizeLimit'], 1) }
          : {}),
      };
      break;
    case 'hostPath':
      source = { type: 'hostPath', path: s.path, hostPathType: s.type ?? '' };
      break;
    case 'configMap':
      source = {
        type: 'configMap',
        name: s.name,
        ...(s.items ? { items: items(s.items) } : {}),
        defaultMode: s.defaultMode ?? 0o644,
        optional: !!s.optional,
      };
      break;
    case 'secret':
      source = {
        type: 'secret',
        secretName: s.secretName,
        ...(s.items ? { items: items(s.items) } : {}),
        defaultMode: s.defaultMode ?? 0o644,
        optional: !!s.optional,
      };
      break;
    case 'persistentVolumeClaim':
      source = { type: 'persistentVolumeClaim', claimName: s.claimName, readOnly: !!s.readOnly };
      break;
  }
  return { name: v.name, source, line: ctx.line(path) };
}

/** Kubernetes' default pull policy: Always for `:latest` or an untagged image, else IfNotPresent. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

const FIELD_PATHS = /^(metadata\.name|metadata\.namespace|metadata\.(labels|annotations)\['[^']+'\])$/;
const RESOURCES = ['limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory'];

function readContainer(ctx: DocContext, c: Raw, path: Path, volumes: Set<string>, init: boolean): Container {
  const p = (...k: (string | number)[]): Path => [...path, ...k];
  if (!c.image) ctx.fail(p('image'), 'required value');
  if (init && (c.livenessProbe || c.readinessProbe))
    ctx.fail(p(c.livenessProbe ? 'livenessProbe' : 'readinessProbe'), 'must not be set for init containers');

  const ports: ContainerPort[] = ((c.ports ?? []) as Raw[]).map((x) => ({
    ...(x.name !== undefined ? { name: x.name } : {}),
    containerPort: x.containerPort,
    ...(x.hostPort !== undefined ? { hostPort: x.hostPort } : {}),
    ...(x.hostIP !== undefined ? { hostIP: x.hostIP } : {}),
    protocol: x.protocol ?? 'TCP',
  }));
  const portNames = new Set<string>();
  ports.forEach((x, i) => {
    if (x.name && portNames.has(x.name)) ctx.fail(p('ports', i, 'name'), `duplicate port name "${x.name}"`);
    if (x.name) portNames.add(x.name);
    if (x.hostIP && x.hostPort === undefined) ctx.fail(p('ports', i, 'hostIP'), 'needs a hostPort');
  });

  const env: EnvVar[] = ((c.env ?? []) as Raw[]).map((e, i) => {
    const ep = p('env', i);
    if (e.value !== undefined && e.valueFrom)
      ctx.fail([...ep, 'valueFrom'], 'may not be specified when `value` is not empty');
    if (!e.valueFrom) return { name: e.name, from: { value: e.value ?? '' } };
    const vf: Raw = e.valueFrom;
    const kinds = Object.keys(vf).filter((k) => vf[k] !== null && vf[k] !== undefined);
    if (kinds.length !== 1) ctx.fail([...ep, 'valueFrom'], 'must have exactly one source');
    const k = kinds[0]!;
    const sp = [...ep, 'valueFrom', k];
    if (k === 'configMapKeyRef' || k === 'secretKeyRef')
      return {
        name: e.name,
        from: { [k]: { name: vf[k].name, key: vf[k].key, optional: !!vf[k].optional } },
      } as EnvVar;
    if (k === 'fieldRef') {
      if (!FIELD_PATHS.test(vf.fieldRef.fieldPath))
        ctx.fail(
          [...sp, 'fieldPath'],
          `"${vf.fieldRef.fieldPath}": not supported by berth kube play (metadata.name, metadata.namespace, metadata.labels['…'], metadata.annotations['…'])`,
        );
      return { name: e.name, from: { fieldRef: { fieldPath: vf.fieldRef.fieldPath } } };
    }
    const rf: Raw = vf.resourceFieldRef;
    if (!RESOURCES.includes(rf.resource))
      ctx.fail([...sp, 'resource'], `"${rf.resource}": supported values: ${RESOURCES.join(', ')}`);
    if (rf.containerName !== undefined && rf.containerName !== c.name)
      ctx.fail([...sp, 'containerName'], 'only the container itself is supported by berth kube play');
    const divisor =
      rf.divisor !== undefined
        ? quantityOf(ctx, rf.divisor, [...sp, 'divisor'], rf.resource.endsWith('cpu') ? 1000 : 1)
        : undefined;
    if (divisor === 0) ctx.fail([...sp, 'divisor'], 'must be greater than zero');
    return { name: e.name, from: { resourceFieldRef: { resource: rf.resource, ...(divisor ? { divisor } : {}) } } };
  });

  const envFrom: EnvFromSource[] = ((c.envFrom ?? []) as Raw[]).map((f, i) => {
    if (!!f.configMapRef === !!f.secretRef)
      ctx.fail(p('envFrom', i), 'must have exactly one of configMapRef, secretRef');
    const ref = f.configMapRef ?? f.secretRef;
    return {
      prefix: f.prefix ?? '',
      [f.configMapRef ? 'configMapRef' : 'secretRef']: { name: ref.name, optional: !!ref.optional },
    };
  });

  const mounts = ((c.volumeMounts ?? []) as Raw[]).map((m, i) => {
    if (!volumes.has(m.name))
      ctx.fail(p('volumeMounts', i, 'name'), `volume "${m.name}" is not among the pod's volumes`);
    return { name: m.name, mountPath: m.mountPath.replace(/(.)\/+$/, '$1'), readOnly: !!m.readOnly };
  });
  const targets = new Set<string>();
  mounts.forEach((m, i) => {
    if (targets.has(m.mountPath)) ctx.fail(p('volumeMounts', i, 'mountPath'), `"${m.mountPath}": must be unique`);
    targets.add(m.mountPath);
  });

  const resources = (k: 'limits' | 'requests'): ResourceList => {
    const r: Raw = c.resources?.[k] ?? {};
    return {
      ...(r.memory !== undefined ? { memory: quantityOf(ctx, r.memory, p('resources', k, 'memory'), 1) } : {}),
      ...(r.cpu !== undefined ? { cpu: quantityOf(ctx, r.cpu, p('resources', k, 'cpu'), 1000) } : {}),
    };
  };
  const limits = resources('limits');
  const requests = resources('requests');
  for (const r of ['memory', 'cpu'] as const)
    if (limits[r] !== undefined && requests[r] !== undefined && requests[r]! > limits[r]!)
      ctx.fail(p('resources', 'requests', r), `must be less than or equal to ${r} limit`);

  const sc: Raw = c.securityContext ?? {};
  const probe = (k: 'livenessProbe' | 'readinessProbe'): Probe | undefined =>
    c[k] ? readProbe(ctx, c[k], p(k), ports) : undefined;
  const liveness = probe('livenessProbe');
  const readiness = probe('readinessProbe');
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: c.imagePullPolicy ?? defaultPullPolicy(c.image),
    ...(c.command?.length ? { command: [...c.command] } : {}),
    ...(c.args?.length ? { args: [...c.args] } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    env,
    envFrom,
    ports,
    volumeMounts: mounts,
    resources: { limits, requests },
    securityContext: {
      ...(sc.runAsUser !== undefined ? { runAsUser: sc.runAsUser } : {}),
      ...(sc.runAsGroup !== undefined ? { runAsGroup: sc.runAsGroup } : {}),
      ...(sc.runAsNonRoot !== undefined ? { runAsNonRoot: sc.runAsNonRoot } : {}),
      ...(sc.privileged !== undefined ? { privileged: sc.privileged } : {}),
      ...(sc.readOnlyRootFilesystem !== undefined ? { readOnlyRootFilesystem: sc.readOnlyRootFilesystem } : {}),
      ...(sc.allowPrivilegeEscalation !== undefined ? { allowPrivilegeEscalation: sc.allowPrivilegeEscalation } : {}),
      ...(sc.capabilities
        ? { capabilities: { add: [...(sc.capabilities.add ?? [])], drop: [...(sc.capabilities.drop ?? [])] } }
        : {}),
    },
    ...(liveness ? { livenessProbe: liveness } : {}),
    ...(readiness ? { readinessProbe: readiness } : {}),
    stdin: !!c.stdin,
    stdinOnce: !!c.stdinOnce,
    tty: !!c.tty,
    path: formatPath(path),
    line: ctx.line(path),
  };
}

function readProbe(ctx: DocContext, r: Raw, path: Path, ports: readonly ContainerPort[]): Probe {
  const kinds = (['exec', 'httpGet', 'tcpSocket'] as const).filter((k) => r[k] !== undefined && r[k] !== null);
  if (kinds.length !== 1)
    ctx.fail(
      path,
      kinds.length ? `may not specify more than 1 handler type (${kinds.join(', ')})` : 'must specify a handler type',
    );
  const k = kinds[0]!;
  const h: Raw = r[k];
  const portOf = (v: number | string): number | string => {
    if (typeof v === 'number') {
      if (v < 1 || v > 65535) ctx.fail([...path, k, 'port'], `invalid value ${v}: must be between 1 and 65535`);
      return v;
    }
    if (/^\d+$/.test(v)) return Number(v);
    if (!ports.some((x) => x.name === v)) ctx.fail([...path, k, 'port'], `no container port named "${v}"`);
    return v;
  };
  let handler: ProbeHandler;
  if (k === 'exec') {
    if (!h.command.length) ctx.fail([...path, 'exec', 'command'], 'required value');
    handler = { exec: { command: [...h.command] } };
  } else if (k === 'httpGet') {
    handler = {
      httpGet: {
        path: h.path ?? '/',
        port: portOf(h.port),
        ...(h.host ? { host: h.host } : {}),
        scheme: h.scheme ?? 'HTTP',
        httpHeaders: ((h.httpHeaders ?? []) as Raw[]).map((x) => ({ name: x.name, value: x.value })),
      },
    };
  } else handler = { tcpSocket: { port: portOf(h.port), ...(h.host ? { host: h.host } : {}) } };
  return {
    handler,
    initialDelaySeconds: r.initialDelaySeconds ?? 0,
    periodSeconds: r.periodSeconds ?? 10,
    timeoutSeconds: r.timeoutSeconds ?? 1,
    failureThreshold: r.failureThreshold ?? 3,
  };
}

function readService(
  ctx: DocContext,
  s: Raw,
  path: Path,
  common: Pick<Service, 'apiVersion' | 'metadata' | 'source'>,
): Service {
  if (s.type === undefined)
    ctx.fail(
      [...path, 'type'],
      '"ClusterIP" (the default): not supported by berth kube play; only NodePort services publish ports on one host',
    );
  if (!s.ports?.length) ctx.fail([...path, 'ports'], 'required value');
  const ports: ServicePort[] = (s.ports as Raw[]).map((x) => ({
    ...(x.name !== undefined ? { name: x.name } : {}),
    protocol: x.protocol ?? 'TCP',
    port: x.port,
    targetPort:
      typeof x.targetPort === 'string' && /^\d+$/.test(x.targetPort) ? Number(x.targetPort) : (x.targetPort ?? x.port),
    ...(x.nodePort !== undefined ? { nodePort: x.nodePort } : {}),
  }));
  if (ports.length > 1)
    ports.forEach(
      (x, i) =>
        x.name === undefined &&
        ctx.fail([...path, 'ports', i, 'name'], 'required value: a service with several ports names each'),
    );
  return { kind: 'Service', ...common, type: 'NodePort', selector: { ...s.selector }, ports };
}
