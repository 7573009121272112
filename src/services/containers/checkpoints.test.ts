/**
 * Checkpoints over the fake runtime: what the service asks of the runtime, where checkpoints
 * live, and what it refuses (a stopped container, a runtime that cannot, a name taken).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openTestService, until } from './testing.ts';

test('a checkpoint stops the container, is listed, and a start with it restores instead of starting afresh', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  const id = await s.create(['counter']);
  await s.svc.start(id);
  await s.svc.checkpoints.create(id, { CheckpointID: 'cp1' });
  await until('the exit', () => !s.svc.get(id).State.Running);
  assert.ok(existsSync(join(s.svc.dir(id), 'checkpoints', 'cp1', 'fake-checkpoint.json')));
  assert.deepEqual(await s.svc.checkpoints.list(id), [{ Name: 'cp1' }]);
  await s.svc.start(id, { checkpoint: 'cp1' });
  assert.equal(s.svc.get(id).State.Running, true);
  const restored = s.runtime.calls.filter((c) => c.id === id).map((c) => c.op);
  assert.equal(restored.at(-1), 'restore', 'restored, and not started after');
  assert.ok(s.actions(id).includes('checkpoint'));
  await s.svc.checkpoints.remove(id, 'cp1');
  assert.deepEqual(await s.svc.checkpoints.list(id), []);
});

test('--leave-running keeps the container running', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  const id = await s.create(['counter']);
  await s.svc.start(id);
  await s.svc.checkpoints.create(id, { CheckpointID: 'keep', Exit: false });
  assert.equal(s.svc.get(id).State.Running, true);
});

test('refusals: a container not running, a runtime that cannot (with its reason), a name taken or malformed, a checkpoint not there', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  const id = await s.create(['counter']);
  await assert.rejects(s.svc.checkpoints.create(id, { CheckpointID: 'cp1' }), /is not running/);
  await s.svc.start(id);
  await s.svc.checkpoints.create(id, { CheckpointID: 'cp1', Exit: false });
  await assert.rejects(
    s.svc.checkpoints.create(id, { CheckpointID: 'cp1' }),
    /checkpoint with name cp1 already exists/,
  );
  await assert.rejects(s.svc.checkpoints.create(id, { CheckpointID: '../x' }), /invalid checkpoint ID/);
  s.runtime.checkpointRefusal = 'CRIU 3.17.1 cannot checkpoint on kernel 6.18';
  await assert.rejects(s.svc.checkpoints.create(id, { CheckpointID: 'cp2' }), (e: Error) =>
    /cannot checkpoint container .* \(runtime fake\): CRIU 3\.17\.1/.test(e.message),
  );
  await assert.rejects(s.svc.start(id, { checkpoint: 'nope' }), /checkpoint nope does not exist/);
  await assert.rejects(s.svc.checkpoints.remove(id, 'nope'), /checkpoint nope does not exist/);
});
