import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combineCommand, tweakCapabilities, DEFAULT_CAPABILITIES, seccompFor, resolveUser, generateSpec, withCapabilities, withSeccomp, withPrivileged, withCpus, withUlimits, withInit, withProcessArgs, hostCapabilities } from './index.ts';

test('ENTRYPOINT and CMD combine by Docker rules', () => {
  const image = { imageEntrypoint: ['/entry'], imageCmd: ['default'] };
  assert.deepEqual(combineCommand({ ...image, entrypointSet: false }), ['/entry', 'default']);
  assert.deepEqual(combineCommand({ ...image, cmd: ['x'], entrypointSet: false }), ['/entry', 'x']);
  assert.deepEqual(combineCommand({ ...image, entrypoint: ['echo'], entrypointSet: true }), ['echo'], 'a new entrypoint drops the image CMD');
  assert.deepEqual(combineCommand({ ...image, entrypoint: [], cmd: ['ls'], entrypointSet: true }), ['ls']);
  assert.throws(() => combineCommand({ entrypointSet: false }), /no command specified/);
});

test("capabilities follow Docker's add/drop rules", () => {
  assert.equal(tweakCapabilities(DEFAULT_CAPABILITIES, [], []).length, 14);
  assert.deepEqual(tweakCapabilities(DEFAULT_CAPABILITIES, ['net_admin'], ['ALL']), ['CAP_NET_ADMIN']);
  assert.ok(!tweakCapabilities(DEFAULT_CAPABILITIES, [], ['CHOWN']).includes('CAP_CHOWN'));
  assert.ok(tweakCapabilities(DEFAULT_CAPABILITIES, ['SYS_ADMIN'], []).includes('CAP_SYS_ADMIN'));
  assert.throws(() => tweakCapabilities(DEFAULT_CAPABILITIES, ['NOPE'], []), /unknown capability: "NOPE"/);
});

test('the default seccomp profile depends on the capabilities held', () => {
  const plain = seccompFor([...DEFAULT_CAPABILITIES]);
  const admin = seccompFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
  const allowed = (s: typeof plain) => new Set(s.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));
  assert.equal(plain.defaultAction, 'SCMP_ACT_ERRNO');
  assert.ok(plain.architectures!.includes('SCMP_ARCH_X86_64'));
  assert.ok(!allowed(plain).has('quotactl'), 'quotactl needs CAP_SYS_ADMIN');
  assert.ok(allowed(admin).has('quotactl'));
  assert.ok(allowed(plain).has('read'));
  assert.throws(() => seccompFor([], '{not json'), /decoding seccomp profile failed/);
});

test('options compose into the spec', () => {
  const s = generateSpec('x', [withProcessArgs(['sh']), withCapabilities({ add: [], drop: ['ALL'] }), withSeccomp('default'), withCpus(500_000_000), withUlimits([{ name: 'nofile', soft: 10, hard: 20 }]), withInit('/usr/bin/tini-static')]);
  assert.deepEqual(s.process.capabilities!.effective, []);
  assert.equal(s.linux.resources!.cpu!.quota, 50_000);
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }]);
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sh']);
  assert.ok(s.linux.maskedPaths!.includes('/proc/kcore'));
  assert.ok(s.linux.readonlyPaths!.includes('/proc/sys'));
  const p = generateSpec('y', [withPrivileged()]);
  assert.deepEqual(p.process.capabilities!.bounding, hostCapabilities());
  assert.deepEqual(p.linux.maskedPaths, []);
  assert.equal(p.linux.seccomp, undefined);
});

test('resolveUser reads the container passwd inside its root, never the host one', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'berth-user-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'etc'));
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\napp:x:1001:\nextra:x:2000:app\n');
  assert.deepEqual(await resolveUser('app', root), { uid: 1000, gid: 1001, additionalGids: [2000] });
  assert.deepEqual(await resolveUser('1000:extra', root), { uid: 1000, gid: 2000, additionalGids: [] });
  assert.deepEqual(await resolveUser('4242', root), { uid: 4242, gid: 0, additionalGids: [] });
  await assert.rejects(resolveUser('ghost', root), /unable to find user ghost: no matching entries in passwd file/);
  // A hostile image whose /etc/passwd points at the host's: it must not be read.
  await rm(join(root, 'etc/passwd'));
  await symlink('/etc/passwd', join(root, 'etc/passwd'));
  await assert.rejects(resolveUser('daemon', root), /unable to find user daemon/);
});
