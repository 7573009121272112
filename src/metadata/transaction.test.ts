import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { transaction } from './index.ts';

const count = (db: DatabaseSync) => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;

test('a transaction commits what its function did, or nothing when it throws', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  assert.equal(
    transaction(db, () => {
      db.prepare('INSERT INTO t VALUES (1)').run();
      return 'done';
    }),
    'done',
  );
  assert.throws(
    () =>
      transaction(db, () => {
        db.prepare('INSERT INTO t VALUES (2)').run();
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(count(db), 1);
  assert.equal(db.isTransaction, false);
  db.close();
});

test('a transaction inside another joins it: the outer failure undoes both', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  assert.throws(() =>
    transaction(db, () => {
      transaction(db, () => db.prepare('INSERT INTO t VALUES (1)').run());
      throw new Error('outer');
    }),
  );
  assert.equal(count(db), 0);
  db.close();
});
