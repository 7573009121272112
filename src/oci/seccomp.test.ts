import { test } from 'node:test';
import assert from 'node:assert/strict';
import { categoryOf } from '../errdefs/index.ts';
import {
  DEFAULT_CAPABILITIES,
  defaultSeccompProfile,
  generateSpec,
  parseSeccompProfile,
  seccompFor,
  withCapabilities,
  withSeccomp,
  type Seccomp,
  type SeccompProfile,
} from './index.ts';

const allowed = (s: Seccomp) =>
  new Set((s.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));

const profile: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [], includes: {}, excludes: {} },
    { names: ['quotactl'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['quotactl'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['both'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['not_on_arm'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['arm64'] } },
    { names: ['new_call'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.10' } },
    { names: ['old_only'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '6.0' } },
    { name: 'legacy', action: 'SCMP_ACT_ALLOW' },
    {
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
    },
  ],
};
const amd64 = { arch: 'amd64', kernel: '6.1.0-18-amd64' };

test('a rule with includes.caps appears only when every listed cap is held; excludes.caps the other way round', () => {
  const plain = seccompFor(DEFAULT_CAPABILITIES, profile, amd64);
  const admin = seccompFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], profile, amd64);
  const quotactl = (s: Seccomp) => s.syscalls!.filter((r) => r.names.includes('quotactl'));
  assert.deepEqual(quotactl(plain), [{ names: ['quotactl'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }]);
  assert.deepEqual(quotactl(admin), [{ names: ['quotactl'], action: 'SCMP_ACT_ALLOW' }]);
  assert.ok(!allowed(admin).has('both'), 'needs all of its caps');
  assert.ok(allowed(seccompFor(['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'], profile, amd64)).has('both'));
});

test('architectures come from archMap for the host; arch filters use Go names', () => {
  const x = seccompFor([], profile, amd64);
  assert.deepEqual(x.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.ok(allowed(x).has('arch_prctl'));
  assert.ok(allowed(x).has('not_on_arm'));
  const arm = seccompFor([], profile, { arch: 'arm64', kernel: '6.1.0' });
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(!allowed(arm).has('arch_prctl'));
  assert.ok(!allowed(arm).has('not_on_arm'));
  // a profile with plain "architectures" keeps them as they are
  assert.deepEqual(
    seccompFor([], { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'] }, amd64).architectures,
    ['SCMP_ARCH_X86_64'],
  );
});

test('minKernel compares with the running kernel (major.minor, then patch)', () => {
  const k = (kernel: string) => allowed(seccompFor([], profile, { arch: 'amd64', kernel }));
  assert.ok(k('5.10.0').has('new_call'));
  assert.ok(k('6.18.44-fc-v595').has('new_call'));
  assert.ok(!k('5.9.16').has('new_call'));
  assert.ok(!k('4.19.0-21-amd64').has('new_call'));
  assert.ok(k('5.15.0').has('old_only'));
  assert.ok(!k('6.0.0').has('old_only'));
});

test('the output is the OCI section: default action and errno, legacy name, args kept, no Docker-only fields', () => {
  const s = seccompFor([], profile, amd64);
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 38);
  assert.ok(allowed(s).has('legacy'));
  assert.deepEqual(
    s.syscalls!.find((r) => r.names[0] === 'personality'),
    {
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }],
    },
  );
  for (const r of s.syscalls!) {
    assert.deepEqual(
      Object.keys(r).filter((k) => !['names', 'action', 'errnoRet', 'args'].includes(k)),
      [],
    );
    if ('args' in r) assert.ok(r.args!.length > 0, 'empty args are left out');
  }
});

test('profiles are checked as Docker checks them', () => {
  const bad = (json: string, re: RegExp) => {
    try {
      parseSeccompProfile(json);
      assert.fail(`accepted ${json}`);
    } catch (e) {
      assert.equal(categoryOf(e), 'InvalidArgument');
      assert.match((e as Error).message, re);
    }
  };
  bad('{not json', /^decoding seccomp profile failed: /);
  bad('[]', /must be a JSON object/);
  bad('{}', /defaultAction is required/);
  bad(
    '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}',
    /both 'architectures' and 'archMap'/,
  );
  bad(
    '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}',
    /both 'name' and 'names'/,
  );
  bad(
    '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"x"}}]}',
    /invalid kernel version/,
  );
  assert.equal(parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW"}').defaultAction, 'SCMP_ACT_ALLOW');
  assert.throws(() => seccompFor([], '{not json'), /decoding seccomp profile failed/);
});

test("withSeccomp: 'unconfined', a user profile as JSON text, and the capabilities decided by any option", () => {
  assert.equal(generateSpec([withSeccomp('unconfined')]).linux.seccomp, undefined);
  const user = generateSpec([withSeccomp(JSON.stringify(profile))]).linux.seccomp!;
  assert.equal(user.defaultErrnoRet, 38);
  // late: the filter follows capabilities given after it
  const s = generateSpec([withSeccomp(JSON.stringify(profile)), withCapabilities({ add: ['SYS_ADMIN'] })]);
  assert.ok(allowed(s.linux.seccomp!).has('quotactl'));
});

test("the default profile (Docker's) converts for this host and the default capabilities", () => {
  const plain = seccompFor(DEFAULT_CAPABILITIES);
  const admin = seccompFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
  assert.equal(plain.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(plain.defaultErrnoRet, 1);
  if (process.arch === 'x64')
    assert.deepEqual(plain.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.ok(allowed(plain).has('read'));
  assert.ok(allowed(plain).has('chroot'), 'CAP_SYS_CHROOT is a default');
  assert.ok(!allowed(plain).has('quotactl'), 'quotactl needs CAP_SYS_ADMIN');
  assert.ok(allowed(admin).has('quotactl'));
  assert.ok(!allowed(seccompFor([])).has('chroot'));
  assert.equal(defaultSeccompProfile(), defaultSeccompProfile(), 'built once');
  const spec = generateSpec([withSeccomp('default')]);
  assert.deepEqual(spec.linux.seccomp, plain);
});
