import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindCgroupMounts, cgroupCopy, sharedBeside, sharedCgroup } from './cgroup-share.ts';

const spec = (over: { linux?: object; mountOptions?: string[] } = {}) => ({
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: over.mountOptions ?? ['ro', 'nosuid', 'noexec', 'nodev'],
    },
  ],
  linux: { cgroupsPath: '/berth/abc', namespaces: [{ type: 'pid' }, { type: 'mount' }], ...over.linux },
});

test('an ordinary container shares one directory under its cgroup parent in cpuset and name=systemd', () => {
  assert.equal(sharedCgroup(spec()), '/berth/berth-shared');
  assert.equal(sharedCgroup(spec({ linux: { cgroupsPath: '/my/parent/abc' } })), '/my/parent/berth-shared');
});

test('a container in a user namespace shares them too, and crun is told to leave a view of proc for its own', () => {
  const userns = spec({ linux: { namespaces: [{ type: 'pid' }, { type: 'user' }] } });
  assert.equal(sharedCgroup(userns), '/berth/berth-shared');
  assert.equal(cgroupCopy(userns), 'userns');
  assert.equal(cgroupCopy(spec()), '1');
});

test('a container keeps cgroups of its own there when it asks for a cpuset, is privileged, has a cgroup namespace or no parent', () => {
  assert.equal(sharedCgroup(spec({ linux: { resources: { cpu: { cpus: '0' } } } })), undefined);
  assert.equal(sharedCgroup(spec({ linux: { resources: { cpu: { mems: '0' } } } })), undefined);
  assert.equal(sharedCgroup(spec({ mountOptions: ['nosuid', 'noexec', 'nodev'] })), undefined, 'privileged: rw');
  assert.equal(sharedCgroup(spec({ linux: { namespaces: [{ type: 'cgroup' }] } })), undefined);
  assert.equal(sharedCgroup(spec({ linux: { cgroupsPath: '/abc' } })), undefined, 'at the root');
  assert.equal(sharedCgroup(spec({ linux: { cgroupsPath: 'system.slice:berth:abc' } })), undefined, 'systemd');
  assert.equal(sharedCgroup(spec({ linux: { cgroupsPath: '' } })), undefined);
  assert.equal(sharedCgroup({ linux: { cgroupsPath: '/berth/abc' } }), undefined, 'no cgroup mount');
});

test("an exec joins the shared directory beside the container's own", () => {
  assert.equal(sharedBeside('/sys/fs/cgroup/memory/berth/abc'), '/berth/berth-shared');
  assert.equal(sharedBeside('/sys/fs/cgroup/memory/a/b/abc'), '/a/b/berth-shared');
  assert.equal(sharedBeside('/sys/fs/cgroup/memory/abc'), undefined);
  assert.equal(sharedBeside(undefined), undefined);
});

test("the cgroup mount becomes binds: the shared tree, then each hierarchy's directory of the container (or the parent it shares)", () => {
  const s = spec();
  assert.equal(
    bindCgroupMounts(
      s,
      { at: '/run/berth/cgroup', hierarchies: ['cpu', 'memory', 'cpuset', 'systemd'] },
      '/berth/berth-shared',
    ),
    true,
  );
  const ro = ['bind', 'ro', 'nosuid', 'noexec', 'nodev'];
  assert.deepEqual(s.mounts.slice(1), [
    { destination: '/sys/fs/cgroup', type: 'bind', source: '/run/berth/cgroup', options: ro },
    { destination: '/sys/fs/cgroup/cpu', type: 'bind', source: '/sys/fs/cgroup/cpu/berth/abc', options: ro },
    { destination: '/sys/fs/cgroup/memory', type: 'bind', source: '/sys/fs/cgroup/memory/berth/abc', options: ro },
    {
      destination: '/sys/fs/cgroup/cpuset',
      type: 'bind',
      source: '/sys/fs/cgroup/cpuset/berth/berth-shared',
      options: ro,
    },
    {
      destination: '/sys/fs/cgroup/systemd',
      type: 'bind',
      source: '/sys/fs/cgroup/systemd/berth/berth-shared',
      options: ro,
    },
  ]);
  const own = spec({ linux: { resources: { cpu: { cpus: '0' } } } });
  assert.equal(bindCgroupMounts(own, { at: '/t', hierarchies: ['cpuset'] }, undefined), true);
  assert.equal(own.mounts[2]!.source, '/sys/fs/cgroup/cpuset/berth/abc', 'its own cpuset when it does not share');
});

test("a privileged or cgroup-namespaced container keeps crun's cgroup mount", () => {
  for (const s of [spec({ mountOptions: ['nosuid'] }), spec({ linux: { namespaces: [{ type: 'cgroup' }] } })]) {
    const before = JSON.stringify(s);
    assert.equal(bindCgroupMounts(s, { at: '/t', hierarchies: ['memory'] }, undefined), false);
    assert.equal(JSON.stringify(s), before);
  }
});
