import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunMount } from './mounts.ts';

test('RUN --mount values: cache ids default to the target, binds are read-only unless rw, secrets are refused', () => {
  assert.deepEqual(parseRunMount('type=cache,target=/root/.cache'), {
    type: 'cache',
    target: '/root/.cache',
    id: '/root/.cache',
    readonly: false,
  });
  assert.deepEqual(parseRunMount('type=cache,dst=/c,id=pip,sharing=locked'), {
    type: 'cache',
    target: '/c',
    id: 'pip',
    readonly: false,
  });
  assert.deepEqual(parseRunMount('target=/src'), { type: 'bind', target: '/src', source: '.', readonly: true });
  assert.deepEqual(parseRunMount('type=bind,src=a,target=/a,rw'), {
    type: 'bind',
    target: '/a',
    source: 'a',
    readonly: false,
  });
  assert.throws(() => parseRunMount('type=secret,id=tok'), /type=secret is not supported/);
  assert.throws(() => parseRunMount('type=cache'), /mount destination not set/);
  assert.throws(() => parseRunMount('type=bind,from=builder,target=/x'), /from=\.\.\. is not supported/);
  assert.throws(() => parseRunMount('type=cache,target=/x,colour=red'), /unexpected key 'colour'/);
});
