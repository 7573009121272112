import { test } from 'node:test';
import assert from 'node:assert/strict';
import { categoryOf } from '../errdefs/index.ts';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  capMask,
  capsFromMask,
  generateSpec,
  hostCapabilities,
  normalizeCapability,
  tweakCapabilities,
  withCapabilities,
  withPrivileged,
  withSeccomp,
  withUser,
} from './index.ts';

const ALL = [...ALL_CAPABILITIES];

test("Docker's 14 default capabilities are the kernel mask a80425fb", () => {
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.equal(capMask(DEFAULT_CAPABILITIES), '00000000a80425fb');
  assert.deepEqual(new Set(capsFromMask(0xa80425fbn)), new Set(DEFAULT_CAPABILITIES));
  assert.equal(capMask(['CAP_NET_ADMIN']), '0000000000001000');
  assert.equal(ALL_CAPABILITIES.indexOf('CAP_CHECKPOINT_RESTORE'), 40);
});

test('capability names: with or without CAP_, any case; ALL; unknown ones refused as Docker words it', () => {
  assert.equal(normalizeCapability('net_admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability(' Cap_Net_Admin '), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('all'), 'ALL');
  assert.throws(() => normalizeCapability('NOPE'), /unknown capability: "CAP_NOPE"/);
  try {
    normalizeCapability('nope');
    assert.fail('no error');
  } catch (e) {
    assert.equal((e as Error).message, 'unknown capability: "CAP_NOPE"');
    assert.equal(categoryOf(e), 'InvalidArgument');
  }
});

test("add/drop follow moby's TweakCapabilities", () => {
  const t = (add: string[], drop: string[]) => tweakCapabilities(DEFAULT_CAPABILITIES, add, drop, ALL);
  assert.deepEqual(t([], []), [...DEFAULT_CAPABILITIES], 'nothing asked: the defaults, in their order');
  assert.deepEqual(
    t([], ['chown']),
    DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'),
  );
  assert.deepEqual(t(['SYS_ADMIN'], []), [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], 'adds go after the base');
  assert.deepEqual(t(['CHOWN'], []), [...DEFAULT_CAPABILITIES], 'adding a held one changes nothing');
  assert.deepEqual(t(['NET_ADMIN'], ['ALL']), ['CAP_NET_ADMIN'], 'drop ALL keeps exactly the adds');
  assert.deepEqual(t([], ['ALL']), []);
  assert.deepEqual(
    t(['ALL'], ['NET_RAW']),
    ALL.filter((c) => c !== 'CAP_NET_RAW'),
    'add ALL less the drops',
  );
  assert.deepEqual(t(['ALL'], ['ALL']), ALL, 'add ALL wins over drop ALL, as in moby');
  assert.deepEqual(
    t(['chown'], ['CHOWN']),
    [...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'), 'CAP_CHOWN'],
    'drop, then add at the end',
  );
  // "every capability" is what the host can hand on
  assert.deepEqual(tweakCapabilities(DEFAULT_CAPABILITIES, ['ALL'], [], ['CAP_CHOWN', 'CAP_KILL']), [
    'CAP_CHOWN',
    'CAP_KILL',
  ]);
  assert.throws(() => t(['FOO'], []), /unknown capability: "CAP_FOO"/);
  assert.throws(() => t([], ['BAR']), /unknown capability: "CAP_BAR"/);
});

test('withCapabilities sets bounding, effective and permitted; never inheritable or ambient', () => {
  const s = generateSpec([withCapabilities({ add: ['NET_ADMIN'], drop: ['ALL'] })]);
  assert.deepEqual(s.process.capabilities, {
    bounding: ['CAP_NET_ADMIN'],
    effective: ['CAP_NET_ADMIN'],
    permitted: ['CAP_NET_ADMIN'],
  });
  const d = generateSpec([]);
  assert.deepEqual(d.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
  assert.equal(d.process.capabilities?.inheritable, undefined);
  assert.equal(d.process.capabilities?.ambient, undefined);
});

test('a non-root user keeps only the bounding set, in either order of options', () => {
  for (const opts of [
    [withUser({ uid: 1000, gid: 1000 }), withCapabilities({ add: ['NET_ADMIN'] })],
    [withCapabilities({ add: ['NET_ADMIN'] }), withUser({ uid: 1000, gid: 1000 })],
  ]) {
    const s = generateSpec(opts);
    assert.deepEqual(s.process.capabilities, { bounding: [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'] });
  }
  const back = generateSpec([withUser({ uid: 1000, gid: 1000 }), withUser({ uid: 0, gid: 0 })]);
  assert.deepEqual(back.process.capabilities?.effective, [...DEFAULT_CAPABILITIES], 'root again gets them back');
});

test('privileged: every capability the host can hand on; --cap-add/--cap-drop and seccomp ignored', () => {
  const s = generateSpec([
    withPrivileged({ devices: [] }),
    withCapabilities({ drop: ['ALL'] }),
    withSeccomp('default'),
  ]);
  assert.deepEqual(s.process.capabilities?.bounding, hostCapabilities());
  assert.deepEqual(s.process.capabilities?.effective, hostCapabilities());
  assert.equal(s.linux.seccomp, undefined);
});

test('asking by name for a capability the host does not grant fails now, not at runc start', (t) => {
  const missing = ALL.find((c) => !hostCapabilities().includes(c));
  if (!missing) return t.skip('this host grants every capability');
  try {
    generateSpec([withCapabilities({ add: [missing] })]);
    assert.fail('no error');
  } catch (e) {
    assert.equal(categoryOf(e), 'FailedPrecondition');
    assert.match((e as Error).message, new RegExp(`add capability "${missing}"`));
  }
  // ALL quietly means "all the host has"
  const s = generateSpec([withCapabilities({ add: ['ALL'] })]);
  assert.ok(!s.process.capabilities?.bounding?.includes(missing));
});
