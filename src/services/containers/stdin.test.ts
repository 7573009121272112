import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import type { StdinSession } from '../../runtime/index.ts';
import { EventEmitter } from 'node:events';
import { pumpStdin, taskCreated } from './stdin.ts';

/** A process's stdin that takes one small chunk at a time, when the test lets it. */
function slowSession(): { session: StdinSession; received: Buffer[]; release: () => void; close: () => void } {
  const received: Buffer[] = [];
  let pending: (() => void) | undefined;
  const input = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _enc, cb) {
      received.push(chunk);
      pending = cb;
    },
  });
  let closeDone!: () => void;
  const done = new Promise<void>((r) => (closeDone = r));
  return {
    session: { input, done, close: () => closeDone() },
    received,
    release: () => {
      const cb = pending;
      pending = undefined;
      cb?.();
    },
    close: () => closeDone(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('the stdin pump waits for drain: a slow process pauses the client, and nothing is lost or reordered', async () => {
  const client = new PassThrough();
  const s = slowSession();
  const pumped = pumpStdin(client, s.session);
  client.write(Buffer.from('aaaa'));
  client.write(Buffer.from('bbbb'));
  await tick();
  assert.equal(client.isPaused(), true, 'the client is paused while the process has not taken the first chunk');
  assert.equal(s.received.length, 1);
  client.write(Buffer.from('cccc'));
  for (let i = 0; i < 10 && s.received.length < 3; i++) {
    s.release();
    await tick();
  }
  s.release();
  await tick();
  assert.equal(Buffer.concat(s.received).toString(), 'aaaabbbbcccc');
  assert.equal(client.isPaused(), false, 'drained: the client flows again');
  client.end();
  assert.equal(await pumped, 'ended');
});

test('the detach keys end the pump with the session closed; what came before them goes through', async () => {
  const client = new PassThrough();
  const received: string[] = [];
  let closed = false;
  const session: StdinSession = {
    input: new Writable({
      write(chunk: Buffer, _enc, cb) {
        received.push(chunk.toString());
        cb();
      },
    }),
    done: new Promise(() => {}),
    close: () => void (closed = true),
  };
  const pumped = pumpStdin(client, session, { detachKeys: Buffer.from([16, 17]) });
  client.write(Buffer.from([0x6c, 0x73, 16, 17]));
  assert.equal(await pumped, 'detached');
  assert.equal(received.join(''), 'ls');
  assert.equal(closed, true);
});

test('a client that goes away without an end drops the session but sends no end of file', async () => {
  const client = new PassThrough();
  let ended = false;
  let closed = false;
  const input = new Writable({ write: (_c, _e, cb) => cb() });
  input.on('finish', () => (ended = true));
  const pumped = pumpStdin(client, { input, done: new Promise(() => {}), close: () => void (closed = true) });
  client.destroy();
  assert.equal(await pumped, 'ended');
  assert.equal(closed, true);
  assert.equal(ended, false);
});

test('an input that ended before the pump began still closes the process stdin (run -i < /dev/null)', async () => {
  const client = new PassThrough();
  client.end();
  client.resume();
  await new Promise((r) => client.once('end', r));
  let ended = false;
  const input = new Writable({ write: (_c, _e, cb) => cb() });
  input.on('finish', () => (ended = true));
  const pumped = pumpStdin(client, { input, done: new Promise(() => {}), close: () => {} });
  assert.equal(await pumped, 'ended');
  await tick();
  assert.equal(ended, true);
});

test('a client that attaches after the task created ahead is done still gets to its stdin', async () => {
  const changes = new EventEmitter();
  changes.emit('created:c1'); // the task made at create, before the client came
  const input = new PassThrough();
  const found = await Promise.race([
    taskCreated(changes, 'c1', input, async () => true),
    new Promise((r) => setTimeout(() => r('still waiting'), 500)),
  ]);
  assert.equal(found, true);
  assert.equal(changes.listenerCount('created:c1'), 0, 'no listener left behind');
  // A task not there yet is still waited for.
  const waiting = taskCreated(changes, 'c2', input, async () => false);
  changes.emit('created:c2');
  assert.equal(await waiting, true);
});
