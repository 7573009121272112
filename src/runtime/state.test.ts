import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCrunStatus } from './state.ts';

const status = JSON.stringify({
  pid: 42,
  'process-start-time': 7,
  'cgroup-path': '/berth/c1',
  bundle: '/b',
  created: '2026-12-06T00:00:00Z',
});
const spec = (namespaces: object[]) =>
  JSON.stringify({
    ociVersion: '1.0.2',
    process: { args: ['sh'], env: ['A=[1]'] },
    linux: { namespaces, seccomp: { syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] } },
  });

test("crun's status: its own PID namespace or another's, read from the spec's namespaces alone", () => {
  const own = parseCrunStatus(
    'c1',
    status,
    spec([{ type: 'mount' }, { type: 'pid' }, { type: 'network', path: '/proc/9/ns/net' }]),
    false,
  );
  assert.equal(own.ownPidNamespace, true);
  assert.equal(own.pid, 42);
  assert.equal(own.cgroupPaths.memory, '/sys/fs/cgroup/memory/berth/c1');
  const joined = parseCrunStatus(
    'c1',
    status,
    spec([{ type: 'mount' }, { type: 'pid', path: '/proc/9/ns/pid' }]),
    false,
  );
  assert.equal(joined.ownPidNamespace, false);
  const none = parseCrunStatus('c1', status, spec([{ type: 'mount' }]), false);
  assert.equal(none.ownPidNamespace, false);
  // A spec that cannot be cut (no namespaces array) is parsed whole.
  assert.equal(parseCrunStatus('c1', status, '{}', false).ownPidNamespace, false);
});
