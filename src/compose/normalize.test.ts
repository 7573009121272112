import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePort, parseVolume } from './normalize.ts';

test('short port and volume syntaxes', () => {
  assert.deepEqual(parsePort('3000'), [{ target: 3000, protocol: 'tcp', mode: 'ingress' }]);
  assert.deepEqual(
    parsePort('3000-3001').map((x) => x.target),
    [3000, 3001],
  );
  assert.deepEqual(parsePort('8000-8010:80'), [
    { target: 80, published: '8000-8010', protocol: 'tcp', mode: 'ingress' },
  ]);
  assert.deepEqual(parsePort('[::1]:6001:6001'), [
    { target: 6001, published: '6001', host_ip: '::1', protocol: 'tcp', mode: 'ingress' },
  ]);
  assert.throws(() => parsePort('9000-9002:80-81'), /don't match/);
  assert.deepEqual(parseVolume('~/x:/y', '/p').type, 'bind');
  assert.deepEqual(parseVolume('../up:/y:rw', '/p/q'), {
    type: 'bind',
    source: '/p/up',
    target: '/y',
    bind: { create_host_path: true },
  });
  assert.deepEqual(parseVolume('v:/y:ro,nocopy', '/p'), {
    type: 'volume',
    source: 'v',
    target: '/y',
    read_only: true,
    volume: { nocopy: true },
  });
});
