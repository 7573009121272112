import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parentInHierarchy, sharedCgroupParent } from './cgroup-share.ts';

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

test('an ordinary container shares its cgroup parent in cpuset and name=systemd', () => {
  assert.equal(sharedCgroupParent(spec()), '/berth');
  assert.equal(sharedCgroupParent(spec({ linux: { cgroupsPath: '/my/parent/abc' } })), '/my/parent');
});

test('a container keeps cgroups of its own there when it asks for a cpuset, is privileged, has a cgroup namespace or no parent', () => {
  assert.equal(sharedCgroupParent(spec({ linux: { resources: { cpu: { cpus: '0' } } } })), undefined);
  assert.equal(sharedCgroupParent(spec({ linux: { resources: { cpu: { mems: '0' } } } })), undefined);
  assert.equal(sharedCgroupParent(spec({ mountOptions: ['nosuid', 'noexec', 'nodev'] })), undefined, 'privileged: rw');
  assert.equal(sharedCgroupParent(spec({ linux: { namespaces: [{ type: 'cgroup' }] } })), undefined);
  assert.equal(sharedCgroupParent(spec({ linux: { cgroupsPath: '/abc' } })), undefined, 'at the root');
  assert.equal(sharedCgroupParent(spec({ linux: { cgroupsPath: 'system.slice:berth:abc' } })), undefined, 'systemd');
  assert.equal(sharedCgroupParent(spec({ linux: { cgroupsPath: '' } })), undefined);
  assert.equal(sharedCgroupParent({ linux: { cgroupsPath: '/berth/abc' } }), undefined, 'no cgroup mount');
});

test("an exec joins the parent of the container's directory", () => {
  assert.equal(parentInHierarchy('/sys/fs/cgroup/memory/berth/abc'), '/berth');
  assert.equal(parentInHierarchy('/sys/fs/cgroup/memory/a/b/abc'), '/a/b');
  assert.equal(parentInHierarchy('/sys/fs/cgroup/memory/abc'), undefined);
  assert.equal(parentInHierarchy(undefined), undefined);
});
