import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostConfig } from '../../api/types/index.ts';
import { checkUpdateRequest, updatedHostConfig } from './update.ts';

test('an update changes the limits it names and the restart policy, and leaves the rest', () => {
  const before: HostConfig = {
    Memory: 64 << 20,
    CpuShares: 512,
    Privileged: true,
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
  };
  const after = updatedHostConfig(before, {
    CpuShares: 1024,
    RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
  });
  assert.equal(after.CpuShares, 1024);
  assert.equal(after.Memory, 64 << 20);
  assert.equal(after.Privileged, true);
  assert.deepEqual(after.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(before.CpuShares, 512, 'the record is not touched');
});

test('what Docker refuses: a restart policy with --rm, a memory limit above the swap limit, a request that is no object', () => {
  assert.throws(
    () => updatedHostConfig({ AutoRemove: true }, { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }),
    /Restart policy cannot be updated because AutoRemove is enabled/,
  );
  assert.throws(
    () => updatedHostConfig({ Memory: 32 << 20, MemorySwap: 64 << 20 }, { Memory: 128 << 20 }),
    /Memory limit should be smaller than already set memoryswap limit/,
  );
  assert.throws(() => checkUpdateRequest([] as never), /expected a JSON object/);
});
