import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventMessage } from '../api/types/index.ts';
import { criEventType, nanoCores, networkUsage, workingSet } from './stats.ts';

test("working set is usage less inactive file pages, as kubelet's summary counts it", () => {
  assert.equal(workingSet({ usage: 1000, stats: { inactive_file: 300 } }), 700);
  assert.equal(workingSet({ usage: 1000, stats: { total_inactive_file: 1200 } }), 0);
  assert.equal(workingSet(undefined), 0);
});

test('the CPU rate in nanocores is the usage since the reading before, over the time between', () => {
  assert.equal(nanoCores(undefined, 10n, 5n), 0n);
  // Half a core: 0.5 s of CPU in 1 s.
  assert.equal(nanoCores({ at: 1_000_000_000n, usage: 0n }, 2_000_000_000n, 500_000_000n), 500_000_000n);
  assert.equal(nanoCores({ at: 5n, usage: 10n }, 5n, 20n), 0n);
});

test("Berth's container events as the CRI's: create, start, die, destroy; nothing else", () => {
  const e = (Action: string, Type: EventMessage['Type'] = 'container') => ({ Type, Action }) as EventMessage;
  assert.equal(criEventType(e('create')), 'CONTAINER_CREATED_EVENT');
  assert.equal(criEventType(e('start')), 'CONTAINER_STARTED_EVENT');
  assert.equal(criEventType(e('die')), 'CONTAINER_STOPPED_EVENT');
  assert.equal(criEventType(e('destroy')), 'CONTAINER_DELETED_EVENT');
  assert.equal(criEventType(e('exec_start')), undefined);
  assert.equal(criEventType(e('create', 'image')), undefined);
});

test("a sandbox's network usage from its infra's interface counters: eth0 the default, every interface listed", () => {
  const c = { rx_bytes: 9218, rx_errors: 1, tx_bytes: 1506, tx_errors: 2 };
  const u = networkUsage(5n, { net1: { ...c, rx_bytes: 1 }, eth0: c });
  assert.equal(u.timestamp, '5');
  assert.deepEqual(u.default_interface, {
    name: 'eth0',
    rx_bytes: { value: '9218' },
    rx_errors: { value: '1' },
    tx_bytes: { value: '1506' },
    tx_errors: { value: '2' },
  });
  assert.deepEqual(
    u.interfaces.map((i) => i.name),
    ['net1', 'eth0'],
  );
  assert.equal(networkUsage(5n, {}).default_interface, null);
});
