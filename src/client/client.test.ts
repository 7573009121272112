import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demux } from './index.ts';

function frame(stream: number, text: string): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(Buffer.byteLength(text), 4);
  return Buffer.concat([h, Buffer.from(text)]);
}

test('demux splits frames cut at any byte', async () => {
  const all = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more')]);
  for (let cut = 1; cut < all.length; cut++) {
    const got: string[] = [];
    await demux((async function* () {
      yield all.subarray(0, cut);
      yield all.subarray(cut);
    })(), (s, d) => got.push(`${s}:${d}`));
    assert.deepEqual(got, ['1:out\n', '2:err\n', '1:more'], `cut at ${cut}`);
  }
});
