import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idMapOf, parseSubIds, rootOf, toContainer, toHost } from './index.ts';

const SUBUID = `# subordinate ids
alice:200000:65536
dockremap:100000:65536
102:300000:1000
bad:line
`;

test('a user’s subordinate ranges are read by name or by number, in file order', () => {
  assert.deepEqual(parseSubIds(SUBUID, 'dockremap', 102), [
    { start: 100000, count: 65536 },
    { start: 300000, count: 1000 },
  ]);
  assert.deepEqual(parseSubIds(SUBUID, 'nobody-here'), []);
});

test('several ranges are laid end to end from container id 0, as dockerd maps them', () => {
  const map = idMapOf(parseSubIds(SUBUID, 'dockremap', 102), [{ start: 100000, count: 65536 }]);
  assert.deepEqual(map.uids, [
    { containerID: 0, hostID: 100000, size: 65536 },
    { containerID: 65536, hostID: 300000, size: 1000 },
  ]);
  assert.deepEqual(rootOf(map), { uid: 100000, gid: 100000 });
  assert.deepEqual(toHost(map, 65537, 5), { uid: 300001, gid: 100005 });
  assert.deepEqual(toContainer(map, 300001, 100005), { uid: 65537, gid: 5 });
});

test('ids outside the map: none on the host side, the overflow id on the container side', () => {
  const map = idMapOf([{ start: 100000, count: 10 }], [{ start: 100000, count: 10 }]);
  assert.equal(toHost(map, 10, 0), undefined);
  assert.deepEqual(toContainer(map, 0, 0), { uid: 65534, gid: 65534 });
});
