/** The log pump behind `docker logs`, `attach` and `exec`: Docker's frames, batched per turn of the event loop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogEntry } from '../../../services/containers/index.ts';
import { pump } from './container-streams.ts';

const entry = (stream: 'stdout' | 'stderr', text: string): LogEntry => {
  const data = Buffer.from(text);
  return { stream, time: new Date(0), line: data, data };
};

/** A socket stand-in that keeps each write as it came. */
function recorder(highWaterMark = 16 * 1024) {
  const writes: Buffer[] = [];
  const out = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      writes.push(chunk);
      setImmediate(done);
    },
  });
  return { out, writes };
}

/** Docker's multiplexed stream split back into [stream, text] frames. */
function frames(buf: Buffer): [number, string][] {
  const out: [number, string][] = [];
  for (let at = 0; at < buf.length;) {
    const size = buf.readUInt32BE(at + 4);
    out.push([buf[at]!, buf.toString('utf8', at + 8, at + 8 + size)]);
    at += 8 + size;
  }
  return out;
}

test('the lines of a log read at once reach the client in one write, framed as Docker frames them', async () => {
  const { out, writes } = recorder();
  async function* lines() {
    for (let i = 1; i <= 100; i++) yield entry(i % 10 ? 'stdout' : 'stderr', `${i}\n`);
  }
  await pump(lines(), out, { stdout: true, stderr: true, tty: false, timestamps: false });
  assert.equal(writes.length, 1);
  const got = frames(Buffer.concat(writes));
  assert.equal(got.length, 100);
  assert.deepEqual(got[8], [1, '9\n']);
  assert.deepEqual(got[9], [2, '10\n']);
});

test('a follower gets a line as soon as it is read, not when the container writes the next', async () => {
  const { out, writes } = recorder();
  let seenBeforeNext = '';
  async function* live() {
    yield entry('stdout', 'prompt> ');
    // The container writes nothing for a while: what was read must be on the wire already.
    await sleep(50);
    seenBeforeNext = Buffer.concat(writes).toString();
    yield entry('stdout', 'more\n');
  }
  await pump(live(), out, { stdout: true, stderr: true, tty: true, timestamps: false });
  assert.equal(seenBeforeNext, 'prompt> ');
  assert.equal(Buffer.concat(writes).toString(), 'prompt> more\n');
});

test('a slow client gets every byte in order (the pump waits for it to drain)', async () => {
  const { out, writes } = recorder(1024);
  const line = 'x'.repeat(999) + '\n';
  async function* many() {
    for (let i = 0; i < 300; i++) yield entry('stdout', `${i} ${line}`);
  }
  await pump(many(), out, { stdout: true, stderr: false, tty: false, timestamps: false });
  await new Promise<void>((r) => out.end(r));
  const got = frames(Buffer.concat(writes));
  assert.equal(got.length, 300);
  assert.ok(got.every(([s, t], i) => s === 1 && t === `${i} ${line}`));
  // Batched, and a batch stays within 64 kB (plus its last frame).
  assert.ok(writes.length > 1 && writes.length < 300);
  assert.ok(writes.every((w) => w.length < 64 * 1024 + 1100));
});
