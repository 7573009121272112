import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeRootfsFile } from './containers.ts';

test('a bind mount of a file on / names a file image and leaves the request; other mounts stay', () => {
  const body = {
    Image: 'scratch',
    HostConfig: {
      Mounts: [
        { Type: 'bind', Source: '/data', Target: '/data' },
        { Type: 'bind', Source: '/srv/app.sqfs', Target: '/', ReadOnly: true },
      ],
    },
  };
  assert.equal(takeRootfsFile(body), '/srv/app.sqfs');
  assert.deepEqual(body.HostConfig.Mounts, [{ Type: 'bind', Source: '/data', Target: '/data' }]);
  const binds = { Image: 'scratch', HostConfig: { Binds: ['/v:/v', '/srv/app.sqfs:/:ro'] } };
  assert.equal(takeRootfsFile(binds), '/srv/app.sqfs');
  assert.deepEqual(binds.HostConfig.Binds, ['/v:/v']);
  assert.equal(takeRootfsFile({ Image: 'busybox', HostConfig: { Binds: ['/v:/v'] } }), undefined);
});

test('a volume on / is no file image: it is left for the volume service to refuse as dockerd does', () => {
  const body = {
    Image: 'busybox',
    HostConfig: { Binds: ['v1:/'], Mounts: [{ Type: 'volume', Source: 'v1', Target: '/' }] },
  };
  assert.equal(takeRootfsFile(body), undefined);
  assert.deepEqual(body.HostConfig.Binds, ['v1:/']);
  assert.equal(body.HostConfig.Mounts.length, 1);
});

test('a file image with another image, or a relative path, is refused', () => {
  assert.throws(
    () =>
      takeRootfsFile({ Image: 'busybox', HostConfig: { Mounts: [{ Type: 'bind', Source: '/a.sqfs', Target: '/' }] } }),
    /the image must be "scratch", not "busybox"/,
  );
  assert.throws(
    () =>
      takeRootfsFile({ Image: 'scratch', HostConfig: { Mounts: [{ Type: 'bind', Source: 'a.sqfs', Target: '/' }] } }),
    /must be absolute/,
  );
});
