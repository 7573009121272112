import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './config.ts';

const base = {
  ociVersion: '1.0.2',
  process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
  root: { path: 'rootfs' },
  linux: { namespaces: [{ type: 'pid' }, { type: 'network' }] },
};

test('a network namespace of its own is "new"; one to join is its path; none is the host', () => {
  assert.equal(parseConfig(JSON.stringify(base)).netns, 'new');
  const joined = { ...base, linux: { namespaces: [{ type: 'network', path: '/proc/1/ns/net' }] } };
  assert.equal(parseConfig(JSON.stringify(joined)).netns, '/proc/1/ns/net');
  assert.equal(parseConfig(JSON.stringify({ ...base, linux: {} })).netns, undefined);
});

test('RLIM_INFINITY written exactly by Berth survives JSON.parse as unlimited', () => {
  const text = JSON.stringify({
    ...base,
    process: { ...base.process, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1 }] },
  }).replace('"hard":1', '"hard":18446744073709551615');
  assert.deepEqual(parseConfig(text).process.rlimits, [
    { type: 'RLIMIT_NOFILE', soft: '1024', hard: '18446744073709551615' },
  ]);
});

test('a bundle without a root or a command is refused by name', () => {
  assert.throws(() => parseConfig(JSON.stringify({ ...base, root: {} })), /root.path/);
  assert.throws(
    () => parseConfig(JSON.stringify({ ...base, process: { ...base.process, args: [] } })),
    /process.args must not be empty/,
  );
  assert.throws(() => parseConfig('{'), /config.json/);
});

test('a mount without a type but with bind options is a bind', () => {
  const s = parseConfig(
    JSON.stringify({ ...base, mounts: [{ destination: '/data', source: '/srv', options: ['rbind', 'ro'] }] }),
  );
  assert.equal(s.mounts[0]!.type, 'bind');
});
