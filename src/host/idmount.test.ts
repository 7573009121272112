import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idmountArgs } from './idmount.ts';

test('berth-idmount gets every range of the map and the lowers topmost first', () => {
  const map = {
    uids: [
      { containerID: 0, hostID: 100000, size: 65536 },
      { containerID: 65536, hostID: 300000, size: 10 },
    ],
    gids: [{ containerID: 0, hostID: 200000, size: 65536 }],
  };
  assert.deepEqual(idmountArgs({ map, lowers: ['/init', '/top', '/base'], upper: '/u', work: '/w', target: '/r' }), [
    '--uid-map',
    '0:100000:65536,65536:300000:10',
    '--gid-map',
    '0:200000:65536',
    '--lower',
    '/init',
    '--lower',
    '/top',
    '--lower',
    '/base',
    '--upper',
    '/u',
    '--work',
    '/w',
    '/r',
  ]);
});
