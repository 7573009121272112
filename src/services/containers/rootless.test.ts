import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRootless } from './rootless.ts';

test('rootless berthd on cgroup v1 refuses a limit, naming the flag, instead of dropping it', () => {
  assert.throws(
    () => checkRootless({ Memory: 64 << 20 }, 1),
    /rootless berthd cannot set --memory: on cgroup v1 an unprivileged user has no cgroup of its own/,
  );
  assert.throws(() => checkRootless({ PidsLimit: 100 }, 1), /--pids-limit/);
  assert.throws(() => checkRootless({ NanoCpus: 5e8 }, 2), /--cpus: cgroup v2 delegation is not used/);
});

test('rootless berthd runs a container that asks for no limit (zero and -1 mean none)', () => {
  checkRootless({}, 1);
  checkRootless({ Memory: 0, MemorySwap: -1, PidsLimit: -1, CpusetCpus: '' }, 1);
});
