import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBridgeName } from './bridgename.ts';

const taken = [
  { Name: 'web', Bridge: 'br-web' },
  { Name: 'bridge', Bridge: 'berth0' },
];

test('a bridge name no network has, and none asked for, pass', () => {
  checkBridgeName(undefined, taken);
  checkBridgeName('', taken);
  checkBridgeName('br-db', taken);
  checkBridgeName('a23456789012345', taken);
});

test("a bridge name another network's bridge has is refused in dockerd's words, the default bridge's too", () => {
  assert.throws(
    () => checkBridgeName('br-web', taken),
    /conflicts with network web \(br-web\): networks have same bridge name/,
  );
  assert.throws(() => checkBridgeName('berth0', taken), /conflicts with network bridge \(berth0\)/);
});

test('a name no interface can have is refused before ip tries it', () => {
  for (const bad of ['a234567890123456', 'has space', 'a/b', 'a:b', '.', '..'])
    assert.throws(() => checkBridgeName(bad, taken), /invalid bridge name/, bad);
});
