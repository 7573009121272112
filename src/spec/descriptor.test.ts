import { test } from 'node:test';
import assert from 'node:assert/strict';
import { descriptorProblem, isDescriptor, parseDescriptor } from './index.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test('a descriptor needs a sha256 digest, a non-negative integer size and a media type', () => {
  assert.equal(descriptorProblem({ mediaType: 'x', digest: DIGEST, size: 0 }), undefined);
  assert.equal(descriptorProblem([]), 'not a descriptor');
  assert.equal(descriptorProblem(null), 'not a descriptor');
  assert.equal(
    descriptorProblem({ mediaType: 'x', digest: 'sha512:00', size: 1 }),
    'digest "sha512:00" is not a sha256 digest',
  );
  assert.equal(descriptorProblem({ mediaType: 'x', digest: DIGEST, size: -1 }), 'bad size');
  assert.equal(descriptorProblem({ mediaType: 'x', digest: DIGEST, size: 1.5 }), 'bad size');
  assert.equal(descriptorProblem({ mediaType: 'x', digest: DIGEST, size: '1' }), 'bad size');
  assert.equal(descriptorProblem({ mediaType: '', digest: DIGEST, size: 1 }), 'no media type');
  assert.equal(isDescriptor({ digest: DIGEST, size: 1 }), false);
});

test('parseDescriptor keeps what a reader needs and names the place of a problem', () => {
  const platform = { os: 'linux', architecture: 'amd64' };
  assert.deepEqual(
    parseDescriptor({ mediaType: 'm', digest: DIGEST, size: 3, platform, annotations: { a: 'b' } }, 'entry 0'),
    { mediaType: 'm', digest: DIGEST, size: 3, platform },
  );
  assert.throws(() => parseDescriptor({ mediaType: 'm', digest: 'nope', size: 3 }, 'entry 1'), {
    name: 'InvalidArgumentError',
    message: 'entry 1: digest "nope" is not a sha256 digest',
  });
});
