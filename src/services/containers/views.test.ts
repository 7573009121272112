/**
 * `docker ps`'s rows as the list route sends them: the JSON text of `summary`, each row built
 * once and taken from a cache until its container changes (issue 15: at a thousand containers,
 * building every row again was most of the daemon's work for a listing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestService } from './testing.ts';
import { summary } from './views.ts';

test('a listing is the JSON of every row, byte for byte; a second listing of unchanged containers builds no row again', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  const ids = [
    await s.create(['sleep', '60'], { Labels: { tier: 'web' }, ExposedPorts: { '80/tcp': {} } }, 'web'),
    await s.create(['true'], {}, 'job'),
    await s.create(['sh', '-c', 'echo "a b"'], {}, 'quoted'),
  ];
  await s.svc.start(ids[0]!);
  const list = ids.map((id) => s.svc.get(id));
  const now = Date.now();
  const expected = JSON.stringify(list.map((c) => summary(c, s.svc.imageName(c), now)));
  assert.equal(s.svc.listJson(list, now), expected);
  assert.equal(s.svc.rows.built, 3);
  const later = now + 3 * 60_000;
  assert.equal(s.svc.listJson(list, later), JSON.stringify(list.map((c) => summary(c, s.svc.imageName(c), later))));
  assert.equal(s.svc.rows.built, 3, 'rows of unchanged containers were built again');
  assert.match(JSON.parse(s.svc.listJson(list, later))[0].Status, /^Up 3 minutes$/);
});

test("a container's row changes with it: a rename, a start and a stop show in the next listing", async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  const a = await s.create(['sleep', '60'], {}, 'first');
  const b = await s.create(['sleep', '60'], {}, 'second');
  const rows = () => JSON.parse(s.svc.listJson([s.svc.get(a), s.svc.get(b)])) as { Names: string[]; State: string }[];
  assert.deepEqual(
    rows().map((r) => [r.Names[0], r.State]),
    [
      ['/first', 'created'],
      ['/second', 'created'],
    ],
  );
  s.svc.rename(a, 'renamed');
  await s.svc.start(b);
  assert.deepEqual(
    rows().map((r) => [r.Names[0], r.State]),
    [
      ['/renamed', 'created'],
      ['/second', 'running'],
    ],
  );
  const built = s.svc.rows.built;
  await s.svc.stop(b, { timeout: 0 });
  assert.deepEqual(
    rows().map((r) => [r.Names[0], r.State]),
    [
      ['/renamed', 'created'],
      ['/second', 'exited'],
    ],
  );
  assert.equal(s.svc.rows.built, built + 1, 'only the stopped container was built again');
});
