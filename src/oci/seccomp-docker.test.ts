/**
 * Docker's default profile as a container gets it: the verdict of a call (with its arguments)
 * for a set of capabilities, worked out from the OCI section as libseccomp would — the first
 * rule naming the call whose argument conditions all hold, else the default action.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLONE_NAMESPACE_FLAGS,
  DEFAULT_CAPABILITIES,
  defaultSeccompProfile,
  dockerDefaultProfile,
  seccompFor,
  type Seccomp,
} from './index.ts';

const EPERM = 1;
const ENOSYS = 38;
type Verdict = 'allow' | number;

function verdict(s: Seccomp, name: string, args: number[] = []): Verdict {
  for (const r of s.syscalls ?? []) {
    if (!r.names.includes(name)) continue;
    const holds = (r.args ?? []).every((c) => {
      const v = BigInt(args[c.index] ?? 0);
      const x = BigInt(c.value);
      switch (c.op) {
        case 'SCMP_CMP_EQ':
          return v === x;
        case 'SCMP_CMP_NE':
          return v !== x;
        case 'SCMP_CMP_LT':
          return v < x;
        case 'SCMP_CMP_LE':
          return v <= x;
        case 'SCMP_CMP_GT':
          return v > x;
        case 'SCMP_CMP_GE':
          return v >= x;
        case 'SCMP_CMP_MASKED_EQ':
          return (v & x) === BigInt(c.valueTwo ?? 0);
        default:
          throw new Error(`op ${c.op}`);
      }
    });
    if (!holds) continue;
    return r.action === 'SCMP_ACT_ALLOW' ? 'allow' : (r.errnoRet ?? EPERM);
  }
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  return s.defaultErrnoRet ?? EPERM;
}

const host = { arch: 'amd64', kernel: '6.1.0-18-amd64' };
const plain = seccompFor(DEFAULT_CAPABILITIES, undefined, host);
const admin = seccompFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], undefined, host);

test('an unknown or unlisted call answers EPERM, as under dockerd (containers-common answered ENOSYS)', () => {
  assert.equal(plain.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(plain.defaultErrnoRet, EPERM);
  for (const name of ['no_such_call', 'kexec_load', 'keyctl', 'pivot_root', 'userfaultfd', 'swapon'])
    assert.equal(verdict(plain, name), EPERM, name);
  assert.equal(verdict(plain, 'read'), 'allow');
  assert.equal(verdict(plain, 'execve'), 'allow');
});

test('mount, unshare, setns, the new mount API and the rest of the group need CAP_SYS_ADMIN', () => {
  const group = [
    'mount',
    'umount',
    'umount2',
    'unshare',
    'setns',
    'fsopen',
    'fsconfig',
    'fsmount',
    'fspick',
    'open_tree',
    'move_mount',
    'mount_setattr',
    'bpf',
    'perf_event_open',
    'syslog',
    'quotactl',
    'quotactl_fd',
    'sethostname',
    'setdomainname',
    'lookup_dcookie',
    'fanotify_init',
    'lsm_get_self_attr',
    'lsm_set_self_attr',
    'lsm_list_modules',
  ];
  for (const name of group) {
    assert.equal(verdict(plain, name), EPERM, `${name} without CAP_SYS_ADMIN`);
    assert.equal(verdict(admin, name), 'allow', `${name} with CAP_SYS_ADMIN`);
  }
  // the narrower caps open their own calls, and only those
  const withCap = (cap: string) => seccompFor([...DEFAULT_CAPABILITIES, cap], undefined, host);
  assert.equal(verdict(withCap('CAP_SYSLOG'), 'syslog'), 'allow');
  assert.equal(verdict(withCap('CAP_BPF'), 'bpf'), 'allow');
  assert.equal(verdict(withCap('CAP_PERFMON'), 'perf_event_open'), 'allow');
  assert.equal(verdict(withCap('CAP_PERFMON'), 'bpf'), EPERM);
  assert.equal(verdict(plain, 'reboot'), EPERM);
  assert.equal(verdict(withCap('CAP_SYS_BOOT'), 'reboot'), 'allow');
  assert.equal(verdict(plain, 'get_mempolicy'), EPERM);
  assert.equal(verdict(withCap('CAP_SYS_NICE'), 'mbind'), 'allow');
  assert.equal(verdict(plain, 'pidfd_getfd'), EPERM);
  assert.equal(verdict(withCap('CAP_SYS_PTRACE'), 'pidfd_getfd'), 'allow');
});

test('clone with a namespace flag needs CAP_SYS_ADMIN; clone3 answers ENOSYS without it', () => {
  const CLONE_NEWNS = 0x20000;
  const CLONE_NEWUSER = 0x10000000;
  const CLONE_NEWNET = 0x40000000;
  const thread = 0x3d0f00; // what glibc's pthread_create passes: no namespace flag
  assert.equal(CLONE_NAMESPACE_FLAGS, 2114060288);
  assert.equal(verdict(plain, 'clone', [0x11 /* SIGCHLD: fork */]), 'allow');
  assert.equal(verdict(plain, 'clone', [thread]), 'allow');
  for (const f of [CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS | 0x11]) {
    assert.equal(verdict(plain, 'clone', [f]), EPERM, f.toString(16));
    assert.equal(verdict(admin, 'clone', [f]), 'allow', f.toString(16));
  }
  assert.equal(verdict(plain, 'clone3'), ENOSYS);
  assert.equal(verdict(admin, 'clone3'), 'allow');
  // s390 passes the flags second
  const s390 = seccompFor(DEFAULT_CAPABILITIES, undefined, { arch: 's390x', kernel: '6.1.0' });
  assert.equal(verdict(s390, 'clone', [0, 0x11]), 'allow');
  assert.equal(verdict(s390, 'clone', [0, CLONE_NEWNS]), EPERM);
  assert.equal(verdict(s390, 'clone', [CLONE_NEWNS, 0]), 'allow', 'argument 0 is the stack there');
});

test('socket only for the listed address families: AF_ALG and AF_VSOCK are refused', () => {
  const ok = [
    1, 2, 10, 11, 13, 14, 15, 16, 17, 18, 21, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 39, 41, 42, 43, 44, 45,
  ];
  const refused = [12, 19, 20, 23, 25, 34, 37, 38, 40, 46, 1000];
  for (const f of ok) assert.equal(verdict(plain, 'socket', [f, 1, 0]), 'allow', `family ${f}`);
  for (const f of refused) assert.equal(verdict(plain, 'socket', [f, 1, 0]), EPERM, `family ${f}`);
  // capabilities change nothing for socket
  assert.equal(verdict(admin, 'socket', [38, 5, 0]), EPERM);
  assert.equal(verdict(plain, 'socketpair', [1, 1, 0]), 'allow');
});

test('personality only for the plain Linux personalities and the query', () => {
  for (const p of [0, 8, 0x20000, 0x20008, 0xffffffff]) assert.equal(verdict(plain, 'personality', [p]), 'allow');
  for (const p of [0x0040000 /* ADDR_NO_RANDOMIZE */, 0x0400000 /* READ_IMPLIES_EXEC */, 1])
    assert.equal(verdict(plain, 'personality', [p]), EPERM);
});

test('ptrace and process_vm_* from kernel 4.8 (or with CAP_SYS_PTRACE); arch calls on their arches', () => {
  for (const name of ['ptrace', 'process_vm_readv', 'process_vm_writev']) {
    assert.equal(verdict(plain, name), 'allow');
    const old = seccompFor(DEFAULT_CAPABILITIES, undefined, { arch: 'amd64', kernel: '4.4.0' });
    assert.equal(verdict(old, name), EPERM);
    const traced = seccompFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_PTRACE'], undefined, {
      arch: 'amd64',
      kernel: '4.4.0',
    });
    assert.equal(verdict(traced, name), 'allow');
  }
  assert.equal(verdict(plain, 'arch_prctl'), 'allow');
  assert.equal(verdict(plain, 'modify_ldt'), 'allow');
  assert.equal(verdict(plain, 'cacheflush'), EPERM);
  const arm = seccompFor(DEFAULT_CAPABILITIES, undefined, { arch: 'arm64', kernel: '6.1.0' });
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.equal(verdict(arm, 'cacheflush'), 'allow');
  assert.equal(verdict(arm, 'arch_prctl'), EPERM);
});

test('the profile is Docker-format data: a fresh copy each call, the cached default unchanged by conversion', () => {
  const a = dockerDefaultProfile();
  a.syscalls!.length = 0;
  assert.ok(dockerDefaultProfile().syscalls!.length > 50);
  const before = JSON.stringify(defaultSeccompProfile());
  seccompFor([], undefined, host);
  seccompFor(['CAP_SYS_ADMIN'], undefined, { arch: 's390x', kernel: '3.10' });
  assert.equal(JSON.stringify(defaultSeccompProfile()), before);
  // the filter (and so seccomp-cache's key, a hash of it) differs with the caps
  assert.notDeepEqual(plain, admin);
});
