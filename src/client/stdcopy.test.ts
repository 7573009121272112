import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demux, demuxTo, encodeFrame, ApiError } from './index.ts';

async function* chunks(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}

async function collect(src: AsyncIterable<Buffer>): Promise<string[]> {
  const got: string[] = [];
  for await (const f of demux(src)) got.push(`${f.stream}:${f.data}`);
  return got;
}

test('demux splits frames cut at any byte', async () => {
  const all = Buffer.concat([encodeFrame(1, 'out\n'), encodeFrame(2, 'err\n'), encodeFrame(1, 'more')]);
  for (let cut = 0; cut <= all.length; cut++) {
    assert.deepEqual(
      await collect(chunks(all.subarray(0, cut), all.subarray(cut))),
      ['1:out\n', '2:err\n', '1:more'],
      `cut at ${cut}`,
    );
  }
});

test('demux handles byte-by-byte delivery and empty frames', async () => {
  const all = Buffer.concat([encodeFrame(1, ''), encodeFrame(2, 'x'), encodeFrame(0, 'in')]);
  const bytes = [...all].map((b) => Buffer.from([b]));
  assert.deepEqual(await collect(chunks(...bytes)), ['1:', '2:x', '0:in']);
});

test('demux keeps large payloads whole', async () => {
  const big = Buffer.alloc(200_000, 7);
  const frame = encodeFrame(1, big);
  const parts: Buffer[] = [];
  for (let i = 0; i < frame.length; i += 65536) parts.push(frame.subarray(i, i + 65536));
  let total = 0;
  for await (const f of demux(chunks(...parts))) total += f.data.length;
  assert.equal(total, big.length);
});

test('a stream-3 frame is the daemon reporting an error', async () => {
  await assert.rejects(
    collect(chunks(encodeFrame(1, 'a'), encodeFrame(3, 'exec failed'))),
    (e: unknown) => e instanceof ApiError && e.message === 'exec failed',
  );
});

test('an unknown stream type is refused', async () => {
  await assert.rejects(collect(chunks(encodeFrame(9, 'x'))), /unrecognized input header: 9/);
});

test('demuxTo routes stdout and stderr and counts bytes', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => ({ write: (c: Buffer) => (into.push(c.toString()), true), once: () => undefined });
  const n = await demuxTo(chunks(encodeFrame(1, 'a'), encodeFrame(2, 'bb'), encodeFrame(1, 'c')), sink(out), sink(err));
  assert.deepEqual(out, ['a', 'c']);
  assert.deepEqual(err, ['bb']);
  assert.deepEqual(n, { stdout: 2, stderr: 2 });
});
