import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idMapOf } from '../../spec/index.ts';
import { checkRemapped, checkUsernsMode, containerIdMap } from './userns.ts';

const map = idMapOf([{ start: 100000, count: 65536 }], [{ start: 100000, count: 65536 }]);

test('under a remap every container gets the user namespace but one created with --userns=host', () => {
  assert.equal(containerIdMap({}, map), map);
  assert.equal(containerIdMap({ UsernsMode: 'host' }, map), undefined);
  assert.equal(containerIdMap({}, undefined), undefined);
});

test('a remapped container may not be privileged nor share the host’s PID or network namespace, in dockerd’s words', () => {
  assert.throws(() => checkRemapped({ Privileged: true }, map), /privileged mode is incompatible with user namespaces/);
  assert.throws(() => checkRemapped({ PidMode: 'host' }, map), /cannot share the host PID namespace/);
  assert.throws(() => checkRemapped({ NetworkMode: 'host' }, map), /cannot share the host's network namespace/);
  checkRemapped({ Privileged: true, PidMode: 'host', NetworkMode: 'host', UsernsMode: 'host' }, map);
  checkRemapped({ Privileged: true, PidMode: 'host' }, undefined);
});

test('--userns accepts only the daemon default and host', () => {
  checkUsernsMode({});
  checkUsernsMode({ UsernsMode: 'host' });
  assert.throws(() => checkUsernsMode({ UsernsMode: 'private' }), /invalid USER mode: private/);
});
