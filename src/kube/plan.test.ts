import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKube } from './parse.ts';
import { planPlay, type PlanOptions } from './plan.ts';
import { expand } from './container.ts';
import { KubeError } from './model.ts';
import { LABELS } from './labels.ts';

const plan = (text: string, o?: PlanOptions) => planPlay(parseKube(text, 'f.yaml'), o);

const pod = (spec: string, meta = '{name: web, labels: {app: web}}') =>
  `apiVersion: v1\nkind: Pod\nmetadata: ${meta}\nspec:\n${spec}`;

test('a Pod is one pod of its name, each container `<pod>-<name>` with the labels that find it again', () => {
  const p = plan(pod('  containers:\n  - {name: nginx, image: nginx:1.25}\n'));
  assert.deepEqual(p.objects, ['Pod/web']);
  assert.equal(p.pods.length, 1);
  const [only] = p.pods;
  assert.deepEqual(only!.spec, {
    name: 'web',
    labels: { app: 'web', [LABELS.object]: 'Pod/web' },
    hostname: 'web',
    shared_namespaces: ['ipc', 'net', 'uts'],
  });
  const c = only!.containers[0]!;
  assert.equal(c.name, 'web-nginx');
  assert.equal(c.pullPolicy, 'IfNotPresent');
  assert.deepEqual(c.body, {
    Image: 'nginx:1.25',
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Labels: {
      app: 'web',
      [LABELS.pod]: 'web',
      [LABELS.object]: 'Pod/web',
      [LABELS.container]: 'nginx',
    },
    HostConfig: { RestartPolicy: { Name: 'always' } },
  });
});

test('command and args become Entrypoint and Cmd, which the daemon merges with the image as Kubernetes does', () => {
  const p = plan(
    pod(`  restartPolicy: Never
  containers:
  - {name: a, image: x, command: [/bin/app, -v]}
  - {name: b, image: x, args: [serve]}
  - {name: c, image: x, command: [sh], args: [-c, "echo $(GREETING) $$(NOT)"], env: [{name: GREETING, value: hi}]}
`),
  );
  const [a, b, c] = p.pods[0]!.containers.map((x) => x.body);
  assert.deepEqual([a!.Entrypoint, a!.Cmd], [['/bin/app', '-v'], undefined]);
  assert.deepEqual([b!.Entrypoint, b!.Cmd], [undefined, ['serve']]);
  assert.deepEqual(c!.Cmd, ['-c', 'echo hi $(NOT)']);
  assert.deepEqual(a!.HostConfig!.RestartPolicy, { Name: 'no' });
});

test('$(VAR) expansion follows Kubernetes: earlier variables only, $$ escapes, unknown names stay', () => {
  const vars = new Map([['A', '1']]);
  assert.equal(expand('$(A)-$(B)-$$(A)-$$-$x-$', vars), '1-$(B)-$(A)-$-$x-$');
  assert.equal(expand('$(A', vars), '$(A');
  const p = plan(
    pod(`  containers:
  - name: c
    image: x
    env:
    - {name: B, value: "$(A)"}
    - {name: A, value: "a"}
    - {name: C, value: "$(A)$(B)"}
`),
  );
  assert.deepEqual(p.pods[0]!.containers[0]!.body.Env, ['B=$(A)', 'A=a', 'C=a$(A)']);
});

const WITH_DATA = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {MODE: fast, index.html: "<h1>hi</h1>"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: ${Buffer.from('s3cret').toString('base64')}}
---
`;

test('env and envFrom resolve ConfigMaps, Secrets and the pod fields; env wins over envFrom', () => {
  const p = plan(
    WITH_DATA +
      pod(`  containers:
  - name: c
    image: x
    envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}, {secretRef: {name: creds}}]
    env:
    - {name: password, value: overridden}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: cfg, key: MODE}}}
    - {name: PW, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MISSING, valueFrom: {secretKeyRef: {name: nope, key: x, optional: true}}}
    - {name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    resources: {limits: {memory: 64Mi}}
`),
  );
  assert.deepEqual(p.pods[0]!.containers[0]!.body.Env, [
    'CFG_MODE=fast',
    'CFG_index.html=<h1>hi</h1>',
    'password=overridden',
    'MODE=fast',
    'PW=s3cret',
    'NAME=web',
    'NS=default',
    'APP=web',
    'MEM_MI=64',
  ]);
});

test('a missing ConfigMap or key is refused with the container line, unless optional', () => {
  assert.throws(
    () => plan(pod('  containers:\n  - name: c\n    image: x\n    envFrom: [{configMapRef: {name: nope}}]\n')),
    /^Error: f\.yaml: line 6: Pod\/web: spec\.containers\[0\]: configmap "nope" not found$/,
  );
  assert.throws(
    () =>
      plan(
        WITH_DATA +
          pod(
            '  containers:\n  - name: c\n    image: x\n    env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: nokey}}}]\n',
          ),
      ),
    /key "nokey" not found in configmap "cfg"/,
  );
  assert.throws(
    () => plan(pod('  volumes: [{name: v, configMap: {name: nope}}]\n  containers: [{name: c, image: x}]\n')),
    (e: unknown) =>
      e instanceof KubeError && /line 5: Pod\/web: volume "v": configmap "nope" not found/.test(e.message),
  );
});

test('security context, resources and the pod-wide settings reach the create body', () => {
  const p = plan(
    pod(`  terminationGracePeriodSeconds: 20
  securityContext: {runAsUser: 1000, supplementalGroups: [44]}
  containers:
  - name: c
    image: x
    workingDir: /w
    tty: true
    stdin: true
    ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]
    resources: {limits: {memory: 128Mi, cpu: 500m}, requests: {memory: 64Mi, cpu: 250m}}
    securityContext:
      runAsGroup: 2000
      privileged: true
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {add: [NET_ADMIN], drop: [MKNOD]}
`),
  );
  const b = p.pods[0]!.containers[0]!.body;
  assert.equal(b.User, '1000:2000');
  assert.equal(b.WorkingDir, '/w');
  assert.equal(b.StopTimeout, 20);
  assert.equal(b.Tty, true);
  assert.equal(b.OpenStdin, true);
  assert.deepEqual(b.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(b.HostConfig, {
    RestartPolicy: { Name: 'always' },
    CapAdd: ['NET_ADMIN'],
    CapDrop: ['MKNOD'],
    Privileged: true,
    ReadonlyRootfs: true,
    SecurityOpt: ['no-new-privileges'],
    GroupAdd: ['44'],
    Memory: 134217728,
    NanoCpus: 500000000,
    MemoryReservation: 67108864,
    CpuShares: 256,
  });
});

test("runAsGroup alone keeps the image's user; runAsNonRoot is checked against it", () => {
  const text = pod('  containers:\n  - {name: c, image: x, securityContext: {runAsGroup: 7}}\n');
  assert.equal(plan(text, { imageUser: () => 'app:users' }).pods[0]!.containers[0]!.body.User, 'app:7');
  assert.equal(plan(text).pods[0]!.containers[0]!.body.User, '0:7');
  const nonRoot = pod('  securityContext: {runAsNonRoot: true}\n  containers:\n  - {name: c, image: x}\n');
  assert.throws(
    () => plan(nonRoot, { imageUser: () => '' }),
    /line 7: Pod\/web: spec\.containers\[0\]: runAsNonRoot: image "x" runs as root/,
  );
  assert.throws(() => plan(nonRoot, { imageUser: () => 'nginx' }), /non-numeric user/);
  assert.equal(plan(nonRoot, { imageUser: () => '101' }).pods[0]!.containers[0]!.body.User, undefined);
  assert.match(plan(nonRoot).warnings[0]!, /runAsNonRoot not checked/);
});

test('probes become health checks busybox can run: exec, httpGet through wget, tcpSocket through nc', () => {
  const p = plan(
    pod(`  restartPolicy: OnFailure
  containers:
  - name: a
    image: x
    ports: [{name: http, containerPort: 8080}]
    livenessProbe:
      httpGet: {path: healthz, port: http, scheme: HTTPS, httpHeaders: [{name: X-Probe, value: "1"}]}
      initialDelaySeconds: 5
      periodSeconds: 3
      timeoutSeconds: 2
      failureThreshold: 4
    readinessProbe: {exec: {command: ["true"]}}
  - name: b
    image: x
    readinessProbe: {tcpSocket: {port: 6379, host: 127.0.0.1}}
  - name: c
    image: x
    livenessProbe: {exec: {command: [cat, /tmp/ok]}}
`),
  );
  const [a, b, c] = p.pods[0]!.containers.map((x) => x.body);
  assert.deepEqual(a!.Healthcheck, {
    Test: [
      'CMD',
      'wget',
      '-q',
      '-O',
      '/dev/null',
      '--no-check-certificate',
      '--header',
      'X-Probe: 1',
      'https://localhost:8080/healthz',
    ],
    Interval: 3e9,
    Timeout: 2e9,
    Retries: 4,
    StartPeriod: 5e9,
  });
  assert.equal(a!.Labels![LABELS.probe], 'liveness');
  assert.equal(a!.Labels![LABELS.healthOnFailure], 'restart');
  assert.match(p.warnings[0]!, /readinessProbe not checked/);
  assert.deepEqual(b!.Healthcheck!.Test, ['CMD', 'nc', '-w', '1', '127.0.0.1', '6379', '-e', 'true']);
  assert.deepEqual([b!.Healthcheck!.Interval, b!.Healthcheck!.Retries], [10e9, 3]);
  assert.equal(b!.Labels![LABELS.probe], 'readiness');
  assert.equal(b!.Labels![LABELS.healthOnFailure], undefined);
  assert.deepEqual(c!.Healthcheck!.Test, ['CMD', 'cat', '/tmp/ok']);
});

test('init containers come first, in order, never restarted; the others follow the pod restart policy', () => {
  const p = plan(
    pod(`  initContainers:
  - {name: one, image: busybox, command: [sh, -c, "echo 1"]}
  - {name: two, image: busybox, command: [sh, -c, "echo 2"]}
  containers: [{name: app, image: busybox}]
`),
  );
  const [pp] = p.pods;
  assert.deepEqual(
    pp!.initContainers.map((c) => [c.name, c.body.Labels![LABELS.init], c.body.HostConfig!.RestartPolicy!.Name]),
    [
      ['web-one', '0', 'no'],
      ['web-two', '1', 'no'],
    ],
  );
  assert.equal(pp!.containers[0]!.body.HostConfig!.RestartPolicy!.Name, 'always');
});

test('volumes: claims are named volumes kept across plays, pod volumes are `<pod>-<name>`, ConfigMaps are files', () => {
  const p = plan(
    WITH_DATA +
      `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
` +
      pod(`  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: other, persistentVolumeClaim: {claimName: elsewhere, readOnly: true}}
  - {name: scratch, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
  - {name: html, configMap: {name: cfg, items: [{key: index.html, path: site/index.html, mode: 0600}]}}
  - {name: secret, secret: {secretName: creds, defaultMode: 0400}}
  - {name: host, hostPath: {path: /srv/www}}
  - {name: sock, hostPath: {path: /run/x.sock, type: Socket}}
  containers:
  - name: c
    image: x
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: other, mountPath: /other}
    - {name: scratch, mountPath: /scratch}
    - {name: mem, mountPath: /mem}
    - {name: html, mountPath: /usr/share/nginx/html}
    - {name: secret, mountPath: /run/secrets}
    - {name: host, mountPath: /www, readOnly: true}
    - {name: sock, mountPath: /x.sock}
`),
  );
  assert.deepEqual(p.existingVolumes, ['elsewhere']);
  const byName = new Map(p.volumes.map((v) => [v.request.Name, v]));
  assert.deepEqual([...byName.keys()], ['data', 'web-scratch', 'web-mem', 'web-html', 'web-secret']);
  assert.equal(byName.get('data')!.keep, true);
  assert.equal(byName.get('data')!.request.Labels![LABELS.volumeType], 'persistentVolumeClaim');
  assert.deepEqual(byName.get('web-mem')!.request.DriverOpts, { type: 'tmpfs', device: 'tmpfs', o: 'size=1048576' });
  assert.deepEqual(byName.get('web-html')!.files, [
    { path: 'site/index.html', mode: 0o600, content: '<h1>hi</h1>', encoding: 'utf8' },
  ]);
  assert.deepEqual(byName.get('web-secret')!.files, [
    { path: 'password', mode: 0o400, content: Buffer.from('s3cret').toString('base64'), encoding: 'base64' },
  ]);
  assert.equal(byName.get('web-scratch')!.request.Labels![LABELS.pod], 'web');
  const hc = p.pods[0]!.containers[0]!.body.HostConfig!;
  assert.deepEqual(hc.Binds, ['/srv/www:/www:ro']);
  assert.deepEqual(hc.Mounts, [
    { Type: 'volume', Source: 'data', Target: '/data' },
    { Type: 'volume', Source: 'elsewhere', Target: '/other', ReadOnly: true },
    { Type: 'volume', Source: 'web-scratch', Target: '/scratch' },
    { Type: 'volume', Source: 'web-mem', Target: '/mem' },
    { Type: 'volume', Source: 'web-html', Target: '/usr/share/nginx/html', ReadOnly: true },
    { Type: 'volume', Source: 'web-secret', Target: '/run/secrets', ReadOnly: true },
    { Type: 'bind', Source: '/run/x.sock', Target: '/x.sock' },
  ]);
});

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx
        ports: [{name: http, containerPort: 80, hostPort: 8080}]
`;

test('a Deployment makes its replicas as pods; a hostPort is published by the first of them', () => {
  const p = plan(DEPLOYMENT);
  assert.deepEqual(
    p.pods.map((x) => [x.spec.name, x.spec.portmappings]),
    [
      ['web-pod-0', [{ container_port: 80, host_port: 8080, protocol: 'tcp' }]],
      ['web-pod-1', undefined],
    ],
  );
  assert.deepEqual(
    p.pods.map((x) => x.containers[0]!.name),
    ['web-pod-0-nginx', 'web-pod-1-nginx'],
  );
  assert.match(
    p.warnings[0]!,
    /host port 8080\/tcp is published by pod "web-pod-0" only; pod "web-pod-1" goes without/,
  );
});

test('a NodePort Service publishes its nodePorts on the pods it selects, by port number or name', () => {
  const p = plan(
    DEPLOYMENT.replace('replicas: 2', 'replicas: 1').replace(', hostPort: 8080', '') +
      `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: a, port: 80, targetPort: http, nodePort: 30080}
  - {name: b, port: 81, nodePort: 30081}
  - {name: c, port: 82}
`,
  );
  assert.deepEqual(p.pods[0]!.spec.portmappings, [
    { container_port: 80, host_port: 30080, protocol: 'tcp' },
    { container_port: 81, host_port: 30081, protocol: 'tcp' },
  ]);
  assert.deepEqual(p.warnings, ['Service/web: port 82 has no nodePort: not published']);
});

test("a Job's pod runs to completion with the Job's retries; a DaemonSet is one pod", () => {
  const p = plan(`apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{name: m, image: busybox, command: ["true"]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      hostPID: true
      containers: [{name: a, image: busybox}]
`);
  const [job, ds] = p.pods;
  assert.equal(job!.spec.name, 'migrate-pod');
  assert.equal(job!.runToCompletion, true);
  assert.deepEqual(job!.containers[0]!.body.HostConfig!.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.equal(ds!.spec.name, 'agent-pod');
  assert.equal(ds!.runToCompletion, false);
  assert.deepEqual(ds!.spec.netns, { nsmode: 'host' });
  assert.deepEqual(ds!.spec.pidns, { nsmode: 'host' });
  assert.equal(ds!.spec.hostname, undefined);
});

test('pod DNS, host aliases, sysctls and a shared process namespace go to the pod', () => {
  const p = plan(
    pod(`  hostname: box
  shareProcessNamespace: true
  hostAliases: [{ip: 10.0.0.5, hostnames: [db, cache]}]
  dnsConfig: {nameservers: [9.9.9.9], searches: [corp], options: [{name: ndots, value: "2"}, {name: rotate}]}
  securityContext: {sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "0"}]}
  containers: [{name: c, image: x}]
`),
  );
  const s = p.pods[0]!.spec;
  assert.equal(s.hostname, 'box');
  assert.deepEqual(s.shared_namespaces, ['ipc', 'net', 'uts', 'pid']);
  assert.deepEqual(s.hostadd, ['db:10.0.0.5', 'cache:10.0.0.5']);
  assert.deepEqual([s.dns_server, s.dns_search, s.dns_option], [['9.9.9.9'], ['corp'], ['ndots:2', 'rotate']]);
  assert.deepEqual(s.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '0' });
});

test('two objects making a pod of the same name are refused', () => {
  assert.throws(
    () =>
      plan(
        `${pod('  containers: [{name: c, image: x}]\n', '{name: agent-pod}')}\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: x}]}\n`,
      ),
    /line 8: DaemonSet\/agent: pod "agent-pod" is already made by Pod\/agent-pod/,
  );
});

test("kube play --network puts every pod on that network or in that mode, over the YAML's hostNetwork", () => {
  const text = pod('  hostNetwork: true\n  containers:\n  - {name: c, image: busybox}\n');
  const spec = (network?: string) => plan(text, { network }).pods[0]!.spec;
  assert.deepEqual(spec().netns, { nsmode: 'host' });
  assert.deepEqual(spec('none').netns, { nsmode: 'none' });
  assert.equal(spec('none').hostname, 'web');
  assert.deepEqual(spec('backend').networks, ['backend']);
  assert.equal(spec('backend').netns, undefined);
  assert.equal(spec('bridge').networks, undefined);
  assert.deepEqual(spec('host').netns, { nsmode: 'host' });
});
