import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataDb, MIGRATIONS } from './index.ts';

test('migrations run once and record the schema version', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-meta-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = new MetadataDb(join(dir, 'm.db'));
  db.stmt("INSERT INTO containers (id, name, image_id, created, record) VALUES ('a', 'web', 'i', 'now', '{}')").run();
  db.close();
  const again = new MetadataDb(join(dir, 'm.db'));
  const v = again.db.prepare('PRAGMA user_version').get() as { user_version: number };
  assert.equal(v.user_version, MIGRATIONS.length);
  assert.equal((again.stmt('SELECT name FROM containers').get() as { name: string }).name, 'web');
  again.close();
});

test('a failing transaction leaves nothing behind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-meta-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = new MetadataDb(join(dir, 'm.db'));
  assert.throws(() =>
    db.tx(() => {
      db.stmt(
        "INSERT INTO containers (id, name, image_id, created, record) VALUES ('a', 'web', 'i', 'now', '{}')",
      ).run();
      db.stmt(
        "INSERT INTO containers (id, name, image_id, created, record) VALUES ('b', 'web', 'i', 'now', '{}')",
      ).run();
    }),
  );
  assert.equal((db.stmt('SELECT count(*) AS n FROM containers').get() as { n: number }).n, 0);
  db.close();
});
