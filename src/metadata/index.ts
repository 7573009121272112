/**
 * The metadata database: one SQLite file (`<data-root>/metadata.db`, WAL mode) holding images,
 * tags, layers and containers. Node 24's built-in `node:sqlite` is synchronous, so each
 * statement is atomic and a multi-step change goes in `tx()`.
 *
 * The schema is versioned: `MIGRATIONS[i]` moves the database from version i to i+1, and
 * `PRAGMA user_version` records where it stands. This list is the one place the schema is
 * written down; never edit a migration that has shipped — append a new one.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { transaction } from './transaction.ts';

export { transaction };

export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE layers (
    chain_id   TEXT PRIMARY KEY,          -- sha256 chain ID of the stack ending in this layer
    diff_id    TEXT NOT NULL,             -- digest of the uncompressed layer tar (a content blob)
    parent     TEXT REFERENCES layers(chain_id),
    size       INTEGER NOT NULL,          -- bytes of the uncompressed tar
    cache_id   TEXT NOT NULL UNIQUE       -- directory name under layers/
  );
  CREATE TABLE images (
    id         TEXT PRIMARY KEY,          -- config digest
    created    TEXT NOT NULL,             -- the config's created time
    added      TEXT NOT NULL,             -- when this daemon got it
    top_chain  TEXT REFERENCES layers(chain_id),
    size       INTEGER NOT NULL,          -- sum of layer sizes
    parent     TEXT                       -- image this one was built or committed from
  );
  CREATE TABLE tags (
    ref        TEXT PRIMARY KEY,          -- normalised reference, e.g. docker.io/library/busybox:latest
    image_id   TEXT NOT NULL REFERENCES images(id)
  );
  CREATE INDEX tags_by_image ON tags(image_id);
  CREATE TABLE containers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    image_id   TEXT NOT NULL,
    created    TEXT NOT NULL,
    record     TEXT NOT NULL              -- JSON: config, host config, state
  );
  CREATE INDEX containers_by_image ON containers(image_id);
  `,
  // 2: what pull and push learn from registries.
  `
  CREATE TABLE repo_digests (
    ref        TEXT PRIMARY KEY,          -- normalised repo@digest, e.g. 127.0.0.1:5000/t/busybox@sha256:...
    image_id   TEXT NOT NULL REFERENCES images(id)
  );
  CREATE INDEX repo_digests_by_image ON repo_digests(image_id);
  CREATE TABLE distribution (            -- a layer's compressed form in a registry repository
    diff_id    TEXT NOT NULL,             -- the uncompressed layer
    registry   TEXT NOT NULL,             -- registry name as references spell it (127.0.0.1:5000, docker.io)
    repo       TEXT NOT NULL,             -- repository path (t/busybox, library/busybox)
    digest     TEXT NOT NULL,             -- the compressed blob there
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    PRIMARY KEY (diff_id, registry, repo)
  );
  `,
  // 3: when each tag was last set (image inspect's Metadata.LastTagTime).
  `
  ALTER TABLE tags ADD COLUMN tagged TEXT;   -- RFC 3339; NULL for tags older than this column
  `,
  // 4: layers compressed once and kept, so a push only uploads.
  `
  CREATE TABLE compressed_layers (
    diff_id     TEXT NOT NULL,            -- the uncompressed layer
    compression TEXT NOT NULL,            -- gzip | zstd
    level       INTEGER,                  -- the level it was made with; NULL: not known
    digest      TEXT NOT NULL,            -- the compressed bytes, a content blob
    size        INTEGER NOT NULL,
    PRIMARY KEY (diff_id, compression)
  );
  `,
  // 5: pods (services/pods); their members are containers that carry the pod's labels.
  `
  CREATE TABLE pods (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created    TEXT NOT NULL,
    record     TEXT NOT NULL              -- JSON: the pod's settings and its infra container's ID
  );
  `,
  // 6: a pulled layer keeps its compressed blob as it came, and no uncompressed tar blob.
  `
  ALTER TABLE compressed_layers ADD COLUMN tar_size INTEGER;  -- bytes of the uncompressed tar; NULL: not known
  `,
];

export class MetadataDb {
  readonly db: DatabaseSync;
  private readonly cache = new Map<string, StatementSync>();

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
    );
    this.migrate();
  }

  private migrate(): void {
    const row = this.db.prepare('PRAGMA user_version').get() as { user_version: number };
    for (let v = row.user_version; v < MIGRATIONS.length; v++) {
      this.tx(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  /** A prepared statement, cached by its SQL text. */
  stmt(sql: string): StatementSync {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    return transaction(this.db, fn);
  }

  close(): void {
    this.db.close();
  }
}
