import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cgroupPathsOf,
  cgroupPids,
  ownsPidNamespace,
  parseCrunStatus,
  readStateFile,
  specOwnsPidNamespace,
} from './state.ts';

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

test("crun's spec: its own PID namespace or another's, read from the spec's namespaces alone", () => {
  const own = spec([{ type: 'mount' }, { type: 'pid' }, { type: 'network', path: '/proc/9/ns/net' }]);
  assert.equal(specOwnsPidNamespace(own), true);
  assert.equal(specOwnsPidNamespace(spec([{ type: 'mount' }, { type: 'pid', path: '/proc/9/ns/pid' }])), false);
  assert.equal(specOwnsPidNamespace(spec([{ type: 'mount' }])), false);
  // A spec that cannot be cut (no namespaces array) is parsed whole.
  assert.equal(specOwnsPidNamespace('{}'), false);
  const s = parseCrunStatus('c1', status, false);
  assert.equal(s.pid, 42);
  assert.equal(s.cgroupPaths.memory, '/sys/fs/cgroup/memory/berth/c1');
});

test("crun's state is read without its spec copy, which is read once, when a kill asks for the pid namespace", async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-state-'));
  try {
    mkdirSync(join(root, 'c1'));
    writeFileSync(join(root, 'c1', 'status'), status);
    const s = (await readStateFile(root, 'c1'))!;
    assert.equal(s.pid, 42);
    assert.equal(s.ownPidNamespace, undefined);
    writeFileSync(join(root, 'c1', 'config.json'), spec([{ type: 'pid' }]));
    assert.equal(await ownsPidNamespace(root, s), true);
    // Remembered: the spec is not read again.
    rmSync(join(root, 'c1', 'config.json'));
    assert.equal(await ownsPidNamespace(root, s), true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a container's cgroup directories are those path.join gives, for v1's controllers and v2's unified tree", () => {
  for (const cg of ['/berth/c1', 'berth/c1', '/berth//c1/', '/a/./b/../c', '/', 'x']) {
    const v1 = cgroupPathsOf(cg, false);
    assert.deepEqual(Object.keys(v1), ['freezer', 'memory', 'pids', 'cpu', 'cpuacct', 'blkio', 'devices', 'cpuset']);
    for (const [c, dir] of Object.entries(v1)) assert.equal(dir, join('/sys/fs/cgroup', c, cg), `${c} of ${cg}`);
    assert.deepEqual(cgroupPathsOf(cg, true), { '': join('/sys/fs/cgroup', cg) }, cg);
  }
  assert.deepEqual(cgroupPathsOf('', false), {});
});

test('cgroupPids lists the processes of the cgroup and those beneath it, from the pids hierarchy', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-cgpids-'));
  try {
    const pids = join(root, 'pids', 'berth', 'c1');
    mkdirSync(join(pids, 'inner'), { recursive: true });
    writeFileSync(join(pids, 'cgroup.procs'), '10\n11\n');
    writeFileSync(join(pids, 'inner', 'cgroup.procs'), '12\n');
    // cpuset is shared (cgroup-share.ts): its list holds other containers' processes, never read.
    mkdirSync(join(root, 'cpuset', 'berth'), { recursive: true });
    writeFileSync(join(root, 'cpuset', 'berth', 'cgroup.procs'), '99\n');
    const listed = await cgroupPids({ cpuset: join(root, 'cpuset', 'berth'), pids });
    assert.deepEqual(
      listed?.sort((a, b) => a - b),
      [10, 11, 12],
    );
    assert.equal(await cgroupPids({ pids: join(root, 'pids', 'gone') }), undefined, 'a cgroup gone');
    assert.equal(await cgroupPids({}), undefined, 'no cgroup named');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
