import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunMount } from './mounts.ts';

test('RUN --mount values: cache ids default to the target, binds are read-only unless rw, ssh is refused', () => {
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
  assert.throws(() => parseRunMount('type=ssh'), /type=ssh is not supported/);
  assert.throws(() => parseRunMount('type=cache'), /mount destination not set/);
  assert.throws(() => parseRunMount('type=bind,from=builder,target=/x'), /from=\.\.\. is not supported/);
  assert.throws(() => parseRunMount('type=cache,target=/x,colour=red'), /unexpected key 'colour'/);
});

test("RUN --mount=type=secret: BuildKit's defaults (/run/secrets/<id>, 0400, root), id from the target, required", () => {
  assert.deepEqual(parseRunMount('type=secret,id=tok'), {
    type: 'secret',
    target: '/run/secrets/tok',
    id: 'tok',
    readonly: true,
    required: false,
    mode: 0o400,
    uid: 0,
    gid: 0,
  });
  const m = parseRunMount('type=secret,target=/etc/npmrc,required,mode=0440,uid=1000,gid=1000');
  assert.deepEqual(
    [m.id, m.target, m.required, m.mode, m.uid, m.gid],
    ['npmrc', '/etc/npmrc', true, 0o440, 1000, 1000],
  );
  assert.throws(() => parseRunMount('type=secret'), /secret ID missing/);
  assert.throws(() => parseRunMount('type=secret,id=x,mode=rw'), /invalid mode "rw"/);
});
