import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { coalescing } from './streams.ts';

test('small reads come out as pieces of at least the size asked for, the same bytes in the same order', async () => {
  const parts = Array.from({ length: 42 }, (_, i) => Buffer.alloc(1000, i));
  const out: Buffer[] = [];
  // 'data' events, as a pipe sees them (an async iterator would join what is buffered).
  const stream = Readable.from(parts).pipe(coalescing(4096));
  stream.on('data', (c: Buffer) => out.push(c));
  await finished(stream);
  assert.deepEqual(
    out.map((b) => b.length),
    [...Array(8).fill(5000), 2000],
  );
  assert.deepEqual(Buffer.concat(out), Buffer.concat(parts));
});
