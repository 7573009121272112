import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Duplex } from 'node:stream';
import { SPDY_DICTIONARY } from './spdy-dictionary.ts';
import {
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  FrameParser,
  RstStatus,
  type SpdyFrame,
} from './spdy-frames.ts';
import { SpdySession, type SpdyStream } from './spdy.ts';
import { CRICTL_SPDY, readSpdyFrames, writeSpdyFrames } from './testing.ts';

/** A socket whose input the test pushes and whose output it collects. */
function fakeSocket(): { socket: Duplex; written: Buffer[]; feed(b: Buffer): void } {
  const written: Buffer[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  return { socket, written, feed: (b) => socket.push(b) };
}

/** Waits for what the session does asynchronously (zlib), however loaded the machine is. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !cond();) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("the header dictionary is the 1423 bytes SPDY/3 specifies (the adler32 in Go clients' zlib headers)", () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  assert.equal(
    createHash('sha256').update(SPDY_DICTIONARY).digest('hex'),
    '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
  );
  // crictl's first SYN_STREAM starts its zlib stream with FDICT and this dictionary's id.
  assert.equal(CRICTL_SPDY.EXEC_CAT.subarray(18, 24).toString('hex'), '78f9e3c6a7c2');
});

test('every frame type survives encoding and parsing, even fed one byte at a time', () => {
  const frames: SpdyFrame[] = [
    { type: 'data', streamId: 5, fin: true, data: Buffer.from('hello') },
    { type: 'data', streamId: 7, fin: false, data: Buffer.alloc(70_000, 1) },
    {
      type: 'syn_stream',
      streamId: 3,
      associatedId: 0,
      priority: 7,
      fin: false,
      unidirectional: true,
      headerBlock: Buffer.from('xyz'),
    },
    { type: 'syn_reply', streamId: 3, fin: true, headerBlock: Buffer.from('abc') },
    { type: 'headers', streamId: 3, fin: false, headerBlock: Buffer.alloc(0) },
    { type: 'rst_stream', streamId: 9, status: RstStatus.CANCEL },
    { type: 'settings', clear: false, entries: [{ flags: 1, id: 7, value: 65536 }] },
    { type: 'ping', id: 0xfffffffe },
    { type: 'goaway', lastGoodStreamId: 11, status: 0 },
    { type: 'window_update', streamId: 0, delta: 1 << 20 },
  ];
  const bytes = Buffer.concat(frames.map(encodeFrame));
  const p = new FrameParser();
  const got: SpdyFrame[] = [];
  for (let i = 0; i < bytes.length; i++) got.push(...p.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(got, frames);
});

test('a control frame of another SPDY version is refused', () => {
  const f = encodeFrame({ type: 'ping', id: 1 });
  f.writeUInt16BE(0x8002, 0);
  assert.throws(() => new FrameParser().push(f), /control frame of version 2/);
});

test('a header block: lower-case names, several values of one name joined by NUL, and back', () => {
  const block = encodeHeaderBlock({ streamType: ['stdout'], port: ['80', '443'] });
  assert.deepEqual(decodeHeaderBlock(block), { streamtype: ['stdout'], port: ['80', '443'] });
  assert.throws(() => decodeHeaderBlock(block.subarray(0, block.length - 1)), /cut short/);
});

test("crictl's exec frames decode: the four streams it opens, stdin's bytes, then stdin's end", async () => {
  const frames = await readSpdyFrames(CRICTL_SPDY.EXEC_CAT);
  assert.deepEqual(
    frames.filter((f) => f.type === 'syn_stream').map((f) => [f.type === 'syn_stream' && f.streamId, f.headers]),
    [
      [1, { streamtype: ['error'] }],
      [3, { streamtype: ['stdin'] }],
      [5, { streamtype: ['stdout'] }],
      [7, { streamtype: ['stderr'] }],
    ],
  );
  assert.deepEqual(frames.slice(-2), [
    { type: 'data', streamId: 3, fin: false, data: Buffer.from('hello\n') },
    { type: 'data', streamId: 3, fin: true, data: Buffer.alloc(0) },
  ]);
  const pf = await readSpdyFrames(CRICTL_SPDY.PORT_FORWARD);
  assert.deepEqual(pf[0]!.headers, { streamtype: ['error'], port: ['18081'], requestid: ['0'] });
  assert.equal(pf.at(-1)!.type, 'goaway');
});

test('a session over crictl\'s bytes: each stream with its headers, answered; stdin reads "hello\\n" and ends', async () => {
  const { socket, written, feed } = fakeSocket();
  const session = new SpdySession(socket);
  const streams: SpdyStream[] = [];
  session.on('stream', (s) => {
    streams.push(s);
    void s.reply();
  });
  feed(CRICTL_SPDY.EXEC_CAT);
  await until(() => streams.length === 4);
  assert.deepEqual(
    streams.map((s) => [s.id, s.header('streamType')]),
    [
      [1, 'error'],
      [3, 'stdin'],
      [5, 'stdout'],
      [7, 'stderr'],
    ],
  );
  const stdin = streams[1]!;
  let read = '';
  stdin.on('data', (c) => (read += c));
  await new Promise((r) => stdin.once('end', r));
  assert.equal(read, 'hello\n');
  // Frames leave in order: once stdout's FIN is written, the replies before it are too.
  await new Promise<void>((r) => streams[2]!.end('out', () => r()));
  const replies = await readSpdyFrames(Buffer.concat(written));
  assert.deepEqual(
    replies.map((f) => [f.type, 'streamId' in f && f.streamId]),
    [
      ['syn_reply', 1],
      ['syn_reply', 3],
      ['syn_reply', 5],
      ['syn_reply', 7],
      ['data', 5],
      ['data', 5],
    ],
  );
  assert.deepEqual(replies.slice(-2), [
    { type: 'data', streamId: 5, fin: false, data: Buffer.from('out') },
    { type: 'data', streamId: 5, fin: true, data: Buffer.alloc(0) },
  ]);
  session.close();
});

test("the client's PING comes back unchanged; DATA for a stream never opened is answered with RST_STREAM", async () => {
  const { socket, written, feed } = fakeSocket();
  const session = new SpdySession(socket);
  session.on('stream', (s) => void s.reply());
  feed(encodeFrame({ type: 'ping', id: 1 }));
  feed(await writeSpdyFrames([{ open: 5, headers: { streamtype: ['error'] } }]));
  await until(() => written.length === 2);
  feed(encodeFrame({ type: 'data', streamId: 9, fin: false, data: Buffer.from('x') }));
  await until(() => written.length === 3);
  const out = await readSpdyFrames(Buffer.concat(written));
  assert.deepEqual(out[0], { type: 'ping', id: 1 });
  assert.deepEqual(out.at(-1), { type: 'rst_stream', streamId: 9, status: RstStatus.INVALID_STREAM });
  session.close();
});

test('RST_STREAM from the client ends that stream; GOAWAY ends the session after what was queued', async () => {
  const { socket, written, feed } = fakeSocket();
  const session = new SpdySession(socket);
  const streams: SpdyStream[] = [];
  session.on('stream', (s) => streams.push(s));
  feed(await writeSpdyFrames([{ open: 1, headers: { streamtype: ['data'] } }]));
  await until(() => streams.length === 1);
  const ended = new Promise<void>((r) => streams[0]!.once('close', () => r()));
  feed(encodeFrame({ type: 'rst_stream', streamId: 1, status: RstStatus.CANCEL }));
  await ended;
  const closed = new Promise<void>((r) => session.once('close', () => r()));
  feed(encodeFrame({ type: 'goaway', lastGoodStreamId: 1, status: 0 }));
  await closed;
  const out = await readSpdyFrames(Buffer.concat(written));
  assert.deepEqual(out.at(-1), { type: 'goaway', lastGoodStreamId: 1, status: 0 });
});
