import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Image } from '../../images/index.ts';
import type { Digest } from '../../spec/index.ts';
import { checkCreateRequest, checkPlatform, newRecord } from './create.ts';

const image: Pick<Image, 'id' | 'config' | 'topChain'> = {
  id: `sha256:${'cd'.repeat(32)}` as Digest,
  topChain: null,
  config: {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
    config: {
      Env: ['PATH=/bin', 'A=image', 'B=image'],
      Cmd: ['serve'],
      Entrypoint: ['/init'],
      Labels: { from: 'image', both: 'image' },
      ExposedPorts: { '80/tcp': {} },
      WorkingDir: '/srv',
    },
  },
};
const at = { id: 'f'.repeat(64), name: 'web', image, runtime: 'crun', now: new Date('2026-01-02T03:04:05Z') };

test("a new record puts the request over the image's config, by Docker's rules", () => {
  const r = newRecord(
    { Image: 'img', Env: ['B=request', 'C=request'], Labels: { both: 'request' }, ExposedPorts: { '53/udp': {} } },
    at,
  );
  assert.deepEqual(r.Config.Env, ['PATH=/bin', 'A=image', 'B=request', 'C=request']);
  assert.deepEqual(r.Config.Labels, { from: 'image', both: 'request' });
  assert.deepEqual(Object.keys(r.Config.ExposedPorts ?? {}), ['80/tcp', '53/udp']);
  assert.equal(r.Path, '/init');
  assert.deepEqual(r.Args, ['serve']);
  assert.equal(r.Config.WorkingDir, '/srv');
  assert.equal(r.Config.Hostname, 'ffffffffffff');
  assert.equal(r.Created, '2026-01-02T03:04:05.000Z');
  assert.equal(r.HostConfig.Runtime, 'crun');
  assert.deepEqual(r.HostConfig.LogConfig, { Type: 'json-file', Config: {} });
  assert.equal(r.State.Status, 'created');
});

test("an --entrypoint drops the image's CMD; an empty one drops the image's ENTRYPOINT too", () => {
  const own = newRecord({ Image: 'img', Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'] }, at);
  assert.equal(own.Path, '/bin/sh');
  assert.deepEqual(own.Args, ['-c', 'echo hi']);
  const bare = newRecord({ Image: 'img', Entrypoint: ['/bin/true'] }, at);
  assert.equal(bare.Config.Cmd, null);
  const emptied = newRecord({ Image: 'img', Entrypoint: '', Cmd: ['ls'] }, at);
  assert.equal(emptied.Config.Entrypoint, null);
  assert.equal(emptied.Path, 'ls');
});

test('a request without a PATH gets the default one; one of the wrong shape is refused', () => {
  const noPath = newRecord(
    { Image: 'img', Cmd: ['true'] },
    { ...at, image: { ...image, config: { ...image.config, config: {} } } },
  );
  assert.equal(noPath.Config.Env?.[0], 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  assert.throws(() => checkCreateRequest([] as never), /expected a JSON object/);
  assert.throws(() => checkCreateRequest({}), /no image specified/);
});

test("--platform must be the image's: another architecture is a 404 naming both", () => {
  checkPlatform('img', 'linux/x86_64', image.config);
  assert.throws(
    () => checkPlatform('img', 'linux/arm64', image.config),
    /does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/,
  );
});
