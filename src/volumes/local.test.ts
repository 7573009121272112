import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, existsSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHost } from '../host/testing.ts';
import { LocalDriver } from './index.ts';

const roots: string[] = [];
const tempRoot = () => {
  const r = mkdtempSync(join(tmpdir(), 'berth-vol-'));
  roots.push(r);
  return r;
};
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

test('a volume survives reopening; what a crash left half-made or half-removed is swept', async () => {
  const root = tempRoot();
  const host = new FakeHost();
  const d = await LocalDriver.open(root, host);
  await d.create('keep', {}, { a: 'b' });
  writeFileSync(join(d.path('keep'), 'f'), 'data');
  mkdirSync(join(root, '.new-0123', '_data'), { recursive: true });
  mkdirSync(join(root, '.gone-4567', '_data'), { recursive: true });
  const again = await LocalDriver.open(root, host);
  assert.deepEqual(
    again.list().map((v) => [v.Name, v.Labels]),
    [['keep', { a: 'b' }]],
  );
  assert.deepEqual(readdirSync(root), ['keep']);
  await again.remove('keep');
  assert.equal(existsSync(join(root, 'keep')), false);
  await assert.rejects(again.create('a', {}), /create a: volume name is too short/);
  await assert.rejects(again.create('a/b', {}), /invalid characters/);
  await assert.rejects(again.create('ok1', { type: 'none', o: 'bind' }), /missing required option: "device"/);
  await assert.rejects(again.create('ok1', { type: 'tmpfs' }), /missing required option: "device"/);
  await assert.rejects(again.create('ok1', { device: 'tmpfs' }), /missing required option: "type"/);
});

test('a tmpfs volume is mounted for its first user and unmounted after its last', async () => {
  const root = tempRoot();
  const host = new FakeHost();
  const d = await LocalDriver.open(root, host);
  await d.create('t1', { type: 'tmpfs', device: 'tmpfs', o: 'size=8m' });
  await d.mount('t1', 'c1');
  await d.mount('t1', 'c2');
  await d.unmount('t1', 'c1');
  assert.deepEqual(
    host.calls.map((c) => c.op),
    ['mount'],
  );
  assert.deepEqual(host.calls[0]!.args, ['tmpfs', 'tmpfs', d.path('t1'), ['size=8m']]);
  await d.unmount('t1', 'c2');
  assert.deepEqual(
    host.calls.map((c) => c.op),
    ['mount', 'unmount'],
  );
});

test('mounts and unmounts of one volume happen one after another, never interleaved', async () => {
  const root = tempRoot();
  const log: string[] = [];
  let mounted = 0;
  // A mount table the driver cannot see (as FakeHost's): only the order of calls tells.
  const slow = {
    async mount(_t: string, _s: string, target: string) {
      log.push('mount+');
      await new Promise((r) => setTimeout(r, 20));
      mounted++;
      log.push(`mount- ${mounted}`);
      void target;
    },
    async unmount() {
      log.push('unmount+');
      await new Promise((r) => setTimeout(r, 20));
      mounted--;
      log.push(`unmount- ${mounted}`);
    },
  };
  const d = await LocalDriver.open(root, slow);
  await d.create('t2', { type: 'tmpfs', device: 'tmpfs' });
  await Promise.all([d.mount('t2', 'c1'), d.mount('t2', 'c2')]);
  assert.deepEqual(log, ['mount+', 'mount- 1'], 'the second user joins the first mount');
  await Promise.all([d.unmount('t2', 'c1'), d.unmount('t2', 'c2'), d.mount('t2', 'c3')]);
  assert.deepEqual(
    log.slice(2),
    ['unmount+', 'unmount- 0', 'mount+', 'mount- 1'],
    'a start after the last release mounts anew, after the unmount finished',
  );
  await assert.rejects(d.remove('t2'), /remove t2: volume is in use/);
  await d.unmount('t2', 'c3');
  await d.remove('t2');
  assert.equal(mounted, 0);
});
