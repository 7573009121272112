import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { peek } from './peek.ts';

const all = async (s: AsyncIterable<Buffer>) => {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c);
  return Buffer.concat(out).toString();
};

test('peek gives the first bytes (whole chunks, at least n) and the stream again from its start', async () => {
  const { head, stream } = await peek(Readable.from([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')]), 3);
  assert.equal(head.toString(), 'abcd');
  assert.equal(await all(stream), 'abcdef');
});

test('peek at a stream shorter than asked, or empty, gives what there is', async () => {
  const short = await peek(Readable.from([Buffer.from('xy')]), 512);
  assert.equal(short.head.toString(), 'xy');
  assert.equal(await all(short.stream), 'xy');
  const empty = await peek(Readable.from([]), 512);
  assert.equal(empty.head.length, 0);
  assert.equal(await all(empty.stream), '');
});

test('peek takes chunks that are not Buffers (Uint8Array) and yields Buffers', async () => {
  const { head, stream } = await peek(Readable.from([new Uint8Array([104, 105]), new Uint8Array([33])]), 1);
  assert.ok(Buffer.isBuffer(head));
  for await (const c of stream) assert.ok(Buffer.isBuffer(c));
});
