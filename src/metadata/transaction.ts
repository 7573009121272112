/**
 * The one way Berth runs several SQLite statements as a unit, for every database it keeps
 * (`metadata.db`, the IPAM pools). `BEGIN IMMEDIATE` takes the write lock at the start, so two
 * processes or two connections never both read and then race to write (a deferred transaction
 * would fail with SQLITE_BUSY at its first write instead of waiting out `busy_timeout`).
 *
 *     const ip = transaction(db, () => { ...select...; ...insert...; return ip; });
 */
import type { DatabaseSync } from 'node:sqlite';

/**
 * Runs `fn` in one transaction: committed when it returns, rolled back when it throws (the
 * error goes on). A call inside another transaction joins the outer one.
 */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec('BEGIN IMMEDIATE');
  try {
    const r = fn();
    db.exec('COMMIT');
    return r;
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}
