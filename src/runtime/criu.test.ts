import { test } from 'node:test';
import assert from 'node:assert/strict';
import { criuSupport, parseCriuVersion } from './criu.ts';

test("criu --version's version is read", () => {
  assert.deepEqual(parseCriuVersion('Version: 3.17.1\n'), [3, 17, 1]);
  assert.deepEqual(parseCriuVersion('Version: 4.1\nGitID: v4.1\n'), [4, 1, 0]);
  assert.equal(parseCriuVersion(''), undefined);
});

test('CRIU before 4.1 is refused on kernels from 6.13 with the reason, and works elsewhere', () => {
  assert.deepEqual(criuSupport('Version: 3.17.1', '6.18.44-fc-v1272'), {
    supported: false,
    reason:
      'CRIU 3.17.1 cannot checkpoint on kernel 6.18.44-fc-v1272 (it needs CRIU 4.1 or later on kernels from 6.13)',
  });
  assert.deepEqual(criuSupport('Version: 3.17.1', '6.1.0-57-amd64'), { supported: true });
  assert.deepEqual(criuSupport('Version: 4.1.1', '6.18.44'), { supported: true });
  assert.match(criuSupport('', '6.1.0')?.reason ?? '', /CRIU is not installed/);
});
