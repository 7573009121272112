/**
 * `berth kube play|down|generate` with pods, against a private berthd with a bridge of its own:
 * a pod whose init container must finish first and whose members share localhost, play again
 * replacing it, the generate → play round trip, a Deployment's replicas behind a hostPort, a
 * ConfigMap mounted and read, a Job run to completion, a liveness probe that restarts a
 * failing container, and a DaemonSet's pod sharing its PID namespace with a Secret (env and
 * files) and a claim's named volume.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { type Daemon, berth, cleanup, eventually, freePort, startDaemonWithBusybox } from './harness.ts';

const BRIDGE = `bpk${process.pid % 100000}`;
let d: Daemon;
let dir: string;
before(async () => {
  d = await startDaemonWithBusybox(['--bridge', BRIDGE]);
  dir = mkdtempSync(join(tmpdir(), 'berth-pods-kube-'));
});
after(async () => {
  await cleanup(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function ok(args: string[]): Promise<string> {
  const r = await berth(d, args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const inspect = async (name: string) => JSON.parse(await ok(['inspect', name]))[0];
function httpGet(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const webPod = (port: number) => `apiVersion: v1
kind: Pod
metadata: {name: kweb}
spec:
  initContainers:
  - name: prepare
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'sleep 1; echo prepared > /work/index.html']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: httpd
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [httpd, -f, -p, '80', -h, /work]
    ports: [{containerPort: 80, hostPort: ${port}}]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: sidecar
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'while :; do wget -qO- http://localhost/index.html > /tmp/seen; sleep 0.2; done']
  volumes:
  - {name: work, emptyDir: {}}
`;

test('kube play of a pod: the init container finishes first, the sidecar reaches the server on localhost, the hostPort reaches it; a second play replaces it', async () => {
  const port = await freePort();
  const p = file('web.yaml', webPod(port));
  assert.equal(await ok(['kube', 'play', p]), 'kweb\n');
  const init = await inspect('kweb-prepare');
  const httpd = await inspect('kweb-httpd');
  assert.equal(init.State.ExitCode, 0);
  assert.ok(Date.parse(init.State.FinishedAt) <= Date.parse(httpd.State.StartedAt), 'the init container ran first');
  assert.equal(await eventually(() => httpGet(port, '/index.html').catch(() => '')), 'prepared\n');
  assert.equal(
    await eventually(async () => (await berth(d, ['exec', 'kweb-sidecar', 'cat', '/tmp/seen'])).stdout),
    'prepared\n',
  );
  const pod = JSON.parse(await ok(['pod', 'inspect', 'kweb']));
  assert.equal(pod.State, 'Running');
  assert.equal(pod.Labels['io.berth.kube.object'], 'Pod/kweb');

  await ok(['kube', 'play', p]);
  const again = JSON.parse(await ok(['pod', 'inspect', 'kweb']));
  assert.notEqual(again.Id, pod.Id, 'play again replaces the pod');
  assert.equal(again.State, 'Running');
});

test('kube generate of a pod plays back to the same pod', async () => {
  const yaml = await ok(['kube', 'generate', 'kweb']);
  const before = await inspect('kweb-httpd');
  const ports = JSON.parse(await ok(['pod', 'inspect', 'kweb'])).InfraConfig.PortBindings;
  await ok(['kube', 'play', '--down', join(dir, 'web.yaml')]);
  assert.equal((await berth(d, ['pod', 'exists', 'kweb'])).code, 1);
  const p = file('generated.yaml', yaml);
  assert.equal(await ok(['kube', 'play', p]), 'kweb\n');
  const after = await inspect('kweb-httpd');
  assert.deepEqual(after.Config.Cmd, before.Config.Cmd);
  assert.deepEqual(JSON.parse(await ok(['pod', 'inspect', 'kweb'])).InfraConfig.PortBindings, ports);
  assert.equal((await inspect('kweb-prepare')).State.ExitCode, 0);
  assert.equal(await ok(['kube', 'generate', 'kweb']), yaml);
  await ok(['kube', 'down', p]);
});

test("a Deployment's two replicas are two pods; the hostPort reaches the first", async () => {
  const port = await freePort();
  const p = file(
    'deploy.yaml',
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: kdep}
spec:
  replicas: 2
  selector: {matchLabels: {app: kdep}}
  template:
    metadata: {labels: {app: kdep}}
    spec:
      containers:
      - name: web
        image: busybox
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'hostname > /tmp/index.html; exec httpd -f -p 80 -h /tmp']
        ports: [{containerPort: 80, hostPort: ${port}}]
`,
  );
  const r = await berth(d, ['kube', 'play', p]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'kdep-pod-0\nkdep-pod-1\n');
  for (const name of ['kdep-pod-0', 'kdep-pod-1'])
    assert.equal(JSON.parse(await ok(['pod', 'inspect', name])).State, 'Running');
  assert.equal(await eventually(() => httpGet(port, '/index.html').catch(() => '')), 'kdep-pod-0\n');
  await ok(['kube', 'play', '--down', p]);
  assert.doesNotMatch(await ok(['pod', 'ps']), /kdep/);
});

test('a ConfigMap reaches its pod as files and as environment variables', async () => {
  const p = file(
    'config.yaml',
    `apiVersion: v1
kind: ConfigMap
metadata: {name: kcfg}
data: {greeting: hello, name: world}
---
apiVersion: v1
kind: Pod
metadata: {name: kconf}
spec:
  restartPolicy: Never
  containers:
  - name: reader
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'cat /cfg/greeting; echo " $NAME"; sleep 30']
    env: [{name: NAME, valueFrom: {configMapKeyRef: {name: kcfg, key: name}}}]
    volumeMounts: [{name: cfg, mountPath: /cfg}]
  volumes:
  - {name: cfg, configMap: {name: kcfg}}
`,
  );
  await ok(['kube', 'play', p]);
  assert.equal(await eventually(async () => (await berth(d, ['logs', 'kconf-reader'])).stdout), 'hello world\n');
  await ok(['kube', 'play', '--down', p]);
});

test('a Job runs to completion: kube play waits for it and exits 0', async () => {
  const p = file(
    'job.yaml',
    `apiVersion: batch/v1
kind: Job
metadata: {name: kjob}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: work, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, 'echo done']}
`,
  );
  const r = await berth(d, ['kube', 'play', p]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Container kjob-pod-work {2}Exited \(0\)/);
  assert.equal((await inspect('kjob-pod-work')).State.ExitCode, 0);
  assert.equal(await ok(['logs', 'kjob-pod-work']), 'done\n');
  await ok(['kube', 'play', '--down', p]);
});

test('a failing liveness probe restarts the container, which then passes it', async () => {
  const p = file(
    'live.yaml',
    `apiVersion: v1
kind: Pod
metadata: {name: klive}
spec:
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    # healthy only from its second start on (its root file system is kept across a restart)
    command: [sh, -c, "if [ -f /started ]; then touch /healthy; fi; touch /started; trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    livenessProbe:
      exec: {command: [cat, /healthy]}
      periodSeconds: 1
      failureThreshold: 2
`,
  );
  await ok(['kube', 'play', p]);
  const first = (await inspect('klive-app')).State.StartedAt;
  const health = await eventually(
    async () => {
      const s = (await inspect('klive-app')).State;
      return s.StartedAt !== first && s.Health?.Status === 'healthy' ? s.Health : undefined;
    },
    30_000,
    500,
  );
  assert.ok(health, 'restarted and healthy');
  await ok(['kube', 'play', '--down', p]);
});

test("a DaemonSet's one pod sharing its PID namespace, with a Secret as env and as files and a claim as a named volume", async () => {
  const p = file(
    'daemonset.yaml',
    `apiVersion: v1
kind: Secret
metadata: {name: ksec}
data: {password: czNjcmV0}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: kclaim}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kds}
spec:
  selector: {matchLabels: {app: kds}}
  template:
    metadata: {labels: {app: kds}}
    spec:
      shareProcessNamespace: true
      containers:
      - name: app
        image: busybox
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'echo "$PASSWORD $(cat /secret/password)" | tee /data/note; exec sleep 1000']
        env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: ksec, key: password}}}]
        volumeMounts: [{name: secret, mountPath: /secret}, {name: data, mountPath: /data}]
      - {name: watcher, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, '999']}
      volumes:
      - {name: secret, secret: {secretName: ksec}}
      - {name: data, persistentVolumeClaim: {claimName: kclaim}}
`,
  );
  await ok(['kube', 'play', p]);
  assert.equal(await eventually(async () => (await berth(d, ['logs', 'kds-pod-app'])).stdout), 's3cret s3cret\n');
  // one PID namespace: the watcher sees the app's process
  assert.match(await ok(['exec', 'kds-pod-watcher', 'ps', '-o', 'args']), /sleep 1000/);
  // the claim is the named volume kclaim, which outlives the pod
  await ok(['kube', 'play', '--down', p]);
  assert.notEqual((await berth(d, ['pod', 'inspect', 'kds-pod'])).code, 0, 'the pod is gone');
  assert.equal(await ok(['run', '--rm', '-v', 'kclaim:/d', 'busybox', 'cat', '/d/note']), 's3cret s3cret\n');
  await ok(['volume', 'rm', 'kclaim']);
});
