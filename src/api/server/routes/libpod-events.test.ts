import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventMessage } from '../../../api/types/index.ts';
import { libpodEvent } from './libpod-events.ts';

const ev = (
  Type: EventMessage['Type'],
  Action: string,
  ID: string,
  Attributes: Record<string, string> = {},
): EventMessage => ({
  Type,
  Action,
  Actor: { ID, Attributes },
  scope: 'local',
  time: 1,
  timeNano: 1_000_000_000,
});

test("a container's death is Libpod's died, its exit code in containerExitCode and its pod in podId", () => {
  const e = libpodEvent(
    ev('container', 'die', 'c1', { image: 'busybox', name: 'web', exitCode: '3', 'io.berth.pod.id': 'p1' }),
  )!;
  assert.equal(e.Action, 'died');
  assert.equal(e.status, 'died');
  assert.deepEqual(e.Actor, {
    ID: 'c1',
    Attributes: { image: 'busybox', name: 'web', 'io.berth.pod.id': 'p1', podId: 'p1', containerExitCode: '3' },
  });
});

test('every event Podman gets carries image, name and a containerExitCode, which its client needs', () => {
  const e = libpodEvent(ev('pod', 'create', 'p1', { name: 'web' }))!;
  assert.deepEqual(e.Actor.Attributes, { name: 'web', image: '', podId: '', containerExitCode: '0' });
  assert.equal(e.Type, 'pod');
});

test("Docker's words become Libpod's: destroy is remove, load is loadfromarchive, exec_start is exec, health_status keeps its status apart", () => {
  assert.equal(libpodEvent(ev('container', 'destroy', 'c1'))!.Action, 'remove');
  assert.equal(libpodEvent(ev('image', 'delete', 'sha256:1'))!.Action, 'remove');
  assert.equal(libpodEvent(ev('image', 'load', 'busybox'))!.Action, 'loadfromarchive');
  assert.equal(libpodEvent(ev('container', 'exec_start: sh -c true', 'c1'))!.Action, 'exec');
  const h = libpodEvent(ev('container', 'health_status: healthy', 'c1'))!;
  assert.deepEqual([h.Action, h.HealthStatus], ['health_status', 'healthy']);
});

test('events Libpod has no word for are left out (Podman 4.3 fails on them)', () => {
  for (const [type, action] of [
    ['container', 'oom'],
    ['container', 'exec_create: sh'],
    ['container', 'resize'],
    ['daemon', 'reload'],
    ['builder', 'prune'],
  ] as const)
    assert.equal(libpodEvent(ev(type, action, 'x')), undefined, `${type} ${action}`);
});

test("a network connect is the container's event naming the network, as Libpod logs it", () => {
  const e = libpodEvent(ev('network', 'connect', 'n1', { container: 'c1', name: 'podnet', type: 'bridge' }))!;
  assert.equal(e.Actor.ID, 'c1');
  assert.equal(e.Actor.Attributes.network, 'podnet');
  assert.equal(e.Actor.Attributes.driver, 'bridge');
});
