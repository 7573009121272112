import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBuildSecrets } from './build.ts';

const header = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');

test('the build secrets header: base64 JSON of ID to base64 content; anything else is a clear 400', () => {
  const s = parseBuildSecrets(header({ tok: Buffer.from('s3cret').toString('base64'), empty: '' }));
  assert.deepEqual(
    [...s].map(([k, v]) => [k, v.toString()]),
    [
      ['tok', 's3cret'],
      ['empty', ''],
    ],
  );
  assert.equal(parseBuildSecrets(undefined).size, 0);
  assert.throws(
    () => parseBuildSecrets('not json!'),
    /^InvalidArgumentError: invalid build secrets: the header is not base64 JSON$/,
  );
  assert.throws(() => parseBuildSecrets(header(['tok'])), /not an object of ID to base64 content/);
  assert.throws(() => parseBuildSecrets(header({ tok: 42 })), /invalid build secret "tok": its content must be base64/);
});
