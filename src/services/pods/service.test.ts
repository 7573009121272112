import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MetadataDb } from '../../metadata/index.ts';
import { openTestService, type TestService } from '../containers/testing.ts';
import { PodService } from './service.ts';
import { PodStore } from './store.ts';
import { POD_LABELS } from './types.ts';

async function open(t: {
  after(fn: () => Promise<void>): void;
}): Promise<{ s: TestService; pods: PodService; db: MetadataDb }> {
  const s = await openTestService();
  const db = new MetadataDb(join(s.dir, 'pods.db'));
  const pods = new PodService({
    db,
    containers: s.svc,
    events: s.events,
    infraImage: { ensure: async () => 'busybox' },
  });
  s.runtime.program = (args) => {
    if (args[0] === 'init-ok') return { exitAfterMs: 30, exitCode: 0 };
    if (args[0] === 'init-fail') return { exitAfterMs: 10, exitCode: 3 };
    return {};
  };
  t.after(async () => {
    db.close();
    await s.close();
  });
  return { s, pods, db };
}

test('a pod is an infra container and members joined to its namespaces; start runs the infra, then the members', async (t) => {
  const { s, pods } = await open(t);
  const seen: string[] = [];
  s.events.subscribe((e) => e.Type === 'pod' && seen.push(e.Action));
  const { Id } = await pods.create({ name: 'web', labels: { app: 'x' } });
  const pod = pods.inspect('web');
  assert.equal(pod.Id, Id);
  assert.equal(pod.State, 'Created');
  assert.equal(pod.Hostname, 'web');
  const infra = s.svc.get(pod.InfraContainerID);
  assert.equal(infra.Config.Labels?.[POD_LABELS.infra], 'true');
  const m = await pods.createMember('web', { Image: 'busybox', Cmd: ['sleep'] }, 'web-a');
  const member = s.svc.get(m.Id);
  assert.equal(member.HostConfig.NetworkMode, `container:${infra.Id}`);
  assert.equal(member.HostConfig.IpcMode, `container:${infra.Id}`);
  assert.equal(member.Config.Hostname, 'web');
  assert.equal(member.Config.Labels?.[POD_LABELS.name], 'web');
  await pods.start('web');
  assert.ok(infra.State.Running && member.State.Running);
  assert.ok(Date.parse(infra.State.StartedAt) <= Date.parse(member.State.StartedAt));
  assert.equal(pods.inspect('web').State, 'Running');
  assert.equal(pods.list()[0]!.Containers.length, 2);
  await assert.rejects(pods.start('web'), (e: Error & { category?: string }) => e.category === 'NotModified');
  await pods.stop('web', { timeout: 1 });
  assert.equal(pods.inspect('web').State, 'Exited');
  await pods.remove('web');
  assert.equal(pods.exists('web'), false);
  assert.equal(s.svc.exists(infra.Id) || s.svc.exists(member.Id), false);
  assert.deepEqual(seen, ['create', 'start', 'stop', 'remove']);
});

test("the pod's start runs its init containers one at a time, in order, to a zero exit, before the others", async (t) => {
  const { s, pods } = await open(t);
  await pods.create({ name: 'p' });
  const i1 = (await pods.createMember('p', { Image: 'busybox', Cmd: ['init-ok', '1'] }, 'p-i1', { init: true })).Id;
  const i2 = (await pods.createMember('p', { Image: 'busybox', Cmd: ['init-ok', '2'] }, 'p-i2', { init: true })).Id;
  const app = (await pods.createMember('p', { Image: 'busybox', Cmd: ['sleep'] }, 'p-app')).Id;
  await pods.start('p');
  const [a, b, c] = [s.svc.get(i1), s.svc.get(i2), s.svc.get(app)];
  assert.equal(a.State.ExitCode, 0);
  assert.ok(Date.parse(a.State.FinishedAt) <= Date.parse(b.State.StartedAt), 'the second init after the first');
  assert.ok(Date.parse(b.State.FinishedAt) <= Date.parse(c.State.StartedAt), 'the app after the inits');
  assert.equal(pods.inspect('p').State, 'Running', 'init containers that exited 0 do not degrade the pod');

  await pods.create({ name: 'q' });
  await pods.createMember('q', { Image: 'busybox', Cmd: ['init-fail'] }, 'q-init', { init: true });
  const never = (await pods.createMember('q', { Image: 'busybox', Cmd: ['sleep'] }, 'q-app')).Id;
  const r = await pods.start('q');
  assert.deepEqual(r.Errs, ['init container "q-init" exited with code 3']);
  assert.equal(s.svc.get(never).State.Status, 'created');
});

test("a member's own start starts its pod's infra first; the infra is not removed alone, nor pruned", async (t) => {
  const { s, pods } = await open(t);
  await pods.create({ name: 'p' });
  const infra = pods.inspect('p').InfraContainerID;
  const id = (await pods.createMember('p', { Image: 'busybox', Cmd: ['sleep'] })).Id;
  await s.svc.start(id);
  assert.ok(s.svc.get(infra).State.Running);
  await assert.rejects(
    s.svc.remove(infra, { force: true }),
    /it is the infra container of pod "p" and cannot be removed without removing the pod/,
  );
  await assert.rejects(pods.remove('p'), /pod has running containers: stop it first or use force/);
  await pods.stop('p', { timeout: 1 });
  const pruned = await s.svc.prune();
  assert.ok(!(pruned.ContainersDeleted ?? []).includes(infra));
  assert.deepEqual(
    pods.inspect('p').Containers.map((c) => c.Id),
    [infra],
    'container prune takes the stopped member, not the infra',
  );
  const podId = pods.inspect('p').Id;
  assert.deepEqual(await pods.prune(), [{ Id: podId }]);
  assert.equal(s.svc.exists(infra), false);
});

test('pods are kept in the metadata database: a new store reads them back', async (t) => {
  const { pods, db } = await open(t);
  const { Id } = await pods.create({
    name: 'kept',
    labels: { a: 'b' },
    annotations: { 'io.kubernetes.pod.uid': 'u1' },
    portmappings: [{ container_port: 80, host_port: 8080 }],
  });
  const again = new PodStore(db).get('kept');
  assert.equal(again.Id, Id);
  assert.deepEqual(again.Labels, { a: 'b' });
  assert.deepEqual(pods.inspect('kept').Annotations, { 'io.kubernetes.pod.uid': 'u1' });
  assert.deepEqual(again.PortMappings, [{ container_port: 80, host_port: 8080 }]);
  await assert.rejects(pods.create({ name: 'kept' }), /name is in use/);
});
