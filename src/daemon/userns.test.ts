import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findEntry, freeRange, parseRemapFlag } from './userns.ts';

test('--userns-remap default is dockremap; USER alone uses the group of the same name', () => {
  assert.deepEqual(parseRemapFlag('default'), { user: 'dockremap', group: 'dockremap' });
  assert.deepEqual(parseRemapFlag('alice'), { user: 'alice', group: 'alice' });
  assert.deepEqual(parseRemapFlag('1000:staff'), { user: '1000', group: 'staff' });
  for (const bad of ['', ':g', 'a:', 'a:b:c']) assert.throws(() => parseRemapFlag(bad), /invalid --userns-remap/);
});

test('users and groups are found by name or by number', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\ndockremap:x:102:107::/nonexistent:/bin/false\n';
  assert.deepEqual(findEntry(passwd, 'dockremap'), { name: 'dockremap', id: 102 });
  assert.deepEqual(findEntry(passwd, '0'), { name: 'root', id: 0 });
  assert.equal(findEntry(passwd, 'nobody'), undefined);
});

test('dockremap gets the first free 65536 ids from 100000 on, as dockerd picks them', () => {
  assert.equal(freeRange([]), 100000);
  assert.equal(freeRange([{ start: 100000, count: 65536 }]), 165536);
  assert.equal(freeRange([{ start: 200000, count: 65536 }]), 100000);
  assert.equal(
    freeRange([
      { start: 150000, count: 10 },
      { start: 100000, count: 65536 },
    ]),
    165536,
  );
});
