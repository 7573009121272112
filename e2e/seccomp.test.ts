/**
 * Docker's default seccomp profile through the real docker CLI: what a program in a default
 * container gets back from the calls the profile decides (bench/seccomp-probe.c, built static
 * and bound in, makes the raw calls busybox cannot), what CAP_SYS_ADMIN opens, and that
 * --privileged, seccomp=unconfined and a profile of the user's own replace it. The numbers are
 * amd64's; on other hosts the probe's part is skipped.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, dockerOk, docker, startDaemonWithBusybox, REPO, type Daemon } from './harness.ts';

const EPERM = '-1';
const ENOSYS = '-38';
const amd64 = process.arch === 'x64';

let d: Daemon;
let dir: string;
let probe: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-e2e-seccomp-'));
  probe = join(dir, 'probe');
  const cc = spawnSync('cc', ['-O2', '-static', '-o', probe, join(REPO, 'bench/seccomp-probe.c')], {
    encoding: 'utf8',
  });
  assert.equal(cc.status, 0, cc.stderr);
  d = await startDaemonWithBusybox();
});
after(async () => {
  await cleanup(d);
  rmSync(dir, { recursive: true, force: true });
});

/** The probe's answers ("-1" for EPERM...) to `calls`, in a container run with `flags`. */
async function calls(flags: string[], calls: Record<string, string>): Promise<Record<string, string>> {
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${probe}:/probe:ro`,
    ...flags,
    'busybox',
    '/probe',
    ...Object.values(calls),
  ]);
  const got = out.trim().split('\n');
  return Object.fromEntries(Object.keys(calls).map((k, i) => [k, got[i]!.split(' ').slice(1).join(' ')]));
}

// amd64 numbers: socket 41, unshare 272, setns 308, clone3 435; 400 is a number amd64 never
// assigned (between 334 and 424), so only the filter's default can answer it.
const PROBES = {
  vsock: '41:40:1:0',
  alg: '41:38:5:0',
  inet: '41:2:1:0',
  unix: '41:1:1:0',
  unassigned: '400',
  unshareNs: '272:0x20000',
  cloneNs: 'clone:0x20000',
  fork: 'clone:0',
  clone3: '435:0:0',
};

test('a default container: mount and unshare -m refused with EPERM before the kernel sees them', async () => {
  const mount = await docker(d, ['run', '--rm', 'busybox', 'mount', '-t', 'tmpfs', 't', '/nonexistent']);
  assert.notEqual(mount.code, 0);
  // EPERM (busybox words it "permission denied"), not the kernel's ENOENT for the missing target
  assert.match(mount.stderr, /permission denied/i);
  assert.doesNotMatch(mount.stderr, /No such file/);
  const unshare = await docker(d, ['run', '--rm', 'busybox', 'unshare', '-m', 'true']);
  assert.notEqual(unshare.code, 0);
  assert.match(unshare.stderr, /Operation not permitted/);
  assert.match(await dockerOk(d, ['run', '--rm', 'busybox', 'grep', 'Seccomp:', '/proc/self/status']), /Seccomp:\s+2/);
});

test(
  'a default container: AF_VSOCK and AF_ALG sockets, unknown calls, namespace clones refused',
  { skip: !amd64 },
  async () => {
    const r = await calls([], PROBES);
    assert.equal(r.vsock, EPERM);
    assert.equal(r.alg, EPERM);
    assert.match(r.inet!, /^\d+$/, 'AF_INET is allowed');
    assert.match(r.unix!, /^\d+$/, 'AF_UNIX is allowed');
    assert.equal(r.unassigned, EPERM, "the profile's default answer is EPERM, as under dockerd (not ENOSYS)");
    assert.equal(r.unshareNs, EPERM);
    assert.equal(r.cloneNs, EPERM);
    assert.equal(r.fork, 'child', 'clone without namespace flags works');
    assert.equal(r.clone3, ENOSYS, 'clone3 answers ENOSYS so that libc falls back to clone');
  },
);

test('--cap-add SYS_ADMIN opens mount, unshare and namespace clones; sockets stay refused', async () => {
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--cap-add',
    'SYS_ADMIN',
    'busybox',
    'sh',
    '-c',
    'mkdir /m && mount -t tmpfs t /m && grep -c " /m tmpfs " /proc/mounts && unshare -m true && echo unshared',
  ]);
  assert.equal(out, '1\nunshared\n');
  if (!amd64) return;
  const r = await calls(['--cap-add', 'SYS_ADMIN'], PROBES);
  assert.equal(r.cloneNs, 'child');
  assert.equal(r.unshareNs, '0');
  assert.notEqual(r.clone3, ENOSYS, 'clone3 reaches the kernel');
  assert.equal(r.vsock, EPERM);
  assert.equal(r.alg, EPERM);
});

test("--privileged and seccomp=unconfined have no filter; a profile of the user's own replaces the default", async () => {
  for (const flags of [['--privileged'], ['--security-opt', 'seccomp=unconfined']]) {
    const status = await dockerOk(d, ['run', '--rm', ...flags, 'busybox', 'grep', 'Seccomp:', '/proc/self/status']);
    assert.match(status, /Seccomp:\s+0/, flags.join(' '));
  }
  const own = join(dir, 'profile.json');
  writeFileSync(
    own,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    }),
  );
  const mk = await docker(d, ['run', '--rm', '--security-opt', `seccomp=${own}`, 'busybox', 'mkdir', '/tmp/x']);
  assert.notEqual(mk.code, 0);
  assert.match(mk.stderr, /Permission denied/);
  if (!amd64) return;
  const r = await calls(['--security-opt', `seccomp=${own}`], PROBES);
  assert.equal(r.unassigned, ENOSYS, 'allowed by that profile: the kernel answers');
  assert.notEqual(r.alg, EPERM);
});
