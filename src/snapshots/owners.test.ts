import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDMOUNT_HELPER } from '../host/index.ts';
import { FakeHost } from '../host/testing.ts';
import { idMapOf } from '../spec/index.ts';
import { openLayerOwners } from './owners.ts';

const map = idMapOf([{ start: 100000, count: 65536 }], [{ start: 100000, count: 65536 }]);

function store(): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-owners-'));
  mkdirSync(join(root, 'layers'));
  return root;
}

test('with idmapped layers turned off a new store is shifted, and says so for good', async () => {
  const root = store();
  const host = new FakeHost();
  assert.deepEqual(await openLayerOwners(host, root, map, false), {
    owners: 'shifted',
    reason: 'BERTH_USERNS_IDMAP=0',
  });
  assert.equal(readFileSync(join(root, 'layer-owners'), 'utf8'), 'shifted\n');
  assert.deepEqual(host.calls, [], 'nothing probed');
  // Turned back on, the store stays as it was made: its layers are shifted.
  assert.equal((await openLayerOwners(host, root, map, true)).owners, 'shifted');
  rmSync(root, { recursive: true });
});

test('a store with layers from before the record is shifted, without a probe', async () => {
  const root = store();
  mkdirSync(join(root, 'layers', 'abc'));
  const host = new FakeHost();
  assert.equal((await openLayerOwners(host, root, map, true)).owners, 'shifted');
  assert.deepEqual(host.calls, []);
  rmSync(root, { recursive: true });
});

test('a probe whose mount does not show the mapped owner leaves the store shifted, and the probe leaves nothing', async () => {
  const root = store();
  // A mount that is not idmapped: the probe's file is seen with its own owner.
  const host = new FakeHost();
  host.responses.set(IDMOUNT_HELPER, (args) => {
    writeFileSync(join(args.at(-1)!, 'f'), '');
    return { code: 0, stdout: '', stderr: '' };
  });
  const r = await openLayerOwners(host, root, map, true);
  assert.equal(r.owners, 'shifted');
  assert.match(r.reason, /shows as \d+:\d+, not 100000:100000/);
  assert.equal(host.calls[0]!.op, 'run');
  assert.deepEqual((host.calls.at(-1)!.args[0] as string).split('/').at(-1), 'merged', 'the probe mount is undone');
  assert.deepEqual(readdirSync(root).sort(), ['layer-owners', 'layers']);
  rmSync(root, { recursive: true });
});

test('a store of idmapped layers is refused when idmapped mounts are turned off', async () => {
  const root = store();
  writeFileSync(join(root, 'layer-owners'), 'idmapped\n');
  await assert.rejects(
    openLayerOwners(new FakeHost(), root, map, false),
    /unpacked for idmapped mounts, which cannot be used: turned off/,
  );
  rmSync(root, { recursive: true });
});

test('what an interrupted probe left is unmounted and removed at the next open', async () => {
  const root = store();
  writeFileSync(join(root, 'layer-owners'), 'shifted\n');
  mkdirSync(join(root, 'probe-0123456789ab', 'merged'), { recursive: true });
  const host = new FakeHost();
  await openLayerOwners(host, root, map, true);
  assert.deepEqual(host.calls, [{ op: 'unmount', args: [join(root, 'probe-0123456789ab', 'merged')] }]);
  assert.deepEqual(readdirSync(root).sort(), ['layer-owners', 'layers']);
  rmSync(root, { recursive: true });
});
