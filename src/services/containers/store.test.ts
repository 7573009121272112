import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataDb } from '../../metadata/index.ts';
import { ContainerStore } from './store.ts';
import type { ContainerRecord } from './types.ts';

const record = (id: string, name: string) =>
  ({ Id: id, Name: name, Image: 'sha256:i', Created: '2026-12-07T00:00:00Z', State: {} }) as unknown as ContainerRecord;
const id = (head: string) => head.padEnd(64, '0');

test('a container is found by its full ID, its name, its short ID and any unique prefix, after a reload too', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = new MetadataDb(join(dir, 'm.db'));
  t.after(() => db.close());
  const store = new ContainerStore(db);
  // Two IDs alike in their first twelve characters, and one alike in its first three.
  const a = id('abcdef1234561'),
    b = id('abcdef1234562'),
    c = id('abc9');
  for (const [i, x] of [a, b, c].entries()) store.insert(record(x, `c${i}`));
  for (const s of [store, new ContainerStore(db)]) {
    assert.equal(s.find(a)?.Name, 'c0');
    assert.equal(s.find('c1')?.Id, b);
    assert.equal(s.find('/c1')?.Id, b);
    assert.equal(s.find(a.slice(0, 13))?.Name, 'c0');
    assert.equal(s.find(c.slice(0, 12))?.Name, 'c2');
    assert.equal(s.find('abc9')?.Name, 'c2');
    assert.throws(() => s.find(a.slice(0, 12)), /multiple IDs found with provided prefix/);
    assert.throws(() => s.find('abc'), /multiple IDs found/);
    assert.equal(s.find('fff'), undefined);
    assert.equal(s.find(id('f').slice(0, 12)), undefined);
  }
  store.delete(b);
  assert.equal(store.find(a.slice(0, 12))?.Name, 'c0', 'the short ID is unique once the other is gone');
  store.delete(a);
  assert.equal(store.find(a.slice(0, 12)), undefined);
  assert.equal(store.find('abc')?.Name, 'c2');
});
