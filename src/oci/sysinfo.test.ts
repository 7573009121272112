import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { ALL_CAPABILITIES, capMask, cgroupVersion, hostCapabilities, hostDevices, parseCpuList } from './index.ts';

test('cgroupVersion: 2 only when /sys/fs/cgroup itself is cgroup2 (hybrid v1 is 1)', () => {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '));
  const root = mounts.filter((f) => f[1] === '/sys/fs/cgroup').at(-1);
  const want = root ? (root[2] === 'cgroup2' ? 2 : 1) : existsSync('/sys/fs/cgroup/cgroup.controllers') ? 2 : 1;
  assert.equal(cgroupVersion(), want);
});

test('hostCapabilities is this process bounding set', () => {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  const known = (1n << BigInt(ALL_CAPABILITIES.length)) - 1n;
  assert.equal(capMask(hostCapabilities()), (BigInt(`0x${m![1]}`) & known).toString(16).padStart(16, '0'));
});

test('hostDevices lists character and block nodes with their numbers, not /dev/console nor /dev/pts', () => {
  const devs = hostDevices();
  assert.deepEqual(
    (({ path, type, major, minor }) => ({ path, type, major, minor }))(devs.find((d) => d.path === '/dev/null')!),
    { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  );
  assert.ok(
    !devs.some((d) => d.path === '/dev/console' || d.path.startsWith('/dev/pts/') || d.path.startsWith('/dev/shm/')),
  );
  assert.equal(devs.find((d) => d.path === '/dev/null')!.fileMode, 0o666);
});

test('parseCpuList reads cpuset lists and refuses what is not one', () => {
  assert.deepEqual([...parseCpuList('0-2,5')!], [0, 1, 2, 5]);
  assert.deepEqual([...parseCpuList('3')!], [3]);
  for (const bad of ['', 'a', '2-1', '1,', '-1', '0-9999999']) assert.equal(parseCpuList(bad), undefined, bad);
});
