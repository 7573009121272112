import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimeHandlers } from './runtime.ts';

test("UpdateRuntimeConfig takes kubelet's pod CIDR, as containerd does without a CNI template, and Status shows it", async () => {
  const h = runtimeHandlers({ version: '0.1.0', config: () => ({ dataRoot: '/var/lib/berth' }) });
  const signal = new AbortController().signal;
  const status = async () =>
    JSON.parse(
      ((await h.Status!({ verbose: true }, signal)) as { info: Record<string, string> }).info.config!,
    ) as Record<string, unknown>;
  assert.equal((await status()).podCIDR, undefined);
  assert.deepEqual(
    await h.UpdateRuntimeConfig!({ runtime_config: { network_config: { pod_cidr: '10.244.1.0/24' } } }, signal),
    {},
  );
  assert.equal((await status()).podCIDR, '10.244.1.0/24');
  assert.deepEqual(
    await h.UpdateRuntimeConfig!({ runtime_config: null }, signal),
    {},
    'an empty update changes nothing',
  );
  assert.equal((await status()).podCIDR, '10.244.1.0/24');
  await assert.rejects(
    h.UpdateRuntimeConfig!({ runtime_config: { network_config: { pod_cidr: 'ten.0/8' } } }, signal),
    /invalid pod CIDR "ten.0\/8"/,
  );
});
