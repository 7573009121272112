import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKube } from './parse.ts';
import { KubeError, type ConfigMap, type Deployment, type Job, type Pod, type Secret, type Service } from './model.ts';
import { parseQuantity, formatBytes, formatMillis } from './quantity.ts';

const parse = (text: string) => parseKube(text, 'f.yaml');
const refused = (text: string, message: RegExp) =>
  assert.throws(
    () => parse(text),
    (e: unknown) => {
      assert.ok(e instanceof KubeError, String(e));
      assert.match((e as Error).message, message);
      return true;
    },
  );

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: nginx
    image: nginx:1.25
`;

test('a Pod reads with Kubernetes defaults filled in', () => {
  const [p] = parse(POD).objects as [Pod];
  assert.equal(p.kind, 'Pod');
  assert.equal(p.metadata.name, 'web');
  assert.deepEqual(p.metadata.labels, { app: 'web' });
  assert.equal(p.spec.restartPolicy, 'Always');
  const c = p.spec.containers[0]!;
  assert.equal(c.image, 'nginx:1.25');
  assert.equal(c.imagePullPolicy, 'IfNotPresent');
  assert.equal(c.path, 'spec.containers[0]');
  assert.equal(c.line, 8);
  assert.equal(p.source.line, 1);
  assert.ok(Object.isFrozen(p.spec.containers));
});

test('an untagged or :latest image is pulled Always, as Kubernetes defaults it', () => {
  const [p] = parse(POD.replace('nginx:1.25', 'busybox')).objects as [Pod];
  assert.equal(p.spec.containers[0]!.imagePullPolicy, 'Always');
});

test('a container reads every supported field', () => {
  const [p] = parse(`apiVersion: v1
kind: Pod
metadata: {name: full}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 5
  hostname: box
  shareProcessNamespace: true
  hostAliases: [{ip: 10.1.2.3, hostnames: [db, db.local]}]
  dnsConfig: {nameservers: [1.1.1.1], searches: [example.com], options: [{name: ndots, value: "2"}, {name: edns0}]}
  securityContext: {runAsUser: 1000, supplementalGroups: [5], sysctls: [{name: net.core.somaxconn, value: "1024"}]}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: pvc1}}
  - {name: cache, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
  - {name: host, hostPath: {path: /srv, type: Directory}}
  - {name: cfg, configMap: {name: cm, items: [{key: a, path: conf/a.txt, mode: 0400}], defaultMode: 0444}}
  - {name: sec, secret: {secretName: s1, optional: true}}
  initContainers:
  - {name: setup, image: busybox, command: [sh, -c, "true"]}
  containers:
  - name: app
    image: registry.local:5000/app@sha256:${'a'.repeat(64)}
    command: [/app]
    args: [--port, "$(PORT)"]
    workingDir: /srv
    env:
    - {name: PORT, value: "8080"}
    - {name: FROM_CM, valueFrom: {configMapKeyRef: {name: cm, key: a}}}
    - {name: FROM_SECRET, valueFrom: {secretKeyRef: {name: s1, key: pw, optional: true}}}
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    envFrom: [{prefix: CM_, configMapRef: {name: cm}}, {secretRef: {name: s1, optional: true}}]
    ports: [{name: http, containerPort: 8080, hostPort: 80, hostIP: 127.0.0.1}, {containerPort: 53, protocol: UDP}]
    volumeMounts: [{name: data, mountPath: /data/}, {name: cfg, mountPath: /etc/app, readOnly: true}]
    resources: {limits: {memory: 128Mi, cpu: "1.5"}, requests: {memory: 64M, cpu: 250m}}
    securityContext:
      runAsUser: 1001
      runAsGroup: 1002
      runAsNonRoot: true
      privileged: false
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {add: [NET_ADMIN], drop: [ALL]}
    livenessProbe: {httpGet: {path: /healthz, port: http, httpHeaders: [{name: X-A, value: b}]}, periodSeconds: 5}
    readinessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 3}
    tty: true
    stdin: true
    terminationMessagePath: /dev/termination-log
`).objects as [Pod];
  const s = p.spec;
  assert.equal(s.restartPolicy, 'OnFailure');
  assert.equal(s.terminationGracePeriodSeconds, 5);
  assert.equal(s.hostname, 'box');
  assert.equal(s.shareProcessNamespace, true);
  assert.deepEqual(s.hostAliases, [{ ip: '10.1.2.3', hostnames: ['db', 'db.local'] }]);
  assert.deepEqual(s.dnsConfig?.options, [{ name: 'ndots', value: '2' }, { name: 'edns0' }]);
  assert.deepEqual(s.securityContext.sysctls, [{ name: 'net.core.somaxconn', value: '1024' }]);
  assert.deepEqual(
    s.volumes.map((v) => v.source),
    [
      { type: 'persistentVolumeClaim', claimName: 'pvc1', readOnly: false },
      { type: 'emptyDir', medium: 'Memory', sizeLimit: 64 * 1024 * 1024 },
      { type: 'hostPath', path: '/srv', hostPathType: 'Directory' },
      {
        type: 'configMap',
        name: 'cm',
        items: [{ key: 'a', path: 'conf/a.txt', mode: 0o400 }],
        defaultMode: 0o444,
        optional: false,
      },
      { type: 'secret', secretName: 's1', defaultMode: 0o644, optional: true },
    ],
  );
  assert.equal(s.initContainers[0]!.name, 'setup');
  const c = s.containers[0]!;
  assert.equal(c.imagePullPolicy, 'IfNotPresent');
  assert.deepEqual(c.command, ['/app']);
  assert.deepEqual(c.args, ['--port', '$(PORT)']);
  assert.equal(c.env.length, 5);
  assert.deepEqual(c.env[4]!.from, { resourceFieldRef: { resource: 'limits.memory', divisor: 1048576 } });
  assert.deepEqual(c.envFrom[0], { prefix: 'CM_', configMapRef: { name: 'cm', optional: false } });
  assert.deepEqual(c.ports[1], { containerPort: 53, protocol: 'UDP' });
  assert.equal(c.volumeMounts[0]!.mountPath, '/data');
  assert.deepEqual(c.resources, {
    limits: { memory: 134217728, cpu: 1500 },
    requests: { memory: 64000000, cpu: 250 },
  });
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities, { add: ['NET_ADMIN'], drop: ['ALL'] });
  assert.equal(c.livenessProbe?.periodSeconds, 5);
  assert.equal(c.livenessProbe?.timeoutSeconds, 1);
  assert.deepEqual(c.readinessProbe?.handler, { tcpSocket: { port: 8080 } });
  assert.equal(c.readinessProbe?.initialDelaySeconds, 3);
  assert.equal(c.tty, true);
});

test('a Deployment keeps its replicas and selector; a DaemonSet is one pod template', () => {
  const f = parse(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy: {type: RollingUpdate}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers: [{name: c, image: nginx}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: c, image: busybox}]
`);
  const [d, ds] = f.objects as [Deployment, Extract<(typeof f.objects)[number], { kind: 'DaemonSet' }>];
  assert.equal(d.replicas, 3);
  assert.deepEqual(d.selector, { app: 'web' });
  assert.deepEqual(d.template.labels, { app: 'web', tier: 'front' });
  assert.equal(ds.kind, 'DaemonSet');
  assert.equal(ds.source.line, 13);
});

test('a Job defaults to 6 retries and needs OnFailure or Never', () => {
  const [j] = parse(`apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
`).objects as [Job];
  assert.equal(j.backoffLimit, 6);
  assert.equal(j.template.spec.restartPolicy, 'Never');
  refused(
    `apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      containers: [{name: c, image: busybox}]
`,
    /line 6: spec\.template\.spec\.restartPolicy: required value: a Job's pods restart "OnFailure" or "Never"/,
  );
});

test('ConfigMap, Secret, PersistentVolumeClaim and Service read', () => {
  const f = parse(`apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: hello}
binaryData: {b: aGk=}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {pw: c2VjcmV0}
stringData: {user: admin}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
`);
  const [cm, s, pvc, svc] = f.objects as [ConfigMap, Secret, { storage: number }, Service];
  assert.deepEqual(cm.data, { a: 'hello' });
  assert.deepEqual(cm.binaryData, { b: 'aGk=' });
  assert.deepEqual(s.data, { pw: 'c2VjcmV0', user: Buffer.from('admin').toString('base64') });
  assert.equal(s.type, 'Opaque');
  assert.equal(pvc.storage, 1024 ** 3);
  assert.deepEqual(svc.ports, [{ protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080 }]);
});

test('a List of objects reads as its items', () => {
  const f = parse(`apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
`);
  assert.deepEqual(
    f.objects.map((o) => o.metadata.name),
    ['a', 'b'],
  );
});

test('output-only fields are accepted; unsupported fields that say nothing are too', () => {
  const [p] = parse(`apiVersion: v1
kind: Pod
metadata: {name: web, creationTimestamp: null, uid: abc}
spec:
  affinity: {}
  tolerations: []
  nodeSelector: null
  dnsPolicy: ClusterFirst
  containers: [{name: c, image: nginx, resources: {}}]
status: {phase: Running}
`).objects as [Pod];
  assert.equal(p.metadata.name, 'web');
});

test('an unsupported field is refused by its path and line', () => {
  refused(
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        nodeAffinity: {}
      containers: [{name: c, image: nginx}]
`,
    /^f\.yaml: line 9: spec\.template\.spec\.affinity: not supported by berth kube play$/,
  );
});

test('an unknown field, a misspelt one included, is refused', () => {
  refused(
    POD.replace('image: nginx:1.25', 'image: nginx:1.25\n    imagePulPolicy: Always'),
    /line 10: spec\.containers\[0\]\.imagePulPolicy: not supported/,
  );
});

test('each refusal names what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['apiVersion: v1\nkind: Node\nmetadata: {name: n}\n', /line 2: kind: kind "Node" is not supported/],
    [
      'apiVersion: v1\nkind: Deployment\nmetadata: {name: n}\n',
      /line 1: apiVersion: "v1": Deployment is read as apps\/v1/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: Web}\nspec: {containers: []}\n',
      /line 3: metadata\.name: invalid value "Web"/,
    ],
    ['apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec: {containers: []}\n', /spec\.containers: required value/],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: c\n    ports: [{containerPort: "80"}]\n    image: x\n',
      /line 7: spec\.containers\[0\]\.ports\[0\]\.containerPort: must be an integer, not "80"/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - {name: c, image: x}\n  - {name: c, image: z}\n',
      /line 7: spec\.containers\[1\]\.name: duplicate container name "c"/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  volumes:\n  - {name: v, emptyDir: {}, hostPath: {path: /x}}\n  containers: [{name: c, image: x}]\n',
      /line 6: spec\.volumes\[0\]: may not specify more than 1 volume type/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: c\n    image: x\n    volumeMounts: [{name: nope, mountPath: /x}]\n',
      /line 8: spec\.containers\[0\]\.volumeMounts\[0\]\.name: volume "nope" is not among the pod's volumes/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: c\n    image: x\n    livenessProbe: {httpGet: {port: web}}\n',
      /spec\.containers\[0\]\.livenessProbe\.httpGet\.port: no container port named "web"/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: c\n    image: x\n    env: [{name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]\n',
      /fieldRef\.fieldPath: "status\.podIP": not supported/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: c\n    image: x\n    resources: {limits: {memory: lots}}\n',
      /line 8: spec\.containers\[0\]\.resources\.limits\.memory: invalid quantity "lots"/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: c\n    image: x\n    resources: {limits: {nvidia.com/gpu: 1}}\n',
      /resources\.limits\.nvidia\.com\/gpu: not supported/,
    ],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: c\n    image: x\n    startupProbe: {exec: {command: ["true"]}}\n',
      /line 8: spec\.containers\[0\]\.startupProbe: not supported/,
    ],
    [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: b}}\n    spec: {containers: [{name: c, image: x}]}\n',
      /line 7: spec\.template\.metadata\.labels: `selector` does not match template `labels`/,
    ],
    [
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n',
      /spec\.type: "ClusterIP" \(the default\): not supported/,
    ],
    [
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n',
      /line 5: spec\.type: "LoadBalancer": supported values: "NodePort"/,
    ],
    [
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: "not base64!"}\n',
      /line 4: data\.a: invalid value "not base64!": must be base64/,
    ],
    [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n',
      /line 7: metadata\.name: ConfigMap\/a is defined twice \(first at line 1\)/,
    ],
    ['apiVersion: v1\nkind: Pod\nmetadata: {name: w\nspec: {}\n', /^f\.yaml: line \d+: yaml: /],
    [
      'apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  completions: 3\n  template: {spec: {restartPolicy: Never, containers: [{name: c, image: x}]}}\n',
      /line 5: spec\.completions: invalid value 3: must be at most 1/,
    ],
  ];
  for (const [text, message] of cases) refused(text, message);
});

test('quantities are exact and rounded up as Kubernetes rounds them', () => {
  assert.equal(parseQuantity('128Mi'), 128 * 1024 * 1024);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('1.5Gi'), 1.5 * 1024 ** 3);
  assert.equal(parseQuantity('0.1', 1000), 100);
  assert.equal(parseQuantity('500m', 1000), 500);
  assert.equal(parseQuantity(2, 1000), 2000);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('1.0001'), 2);
  assert.equal(parseQuantity('12x'), undefined);
  assert.equal(parseQuantity(''), undefined);
  assert.equal(formatBytes(128 * 1024 * 1024), '128Mi');
  assert.equal(formatBytes(1000), '1000');
  assert.equal(formatMillis(1500), '1500m');
  assert.equal(formatMillis(2000), '2');
});
