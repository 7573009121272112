import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shownLinks } from './links.ts';

test("inspect shows links as dockerd's graph does: current names, full paths, links to removed containers gone", () => {
  const names: Record<string, string> = { db: 'db', cache: 'cache' };
  const nameOf = (ref: string) => names[ref];
  assert.deepEqual(shownLinks(['db:alias', '/cache:/web/c', 'db'], 'web', nameOf), [
    '/db:/web/alias',
    '/cache:/web/c',
    '/db:/web/db',
  ]);
  assert.equal(shownLinks(['gone:g'], 'web', nameOf), null);
});
