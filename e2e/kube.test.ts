/**
 * `berth kube` against a real berthd: generate from containers the daemon made, play of files
 * that need no pods (volumes), and the refusal of a file with an unsupported field before
 * anything is made. Pods played from YAML: e2e/pods-kube.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pod as K8sPod } from 'kubernetes-models/v1/Pod';
import { Service as K8sService } from 'kubernetes-models/v1/Service';
import { startDaemonWithBusybox, cleanup, berth, type Daemon } from './harness.ts';
import { KubePlayer, parseKube, planPlay, type Pod, type PodBackend } from '../src/kube/index.ts';
import { EngineClient } from '../src/client/index.ts';

let d: Daemon;
let dir: string;
before(async () => {
  d = await startDaemonWithBusybox();
  dir = mkdtempSync(join(tmpdir(), 'berth-kube-'));
});
after(async () => {
  await cleanup(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ok = async (args: string[]) => {
  const r = await berth(d, args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r;
};
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const volumes = async () => (await ok(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean).sort();

test('kube generate writes a Pod of a container that plays back to the same container settings', async () => {
  await ok([
    'create',
    '--name',
    'kweb',
    '-p',
    '18080:80',
    '-e',
    'MODE=prod',
    '-v',
    'kweb-data:/data',
    '--memory',
    '64m',
    '--cap-drop',
    'MKNOD',
    '--restart',
    'always',
    'busybox',
    'httpd',
    '-f',
    '-p',
    '80',
  ]);
  const r = await ok(['kube', 'generate', 'kweb']);
  assert.equal(r.stderr, '');
  const f = parseKube(r.stdout, 'generated');
  const pod = f.objects[0] as Pod;
  assert.equal(pod.metadata.name, 'kweb-pod');
  const c = pod.spec.containers[0]!;
  assert.deepEqual([c.name, c.image, c.command, c.args], ['kweb', 'busybox', undefined, ['httpd', '-f', '-p', '80']]);
  assert.deepEqual(c.env, [{ name: 'MODE', from: { value: 'prod' } }]);
  assert.deepEqual(c.ports, [{ containerPort: 80, hostPort: 18080, protocol: 'TCP' }]);
  assert.equal(c.resources.limits.memory, 64 * 1024 * 1024);
  assert.deepEqual(c.securityContext.capabilities, { add: [], drop: ['MKNOD'] });
  assert.equal(pod.spec.restartPolicy, 'Always');
  const body = planPlay(f).pods[0]!.containers[0]!.body;
  const inspect = JSON.parse((await ok(['inspect', 'kweb'])).stdout)[0];
  assert.deepEqual(body.Cmd, inspect.Config.Cmd);
  assert.deepEqual(body.HostConfig!.Mounts, [{ Type: 'volume', Source: 'kweb-data', Target: '/data' }]);
  assert.equal(body.HostConfig!.Memory, inspect.HostConfig.Memory);
  new K8sPod(JSON.parse(JSON.stringify((await import('yaml')).parse(r.stdout)))).validate();
});

test('kube generate --service adds a NodePort Service, and -f refuses to overwrite a file', async () => {
  const r = await ok(['kube', 'generate', '--service', 'kweb']);
  const { parseAllDocuments } = await import('yaml');
  const docs = parseAllDocuments(r.stdout).map((x) => x.toJS());
  assert.deepEqual(
    docs.map((x) => x.kind),
    ['Pod', 'Service'],
  );
  new K8sService(docs[1]).validate();
  assert.equal(r.stderr, '');
  const out = join(dir, 'out.yaml');
  await ok(['kube', 'generate', '-f', out, 'kweb']);
  const again = await berth(d, ['kube', 'generate', '-f', out, 'kweb']);
  assert.equal(again.code, 125);
  assert.match(again.stderr, /file already exists/);
});

test('kube generate of an unknown name fails', async () => {
  const r = await berth(d, ['kube', 'generate', 'no-such-thing']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no such container or pod no-such-thing/);
});

test('kube play makes a claim volume, play --down keeps it, kube down --force removes it', async () => {
  const p = file(
    'claim.yaml',
    'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: kclaim, labels: {team: a}}\nspec: {accessModes: [ReadWriteOnce]}\n',
  );
  const before = await volumes();
  await ok(['kube', 'play', p]);
  assert.deepEqual(await volumes(), [...before, 'kclaim'].sort());
  const v = JSON.parse((await ok(['volume', 'inspect', 'kclaim'])).stdout)[0];
  assert.deepEqual(v.Labels, {
    team: 'a',
    'io.berth.kube.object': 'PersistentVolumeClaim/kclaim',
    'io.berth.kube.volume-type': 'persistentVolumeClaim',
  });
  await ok(['kube', 'play', p]); // again: the claim's volume is kept
  await ok(['kube', 'play', '--down', p]);
  assert.ok((await volumes()).includes('kclaim'));
  await ok(['kube', 'down', '--force', p]);
  assert.deepEqual(await volumes(), before);
});

test('kube play refuses, before making anything, an unsupported field', async () => {
  const before = await volumes();
  const bad = file(
    'bad.yaml',
    'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: never-made}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeSelector: {disk: ssd}\n  containers: [{name: c, image: busybox}]\n',
  );
  const r = await berth(d, ['kube', 'play', bad]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${bad}: line 9: spec.nodeSelector: not supported by berth kube play\n`);
  assert.deepEqual(await volumes(), before);
});

test("a ConfigMap's files reach its volume through the daemon's archive endpoint, modes kept", async () => {
  const client = new EngineClient({ host: d.host });
  // a stand-in backend that makes the members as plain containers, to see the volume from
  // inside one through KubePlayer alone
  const made: string[] = [];
  const stand: PodBackend = {
    createPod: async (s) => ({ Id: s.name }),
    createContainer: async (_pod, name, body) => {
      const r = await client.containerCreate(body, { name });
      made.push(r.Id);
      return r;
    },
    startPod: async () => {},
    removePod: async () => {},
    listPods: async () => [],
    inspectPod: async () => {
      throw new Error('not in this test');
    },
  };
  const plan = planPlay(
    parseKube(
      `apiVersion: v1
kind: ConfigMap
metadata: {name: kcfg}
data: {a.txt: hello, b.txt: world}
---
apiVersion: v1
kind: Pod
metadata: {name: kpod}
spec:
  volumes: [{name: cfg, configMap: {name: kcfg, items: [{key: a.txt, path: sub/a.txt, mode: 0400}, {key: b.txt, path: b.txt}]}}]
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, volumeMounts: [{name: cfg, mountPath: /cfg}]}
`,
      'k.yaml',
    ),
  );
  const player = new KubePlayer(client, stand, { event() {}, warn() {} });
  try {
    await player.pull(plan);
    await player.apply(plan);
    const r = await ok([
      'run',
      '--rm',
      '-v',
      'kpod-cfg:/cfg:ro',
      'busybox',
      'sh',
      '-c',
      'cat /cfg/sub/a.txt /cfg/b.txt; stat -c %a /cfg/sub/a.txt /cfg/b.txt',
    ]);
    assert.equal(r.stdout, 'helloworld400\n644\n');
    const members = JSON.parse((await ok(['inspect', 'kpod-c'])).stdout)[0];
    assert.deepEqual(members.HostConfig.Mounts, [
      { Type: 'volume', Source: 'kpod-cfg', Target: '/cfg', ReadOnly: true },
    ]);
    assert.equal(members.Config.Labels['io.berth.kube.object'], 'Pod/kpod');
    // no helper container is left behind
    assert.equal(
      (await ok(['ps', '-aq', '--filter', 'label=io.berth.kube.object=Pod/kpod'])).stdout.trim().split('\n').length,
      1,
    );
  } finally {
    for (const id of made) await client.containerRemove(id, { force: true }).catch(() => {});
    await player.down(plan.objects, { claims: true });
    client.close();
  }
  assert.ok(!(await volumes()).includes('kpod-cfg'));
});
