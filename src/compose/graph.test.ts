import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dependencyOrder, withDependencies } from './graph.ts';
import type { Service } from './model.ts';

const svc = (name: string, deps: string[] = [], extra: Partial<Service> = {}): Service => ({
  name,
  image: 'busybox',
  depends_on: Object.fromEntries(
    deps.map((d) => [d, { condition: 'service_started', restart: false, required: true }]),
  ),
  ...extra,
});

test('dependencies start first; ties by name', () => {
  const s = { web: svc('web', ['db', 'cache']), db: svc('db'), cache: svc('cache'), worker: svc('worker', ['db']) };
  assert.deepEqual(dependencyOrder(s), ['cache', 'db', 'web', 'worker']);
  assert.deepEqual(withDependencies(s, ['web']), ['cache', 'db', 'web']);
});

test('network_mode service: is a dependency', () => {
  const s = { a: svc('a', [], { network_mode: 'service:b' }), b: svc('b') };
  assert.deepEqual(dependencyOrder(s), ['b', 'a']);
});

test('a cycle is named', () => {
  const s = { a: svc('a', ['b']), b: svc('b', ['c']), c: svc('c', ['a']) };
  assert.throws(() => dependencyOrder(s), { message: 'dependency cycle detected: a -> b -> c -> a' });
});
