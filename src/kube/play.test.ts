import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extract } from 'tar-stream';
import { ApiError, type ContainerCreateRequest, type Volume } from '../client/index.ts';
import { parseKube } from './parse.ts';
import { planPlay } from './plan.ts';
import { KubePlayer, PodsUnavailableError, filesTar, splitReference, type KubeClient } from './play.ts';
import { LABELS } from './labels.ts';
import type { PodBackend, PodCreateSpec, PodSummary } from './pods.ts';

const notFound = (what: string) => new ApiError(404, `no such ${what}`);

/** An in-memory daemon: the calls play makes, recorded in order. */
class FakeDaemon {
  readonly calls: string[] = [];
  readonly images = new Map<string, { User?: string }>();
  readonly volumes = new Map<string, Volume>();
  readonly containers = new Map<string, { name: string; body: ContainerCreateRequest }>();
  readonly archives: { container: string; path: string; tar: Buffer }[] = [];
  readonly pods = new Map<string, { spec: PodCreateSpec; members: string[] }>();
  failStart?: string;
  exitCode = 0;
  private next = 0;

  client(): KubeClient {
    const d = this;
    const c = {
      async imageInspect(name: string) {
        const img = d.images.get(name);
        if (!img) throw notFound(`image: ${name}`);
        return { Config: img };
      },
      async imagePull(repo: string, o: { tag?: string }) {
        d.calls.push(`pull ${repo}:${o.tag}`);
        d.images.set(`${repo}:${o.tag}`, d.images.get(`${repo}:${o.tag}`) ?? {});
        return (async function* () {
          yield { status: 'Pulled' };
        })();
      },
      async volumeInspect(name: string) {
        const v = d.volumes.get(name);
        if (!v) throw notFound(`volume: ${name}`);
        return v;
      },
      async volumeCreate(body: { Name: string; Labels?: Record<string, string> }) {
        d.calls.push(`volume create ${body.Name}`);
        const v = {
          Name: body.Name,
          Driver: 'local',
          Mountpoint: '',
          CreatedAt: '',
          Scope: 'local' as const,
          Labels: body.Labels ?? null,
          Options: null,
        };
        d.volumes.set(body.Name, v);
        return v;
      },
      async volumeRemove(name: string) {
        d.calls.push(`volume rm ${name}`);
        d.volumes.delete(name);
      },
      async volumeList(filters: { label: string[] }) {
        const [k, v] = filters.label[0]!.split('=');
        return { Volumes: [...d.volumes.values()].filter((x) => x.Labels?.[k!] === v), Warnings: null };
      },
      async containerCreate(body: ContainerCreateRequest) {
        const id = `c${d.next++}`;
        d.calls.push(`container create ${id} ${body.Image}`);
        d.containers.set(id, { name: id, body });
        return { Id: id, Warnings: null };
      },
      async containerPutArchive(id: string, path: string, tar: Buffer) {
        d.calls.push(`archive ${id} ${path}`);
        d.archives.push({ container: id, path, tar });
      },
      async containerRemove(id: string) {
        d.calls.push(`container rm ${id}`);
        d.containers.delete(id);
      },
      async containerList(o: { filters: { label: string[] } }) {
        const [k, v] = o.filters.label[0]!.split('=');
        return [...d.containers.entries()]
          .filter(([, x]) => x.body.Labels?.[k!] === v)
          .map(([id, x]) => ({ Id: id, Names: [`/${x.name}`] }));
      },
      async containerWait(id: string) {
        d.calls.push(`wait ${id}`);
        return { result: Promise.resolve({ StatusCode: d.exitCode }), cancel() {} };
      },
    };
    return c as unknown as KubeClient;
  }

  backend(): PodBackend {
    const d = this;
    return {
      async createPod(spec) {
        if (d.pods.has(spec.name)) throw new ApiError(409, `pod ${spec.name} already exists`);
        d.calls.push(`pod create ${spec.name}`);
        d.pods.set(spec.name, { spec, members: [] });
        return { Id: spec.name };
      },
      async createContainer(pod, name, body, o) {
        d.calls.push(`pod ${pod} add ${name}${o.init ? ' (init)' : ''}`);
        d.pods.get(pod)!.members.push(name);
        d.containers.set(name, { name, body });
        return { Id: name };
      },
      async startPod(pod) {
        if (d.failStart === pod) throw new ApiError(500, `init container of ${pod} exited with 1`);
        d.calls.push(`pod start ${pod}`);
      },
      async removePod(pod) {
        d.calls.push(`pod rm ${pod}`);
        for (const m of d.pods.get(pod)?.members ?? []) d.containers.delete(m);
        d.pods.delete(pod);
      },
      async listPods(labels): Promise<PodSummary[]> {
        const [k, v] = labels[0]!.split('=');
        return [...d.pods.values()]
          .filter((p) => p.spec.labels[k!] === v)
          .map((p) => ({ Id: p.spec.name, Name: p.spec.name }));
      },
      async inspectPod(pod) {
        return { Id: pod, Name: pod };
      },
    };
  }
}

const quiet = { event() {}, warn() {} };

const FILE = `apiVersion: v1
kind: ConfigMap
metadata: {name: site}
data: {index.html: "<h1>hi</h1>", app.ini: "a=1"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  volumes:
  - {name: html, configMap: {name: site, items: [{key: app.ini, path: conf/app.ini}, {key: index.html, path: index.html}]}}
  - {name: data, persistentVolumeClaim: {claimName: data}}
  initContainers:
  - {name: setup, image: busybox:1.36, command: ["true"]}
  containers:
  - name: nginx
    image: nginx:1.25
    volumeMounts: [{name: html, mountPath: /usr/share/nginx/html}, {name: data, mountPath: /data}]
`;

const planOf = (text: string) => planPlay(parseKube(text, 'f.yaml'));

async function tarFiles(tar: Buffer): Promise<Record<string, { mode: number; text: string }>> {
  const out: Record<string, { mode: number; text: string }> = {};
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out[h.name] = { mode: h.mode!, text: Buffer.concat(chunks).toString() };
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return out;
}

test('play pulls what is missing, makes volumes, writes ConfigMap files, then makes and starts the pod', async () => {
  const d = new FakeDaemon();
  d.images.set('nginx:1.25', {});
  const player = new KubePlayer(d.client(), d.backend(), quiet);
  const plan = planOf(FILE);
  const images = await player.pull(plan);
  assert.deepEqual([...images.keys()], ['busybox:1.36', 'nginx:1.25']);
  const result = await player.apply(plan);
  assert.deepEqual(result.pods, ['web']);
  assert.deepEqual(d.calls, [
    'pull busybox:1.36',
    'volume create data',
    'volume create web-html',
    'container create c0 nginx:1.25',
    'archive c0 /berth-kube-fill',
    'container rm c0',
    'pod create web',
    'pod web add web-setup (init)',
    'pod web add web-nginx',
    'pod start web',
  ]);
  assert.deepEqual(await tarFiles(d.archives[0]!.tar), {
    'conf/': { mode: 0o755, text: '' },
    'conf/app.ini': { mode: 0o644, text: 'a=1' },
    'index.html': { mode: 0o644, text: '<h1>hi</h1>' },
  });
});

test('playing the same file again replaces what the first play made, keeping the claim and its data', async () => {
  const d = new FakeDaemon();
  d.images.set('nginx:1.25', {});
  d.images.set('busybox:1.36', {});
  const player = new KubePlayer(d.client(), d.backend(), quiet);
  await player.apply(planOf(FILE));
  d.calls.length = 0;
  await player.apply(planOf(FILE));
  assert.deepEqual(d.calls.slice(0, 4), [
    'pod rm web',
    'volume rm web-html',
    'volume create web-html',
    'container create c1 nginx:1.25',
  ]);
  assert.ok(!d.calls.includes('volume create data'), "the claim's volume is kept");
  assert.ok(d.volumes.has('data'));
});

test('a failed play removes what it made', async () => {
  const d = new FakeDaemon();
  d.images.set('nginx:1.25', {});
  d.images.set('busybox:1.36', {});
  d.failStart = 'web';
  const player = new KubePlayer(d.client(), d.backend(), quiet);
  await assert.rejects(player.apply(planOf(FILE)), /init container of web exited with 1/);
  assert.deepEqual(d.calls.slice(-3), ['pod rm web', 'volume rm web-html', 'volume rm data']);
  assert.equal(d.pods.size, 0);
  assert.equal(d.volumes.size, 0);
});

test('down removes pods and pod volumes by label; claims only with --force', async () => {
  const d = new FakeDaemon();
  d.images.set('nginx:1.25', {});
  d.images.set('busybox:1.36', {});
  const player = new KubePlayer(d.client(), d.backend(), quiet);
  const plan = planOf(FILE);
  await player.apply(plan);
  d.calls.length = 0;
  assert.deepEqual(await player.down(plan.objects, { claims: false }), { removed: 2 });
  assert.deepEqual(d.calls, ['pod rm web', 'volume rm web-html']);
  assert.deepEqual(await player.down(plan.objects, { claims: true }), { removed: 1 });
  assert.equal(d.volumes.size, 0);
});

test('without pods in the daemon, a file with workloads is refused before anything is pulled or made', async () => {
  const d = new FakeDaemon();
  const player = new KubePlayer(d.client(), undefined, quiet);
  const plan = planOf(FILE);
  assert.throws(() => player.check(plan), PodsUnavailableError);
  await assert.rejects(player.pull(plan), /pods are not available in this daemon yet/);
  assert.deepEqual(d.calls, []);
  // volumes alone need no pods
  const volumesOnly = planOf('apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n');
  await player.apply(volumesOnly);
  assert.deepEqual(d.calls, ['volume create data']);
  assert.equal(d.volumes.get('data')!.Labels![LABELS.object], 'PersistentVolumeClaim/data');
});

test('pull policies: Never needs the image, Always pulls even a present one, a claim from elsewhere must exist', async () => {
  const d = new FakeDaemon();
  const player = new KubePlayer(d.client(), d.backend(), quiet);
  const pod = (image: string, policy: string) =>
    planOf(
      `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: "${image}", imagePullPolicy: ${policy}}]\n`,
    );
  await assert.rejects(
    player.pull(pod('x:1', 'Never')),
    /image "x:1" is not present and its imagePullPolicy is "Never"/,
  );
  d.images.set('x:1', { User: '1000' });
  await player.pull(pod('x:1', 'Always'));
  assert.deepEqual(d.calls, ['pull x:1']);
  assert.equal((await player.pull(pod('x:1', 'IfNotPresent'))).get('x:1')!.User, '1000');
  assert.deepEqual(d.calls, ['pull x:1']);
  const claim = planOf(
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: v, persistentVolumeClaim: {claimName: gone}}]\n  containers: [{name: c, image: "x:1"}]\n',
  );
  await assert.rejects(player.apply(claim), /persistentvolumeclaim "gone" not found/);
});

test("a Job's containers are waited for and their exit codes reported", async () => {
  const d = new FakeDaemon();
  d.images.set('busybox:1.36', {});
  d.exitCode = 3;
  const player = new KubePlayer(d.client(), d.backend(), quiet);
  const r = await player.apply(
    planOf(
      'apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: "busybox:1.36"}]\n',
    ),
    { wait: true },
  );
  assert.deepEqual(r.exits, { 'j-pod-c': 3 });
});

test('image references split into repository and tag or digest', async () => {
  assert.deepEqual(splitReference('nginx'), { repo: 'nginx', tag: 'latest' });
  assert.deepEqual(splitReference('localhost:5000/a/b:1.2'), { repo: 'localhost:5000/a/b', tag: '1.2' });
  assert.deepEqual(splitReference('localhost:5000/a@sha256:abc'), { repo: 'localhost:5000/a', tag: 'sha256:abc' });
  assert.ok((await filesTar([])).length >= 1024);
});
