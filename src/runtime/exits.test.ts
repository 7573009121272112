import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitWatcher, readExitFile } from './exits.ts';
import type { Exit } from './roles.ts';

async function watcher(
  t: { after: (fn: () => Promise<void> | void) => void },
  read: (id: string) => Promise<Omit<Exit, 'id'> | undefined>,
) {
  const dir = await fs.mkdtemp(join(tmpdir(), 'berth-exits-'));
  const w = new ExitWatcher(dir, read, async (id) => !id.includes('.'));
  const events: Exit[] = [];
  w.events.on('exit', (e) => events.push(e));
  await w.start();
  t.after(async () => {
    w.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return { dir, w, events };
}

async function eventually(what: string, ok: () => boolean): Promise<void> {
  for (const until = Date.now() + 5000; !ok(); await new Promise((r) => setTimeout(r, 5)))
    if (Date.now() > until) assert.fail(`${what}: not within 5 s`);
}

test('an exit file renamed into place is read once and reported once, whatever inotify says of it', async (t) => {
  let reads = 0;
  const { dir, events } = await watcher(t, async (id) => {
    reads++;
    // Slow enough that the rename's other events come while the first read is in flight.
    await new Promise((r) => setTimeout(r, 50));
    return readExitFile(join(dir, id));
  });
  await fs.writeFile(join(dir, 'c1.tmp'), '7');
  await fs.rename(join(dir, 'c1.tmp'), join(dir, 'c1'));
  await fs.utimes(join(dir, 'c1'), new Date(), new Date()); // one more event for the same name
  await eventually('the exit is reported', () => events.length > 0);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(
    events.map((e) => [e.id, e.exitCode]),
    [['c1', 7]],
  );
  // Once: the events that came during the read find it reported after it.
  assert.equal(reads, 1);
});

test('an event during a read that found nothing is read again: the exit that came meanwhile is not lost', async (t) => {
  let reads = 0;
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  const { dir, events } = await watcher(t, async (id) => {
    reads++;
    if (reads === 1) {
      // The first read looks before the exit file is there (it saw another file's event).
      const found = await readExitFile(join(dir, id));
      await blocked;
      return found;
    }
    return readExitFile(join(dir, id));
  });
  // An event for c2 with no exit in it: a leftover removed.
  await fs.writeFile(join(dir, 'c2'), '');
  await fs.rm(join(dir, 'c2'));
  await eventually('the first read began', () => reads === 1);
  await fs.writeFile(join(dir, 'c2.tmp'), '0');
  await fs.rename(join(dir, 'c2.tmp'), join(dir, 'c2'));
  await new Promise((r) => setTimeout(r, 50));
  release();
  await eventually('the exit is reported', () => events.length > 0);
  assert.deepEqual(
    events.map((e) => [e.id, e.exitCode]),
    [['c2', 0]],
  );
});
