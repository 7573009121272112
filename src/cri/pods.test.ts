import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakePodNetworking } from '../cni/testing.ts';
import { CriPods } from './pods.ts';

test('at start, the CNI networks of sandboxes that are gone are torn down; those of sandboxes still here are kept', async () => {
  const networking = new FakePodNetworking();
  for (const id of ['a'.repeat(64), 'b'.repeat(64)])
    await networking.setUp({
      containerId: id,
      netnsPath: `/proc/1/ns/net`,
      podName: 'p',
      podNamespace: 'default',
      podUid: 'u',
    });
  // Only sandbox "a" is still a pod here (the pods service stands in with what the lookup reads).
  const pod = { Id: 'a'.repeat(64), Annotations: { 'io.berth.cri': JSON.stringify({ metadata: { name: 'p' } }) } };
  const pods = {
    store: { find: (id: string) => (pod.Id.startsWith(id) ? pod : undefined), all: () => [pod] },
    parts: () => ({ pod, infra: undefined, members: [] }),
  };
  const cri = new CriPods({ pods: pods as never, containers: {} as never, oomScoreFloor: 0, networking });
  assert.deepEqual(await cri.reapNetworks(), ['b'.repeat(64)]);
  assert.deepEqual([...networking.attached.keys()], ['a'.repeat(64)]);
  assert.deepEqual(await cri.reapNetworks(), [], 'nothing left to reap');
});
