import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pod as K8sPod } from 'kubernetes-models/v1/Pod';
import { Service as K8sService } from 'kubernetes-models/v1/Service';
import type { ContainerConfig, ContainerCreateRequest, ContainerInspect, Volume } from '../client/index.ts';
import { parseKube } from './parse.ts';
import { planPlay, type Plan, type PodPlan } from './plan.ts';
import { escapeExpansion, generateKube, isValidLabel, kubeYaml, type KubeDoc } from './generate.ts';
import { LABELS } from './labels.ts';
import type { PodInspect } from './pods.ts';

// ---------------------------------------------------------------- what the daemon would report

const IMAGES: Record<string, ContainerConfig> = {
  'nginx:1.25': {
    Entrypoint: ['/docker-entrypoint.sh'],
    Cmd: ['nginx', '-g', 'daemon off;'],
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NGINX_VERSION=1.25.5'],
    ExposedPorts: { '80/tcp': {} },
    Labels: { maintainer: 'NGINX Docker Maintainers' },
    StopSignal: 'SIGQUIT',
  },
  busybox: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
};

/** Berth's merge of a create body with its image (services/containers), as inspect shows it. */
function inspectOf(name: string, body: ContainerCreateRequest, n: number, hostname: string): ContainerInspect {
  const img = IMAGES[body.Image!]!;
  const env = new Map<string, string>();
  for (const e of [...(img.Env ?? []), ...(body.Env ?? [])]) env.set(e.slice(0, e.indexOf('=')), e);
  const epSet = body.Entrypoint !== undefined && body.Entrypoint !== null;
  const id = String(n).padStart(64, 'c');
  return {
    Id: id,
    Name: `/${name}`,
    Image: `sha256:${'f'.repeat(64)}`,
    Config: {
      Hostname: hostname,
      User: body.User || img.User || '',
      Env: [...env.values()],
      Cmd: body.Cmd?.length ? body.Cmd : epSet ? null : (img.Cmd ?? null),
      Entrypoint: epSet ? body.Entrypoint! : (img.Entrypoint ?? null),
      WorkingDir: body.WorkingDir || img.WorkingDir || '',
      ExposedPorts: { ...img.ExposedPorts, ...body.ExposedPorts },
      Labels: { ...img.Labels, ...body.Labels },
      Healthcheck: body.Healthcheck ?? img.Healthcheck,
      Image: body.Image,
      Tty: body.Tty,
      OpenStdin: body.OpenStdin,
      StdinOnce: body.StdinOnce,
      ...(body.StopTimeout !== undefined ? { StopTimeout: body.StopTimeout } : {}),
    },
    HostConfig: { NetworkMode: 'default', ...body.HostConfig },
  } as unknown as ContainerInspect;
}

/** A Libpod pod inspect of a planned pod, as the pods backend would report it. */
function podInspectOf(p: PodPlan): PodInspect {
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const m of p.spec.portmappings ?? [])
    (bindings[`${m.container_port}/${m.protocol}`] ??= []).push({
      HostIp: m.host_ip ?? '',
      HostPort: String(m.host_port),
    });
  return {
    Id: 'p'.repeat(64),
    Name: p.spec.name,
    Hostname: p.spec.hostname ?? '',
    Labels: p.spec.labels,
    InfraContainerID: 'i'.repeat(64),
    SharedNamespaces: p.spec.shared_namespaces,
    InfraConfig: {
      PortBindings: bindings,
      HostNetwork: p.spec.netns?.nsmode === 'host',
      DNSServer: p.spec.dns_server ?? null,
      DNSSearch: p.spec.dns_search ?? null,
      DNSOption: p.spec.dns_option ?? null,
      HostAdd: p.spec.hostadd ?? null,
    },
  };
}

const volumesOf = (plan: Plan): Map<string, Volume> =>
  new Map(
    plan.volumes.map((v) => [
      v.request.Name,
      {
        Name: v.request.Name,
        Driver: 'local',
        Mountpoint: '',
        CreatedAt: '',
        Scope: 'local',
        Labels: v.request.Labels ?? null,
        Options: v.request.DriverOpts ?? null,
      },
    ]),
  );

/** Plays a plan "on the daemon" and generates YAML back from what inspect reports. */
function regenerate(plan: Plan, service = false) {
  const sources = plan.pods.map((p) => ({
    pod: podInspectOf(p),
    containers: [...p.initContainers, ...p.containers].map((c, i) => ({
      inspect: inspectOf(c.name, c.body, i, p.spec.hostname ?? ''),
      image: IMAGES[c.body.Image!],
    })),
  }));
  return generateKube(sources, { service, volumes: volumesOf(plan) });
}

// ---------------------------------------------------------------- the Kubernetes schema

function setIn(o: Record<string, unknown>, path: (string | number)[], v: unknown): void {
  let cur = o as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[path[path.length - 1]!] = v;
}

/**
 * Validates against the Kubernetes OpenAPI schema (kubernetes-models' validators, generated
 * from it), strictly as a cluster's field validation is: a field the schema does not declare
 * takes any value, so a field that takes both a list and a fraction is one it does not know.
 */
function assertValid(doc: KubeDoc): void {
  const make = (o: KubeDoc) => (doc.kind === 'Pod' ? new K8sPod(o as never) : new K8sService(o as never));
  make(doc).validate();
  const accepts = (path: (string | number)[], probe: unknown) => {
    const copy = structuredClone(doc);
    setIn(copy, path, probe);
    try {
      make(copy).validate();
      return true;
    } catch {
      return false;
    }
  };
  const walk = (path: (string | number)[], v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk([...path, i], x));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        const p = [...path, k];
        if (accepts(p, []) && accepts(p, 12345.5)) assert.fail(`${p.join('.')}: not a field of ${doc.kind as string}`);
        walk(p, x);
      }
  };
  walk([], doc);
}

// ---------------------------------------------------------------- tests

const ROUND_TRIP = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  hostname: box
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 15
  shareProcessNamespace: true
  hostAliases: [{ip: 10.0.0.5, hostnames: [db]}]
  dnsConfig: {nameservers: [9.9.9.9], searches: [corp], options: [{name: ndots, value: "2"}]}
  securityContext: {supplementalGroups: [44]}
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: www, hostPath: {path: /srv/www, type: DirectoryOrCreate}}
  initContainers:
  - name: init
    image: busybox
    command: [sh, -c, "echo $$(literal) > /scratch/x"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  containers:
  - name: nginx
    image: nginx:1.25
    args: [nginx, -g, "daemon off; worker_processes 2;"]
    workingDir: /srv
    env: [{name: GREETING, value: "hello $(NOPE)"}, {name: ANSWER, value: "yes"}]
    ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 9000, protocol: UDP}]
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
    - {name: mem, mountPath: /mem}
    - {name: data, mountPath: /data, readOnly: true}
    - {name: www, mountPath: /usr/share/nginx/html, readOnly: true}
    resources: {limits: {memory: 128Mi, cpu: 500m}, requests: {memory: 64Mi, cpu: 250m}}
    securityContext:
      runAsUser: 1000
      runAsGroup: 1000
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
    livenessProbe: {httpGet: {path: /healthz, port: 80}, periodSeconds: 5}
  - name: sidecar
    image: busybox
    command: [sh, -c, "while true; do wget -q -O- localhost; sleep 5; done"]
    readinessProbe: {tcpSocket: {port: 80}, initialDelaySeconds: 2}
    tty: true
    stdin: true
`;

const bodies = (p: Plan) =>
  p.pods.flatMap((pod) => [...pod.initContainers, ...pod.containers].map((c) => [c.name, c.body] as const));

test('generate → play gives back the same pods and create bodies (the round trip)', () => {
  const first = planPlay(parseKube(ROUND_TRIP, 'web.yaml'));
  const out = regenerate(first);
  assert.deepEqual(out.warnings, []);
  const yaml = kubeYaml(out.objects);
  const again = planPlay(parseKube(yaml, 'generated.yaml'));
  assert.deepEqual(bodies(again), bodies(first));
  assert.deepEqual(
    again.pods.map((p) => p.spec),
    first.pods.map((p) => p.spec),
  );
  assert.deepEqual(
    again.volumes.map((v) => v.request),
    first.volumes.map((v) => v.request),
  );
  assert.deepEqual(again.existingVolumes, first.existingVolumes);
  // and once more: generating from the replayed plan writes the same file
  assert.equal(kubeYaml(regenerate(again).objects), yaml);
});

test('the generated YAML reads as what the user wrote, not as the image', () => {
  const out = regenerate(planPlay(parseKube(ROUND_TRIP, 'web.yaml')));
  const pod = out.objects[0] as { metadata: KubeDoc; spec: { containers: KubeDoc[]; initContainers: KubeDoc[] } };
  assert.deepEqual(pod.metadata, { name: 'web', labels: { app: 'web', tier: 'front' } });
  const [nginx, sidecar] = pod.spec.containers;
  assert.equal(nginx!.command, undefined, "the image's entrypoint is not repeated");
  assert.deepEqual(nginx!.args, ['nginx', '-g', 'daemon off; worker_processes 2;']);
  assert.deepEqual(nginx!.env, [
    { name: 'GREETING', value: 'hello $$(NOPE)' },
    { name: 'ANSWER', value: 'yes' },
  ]);
  assert.deepEqual(nginx!.livenessProbe, {
    httpGet: { path: '/healthz', port: 80 },
    periodSeconds: 5,
    timeoutSeconds: 1,
    failureThreshold: 3,
  });
  assert.deepEqual(sidecar!.readinessProbe, {
    tcpSocket: { port: 80 },
    initialDelaySeconds: 2,
    periodSeconds: 10,
    timeoutSeconds: 1,
    failureThreshold: 3,
  });
  assert.deepEqual(pod.spec.initContainers[0]!.command, ['sh', '-c', 'echo $$(literal) > /scratch/x']);
  assert.match(kubeYaml(out.objects), /value: "yes"/, 'a string YAML 1.1 reads as a boolean is quoted');
});

test('the generated Pod and Service pass the Kubernetes OpenAPI schema, unknown fields refused', () => {
  const out = regenerate(planPlay(parseKube(ROUND_TRIP, 'web.yaml')), true);
  assert.deepEqual(
    out.objects.map((o) => o.kind),
    ['Pod', 'Service'],
  );
  for (const o of out.objects) assertValid(o);
  // the check itself catches a field Kubernetes does not have
  const bad = structuredClone(out.objects[0]!) as { spec: { containers: KubeDoc[] } };
  bad.spec.containers[0]!.healthcheck = { test: ['x'] };
  assert.throws(() => assertValid(bad as KubeDoc), /spec\.containers\.0\.healthcheck: not a field of Pod/);
});

test('--service writes a NodePort Service selecting the pod; nodePorts only in the cluster range', () => {
  const plan = planPlay(
    parseKube(
      `apiVersion: v1
kind: Pod
metadata: {name: api}
spec:
  containers:
  - name: c
    image: busybox
    ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 30081}]
`,
      'api.yaml',
    ),
  );
  const out = regenerate(plan, true);
  const [pod, svc] = out.objects as [KubeDoc & { metadata: KubeDoc }, KubeDoc];
  assert.deepEqual(pod.metadata.labels, { app: 'api' }, 'a pod without labels is given one to be selected by');
  assert.deepEqual(svc, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'api', labels: { app: 'api' } },
    spec: {
      type: 'NodePort',
      selector: { app: 'api' },
      ports: [
        { name: '80-tcp', protocol: 'TCP', port: 80, targetPort: 80 },
        { name: '81-tcp', protocol: 'TCP', port: 81, targetPort: 81, nodePort: 30081 },
      ],
    },
  });
  for (const o of out.objects) assertValid(o);
  // played back, the service's nodePort and the pod's hostPort are one binding
  const again = planPlay(parseKube(kubeYaml(out.objects), 'g.yaml'));
  assert.deepEqual(again.pods[0]!.spec.portmappings, plan.pods[0]!.spec.portmappings);
});

/** `docker run -d --name web -p 8080:80 -e MODE=prod --health-cmd 'wget -q -O- localhost' -v site:/usr/share/nginx/html:ro --user nginx --restart always nginx:1.25` */
const DOCKER_RUN = {
  Id: '1'.repeat(64),
  Name: '/web',
  Image: `sha256:${'f'.repeat(64)}`,
  Config: {
    Hostname: '111111111111',
    User: 'nginx',
    Env: [...IMAGES['nginx:1.25']!.Env!, 'MODE=prod'],
    Cmd: ['nginx', '-g', 'daemon off;'],
    Entrypoint: ['/docker-entrypoint.sh'],
    WorkingDir: '',
    ExposedPorts: { '80/tcp': {} },
    Labels: { maintainer: 'NGINX Docker Maintainers', 'com.example.owner': 'ops team' },
    Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O- localhost'] },
    Image: 'nginx:1.25',
  },
  HostConfig: {
    NetworkMode: 'default',
    Binds: ['site:/usr/share/nginx/html:ro'],
    PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
    RestartPolicy: { Name: 'always', MaximumRetryCount: 0 },
    SecurityOpt: ['seccomp=unconfined'],
  },
} as unknown as ContainerInspect;

test('a container made with docker run becomes a Pod `<name>-pod`; what Kubernetes cannot say is a warning', () => {
  const out = generateKube([{ containers: [{ inspect: DOCKER_RUN, image: IMAGES['nginx:1.25'] }] }]);
  assert.deepEqual(out.warnings, [
    'container "web": user "nginx" is not written: Kubernetes takes numeric IDs',
    'container "web": security option "seccomp=unconfined" is not written',
  ]);
  const pod = out.objects[0]!;
  assert.deepEqual(pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-pod', annotations: { 'com.example.owner': 'ops team' } },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx:1.25',
          env: [{ name: 'MODE', value: 'prod' }],
          ports: [{ containerPort: 80, hostPort: 8080 }],
          volumeMounts: [{ name: 'site-pvc', mountPath: '/usr/share/nginx/html', readOnly: true }],
          readinessProbe: {
            exec: { command: ['/bin/sh', '-c', 'wget -q -O- localhost'] },
            periodSeconds: 30,
            timeoutSeconds: 30,
            failureThreshold: 3,
          },
        },
      ],
      restartPolicy: 'Always',
      volumes: [{ name: 'site-pvc', persistentVolumeClaim: { claimName: 'site' } }],
    },
  });
  assertValid(pod);
  const played = planPlay(parseKube(kubeYaml(out.objects), 'g.yaml'));
  const body = played.pods[0]!.containers[0]!.body;
  assert.equal(played.pods[0]!.containers[0]!.name, 'web-pod-web');
  assert.deepEqual(body.HostConfig!.Mounts, [
    { Type: 'volume', Source: 'site', Target: '/usr/share/nginx/html', ReadOnly: true },
  ]);
  assert.deepEqual(played.existingVolumes, ['site']);
});

test('without the image, everything the container runs is written', () => {
  const out = generateKube([{ containers: [{ inspect: DOCKER_RUN }] }]);
  const c = (out.objects[0] as { spec: { containers: KubeDoc[] } }).spec.containers[0]!;
  assert.deepEqual(c.command, ['/docker-entrypoint.sh']);
  assert.deepEqual(c.args, ['nginx', '-g', 'daemon off;']);
  assert.equal((c.env as unknown[]).length, 3);
});

test('a Cmd the create request gave as a string is one word of the command, as the daemon runs it', () => {
  const inspect = { ...DOCKER_RUN, Config: { ...DOCKER_RUN.Config, Entrypoint: null, Cmd: '/usr/bin/top' } };
  const out = generateKube([{ containers: [{ inspect }] }]);
  const c = (out.objects[0] as { spec: { containers: KubeDoc[] } }).spec.containers[0]!;
  assert.deepEqual(c.command, ['/usr/bin/top']);
  assert.equal(c.args, undefined);
});

test('labels Kubernetes would refuse become annotations; $( is escaped', () => {
  assert.equal(isValidLabel('app', 'web'), true);
  assert.equal(isValidLabel('example.com/tier', 'front-1'), true);
  assert.equal(isValidLabel('com.docker.compose.project.config_files', '/a/b.yml'), false);
  assert.equal(isValidLabel('Bad_Prefix/x', 'y'), false);
  assert.equal(escapeExpansion('a $(B) $$ $c'), 'a $$(B) $$$ $c');
  assert.equal(LABELS.object.startsWith('io.berth.'), true);
});
