import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecords, encodeFrame, encodeRecords, FrameReader, FrameType } from './wire.ts';

test('records round-trip in order, repeated keys kept, values may hold = and spaces', () => {
  const recs = [
    ['arg', 'sh'],
    ['arg', '-c'],
    ['arg', 'echo a=b c'],
    ['env', 'PATH=/bin'],
  ] as const;
  const b = encodeRecords(recs);
  assert.equal(b.toString('latin1'), 'arg=sh\0arg=-c\0arg=echo a=b c\0env=PATH=/bin\0');
  assert.deepEqual(decodeRecords(b), recs);
});

test('a record value with a NUL byte is refused rather than cut short in the guest', () => {
  assert.throws(() => encodeRecords([['arg', 'a\0b']]), /NUL/);
  assert.throws(() => encodeRecords([['a=b', 'x']]), /bad record key/);
});

test('frames are cut out of a stream however it is chunked', () => {
  const stream = Buffer.concat([
    encodeFrame(FrameType.Started, 0, Buffer.from('42')),
    encodeFrame(FrameType.Stdout, 7, Buffer.from('hello\n')),
    encodeFrame(FrameType.StdinEof, 3),
  ]);
  const r = new FrameReader();
  const got = [];
  for (let i = 0; i < stream.length; i += 4) got.push(...r.push(stream.subarray(i, i + 4)));
  assert.deepEqual(
    got.map((f) => [f.type, f.session, f.payload.toString()]),
    [
      ['P', 0, '42'],
      ['1', 7, 'hello\n'],
      ['D', 3, ''],
    ],
  );
});

test('a frame header announcing more than a megabyte is an error, not a wait', () => {
  const h = Buffer.alloc(9);
  h[0] = 0x31;
  h.writeUInt32BE(2 << 20, 5);
  assert.throws(() => new FrameReader().push(h), /too large/);
});
