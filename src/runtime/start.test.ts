import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseCrunFifo } from './start.ts';

function stateDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("crun's release: the waiting init reads one byte, and the FIFO is gone (the container counts as started)", (t) => {
  const dir = stateDir(t);
  execFileSync('mkfifo', [join(dir, 'exec.fifo')]);
  // The init's side: a reader waiting on the FIFO (non-blocking here, so that the test cannot hang).
  const reader = openSync(join(dir, 'exec.fifo'), constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => closeSync(reader));
  assert.equal(releaseCrunFifo(dir, 'c1'), true);
  const buf = Buffer.alloc(4);
  assert.equal(readSync(reader, buf), 1);
  assert.equal(buf.toString('latin1', 0, 1), '0');
  assert.equal(existsSync(join(dir, 'exec.fifo')), false);
});

test("crun's release: no FIFO (never created, or started already) is false, for the runtime's own start to explain", (t) => {
  assert.equal(releaseCrunFifo(stateDir(t), 'c1'), false);
});

test("crun's release: a FIFO nobody reads (the init died) fails at once with Docker's words, never hangs", (t) => {
  const dir = stateDir(t);
  execFileSync('mkfifo', [join(dir, 'exec.fifo')]);
  assert.throws(() => releaseCrunFifo(dir, 'c1'), /start container "c1": container process is already dead/);
});
