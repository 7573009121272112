import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PodListEntry } from '../../api/types/index.ts';
import { podFilter } from './filter.ts';

const entry = (name: string, status: string, ctrs: [string, string][], extra: Partial<PodListEntry> = {}) =>
  ({
    Cgroup: '/berth',
    Containers: ctrs.map(([Names, Status], i) => ({
      Names,
      Id: `${name}${i}`.padEnd(64, '0'),
      Status,
      RestartCount: 0,
    })),
    Created: '2026-12-07T09:00:00.000Z',
    Id: name.padEnd(64, 'f'),
    InfraId: '',
    Name: name,
    Namespace: '',
    Networks: ['bridge'],
    Status: status,
    Labels: {},
    ...extra,
  }) satisfies PodListEntry;

const web = entry(
  'web',
  'Running',
  [
    ['web-infra', 'running'],
    ['web-httpd', 'running'],
    ['web-job', 'exited'],
  ],
  { Labels: { tier: 'front' } },
);
const idle = entry('idle', 'Created', [['idle-infra', 'created']], {
  Networks: [],
  Created: '2026-12-07T10:00:00.000Z',
});
const deps = {
  matchLabel: (labels: Record<string, string>, f: string) => {
    const [k, v] = f.split('=');
    return v === undefined ? k! in labels : labels[k!] === v;
  },
  parseUntil: (v: string) => Date.parse(v) * 1e6,
};
const names = (f: Record<string, string[]>) => [web, idle].filter(podFilter(f, deps)).map((p) => p.Name);

test("pod filters match any member by name, ID and status, and count the infra among the containers, as Podman's words say", () => {
  assert.deepEqual(names({ 'ctr-names': ['^web-job$'] }), ['web']);
  assert.deepEqual(names({ 'ctr-ids': ['^idle0'] }), ['idle']);
  assert.deepEqual(names({ 'ctr-status': ['exited'] }), ['web']);
  assert.deepEqual(names({ 'ctr-status': ['stopped'] }), ['web'], 'stopped is exited');
  assert.deepEqual(names({ 'ctr-number': ['1', '2'] }), ['idle']);
  assert.deepEqual(names({ 'ctr-number': ['3'] }), ['web']);
});

test('pod filters by status, label, network, name and until combine with and, their values with or', () => {
  assert.deepEqual(names({ status: ['running', 'created'] }), ['web', 'idle']);
  assert.deepEqual(names({ status: ['created'], name: ['^w'] }), []);
  assert.deepEqual(names({ label: ['tier=front'] }), ['web']);
  assert.deepEqual(names({ network: ['bridge'] }), ['web']);
  assert.deepEqual(names({ until: ['2026-12-07T09:30:00Z'] }), ['web']);
  assert.deepEqual(names({ id: ['^idle'] }), ['idle']);
});

test('a pod filter or value Podman does not know is refused with its words', () => {
  assert.throws(() => podFilter({ size: ['1'] }, deps), { message: 'size is an invalid filter' });
  assert.throws(() => podFilter({ status: ['up'] }, deps), /up is not a valid pod status/);
  assert.throws(() => podFilter({ 'ctr-status': ['up'] }, deps), /up is not a valid status/);
  assert.throws(() => podFilter({ 'ctr-number': ['two'] }, deps), /ctr-number=two/);
  assert.throws(() => podFilter({ name: ['('] }, deps), /invalid filter "name=\("/);
});
