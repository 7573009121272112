/**
 * Docker's default seccomp profile, the one dockerd compiles in, stated as Berth's own data.
 *
 * The rules are moby's default profile (moby/profiles, seccomp/default.json at commit
 * 02e898b137aed1024e232d59bcb05e6179b72177), rule for rule and in its order, so that
 * `seccompFor` gives a container what dockerd would give it for the same capabilities,
 * architecture and kernel. It replaces Debian containers-common's file
 * (/usr/share/containers/seccomp.json, Podman's profile), which differs in ways a user sees:
 * an unlisted syscall answered ENOSYS instead of EPERM; mount, umount2, unshare, clone with a
 * namespace flag, fsopen and the new mount API, syslog open to every container instead of only
 * with CAP_SYS_ADMIN (clone3: ENOSYS without it), reboot without CAP_SYS_BOOT, mbind without
 * CAP_SYS_NICE; socket open to nearly every address family (AF_ALG, AF_VSOCK among them);
 * keyctl and pivot_root allowed (not listed by moby, so EPERM).
 *
 * Built here rather than read from a file or made by transforming Debian's: Docker's default does
 * not depend on which containers-common the host has (its file changes with the package, and a
 * transform would be a patch against one version of it), and a daemon without the package still
 * confines its containers. A user's `--security-opt seccomp=<file>` still goes through
 * `parseSeccompProfile`; this is only the default.
 */
import type { ProfileSyscall, SeccompProfile } from './seccomp.ts';

const words = (s: string) => s.trim().split(/\s+/);

/** Allowed to every container, whatever its capabilities. */
const ALWAYS = words(`
  accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
  clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
  clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2
  dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
  epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
  fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat
  fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64
  fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64
  futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32
  geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp
  getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit
  get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday
  getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init inotify_init1
  inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64
  ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset
  landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount listxattr
  listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
  map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock
  mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
  mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget
  msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect
  open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free
  pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease
  pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
  recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename
  renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending
  rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
  rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
  sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
  sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
  sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile
  sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
  setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32
  setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
  set_thread_area set_tid_address setuid setuid32 setxattr setxattrat shmat shmctl shmdt shmget
  shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat
  stat64 statfs statfs64 statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo tee
  tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
  timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
  timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
  uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write
  writev
`);

/**
 * The address families `socket` may be asked for (its argument 0): every one below 12 (AF_UNIX,
 * AF_INET, AF_INET6 10…) and those listed (AF_NETLINK 16, AF_PACKET 17, AF_CAN 29, AF_XDP 44…).
 * Refused: AF_DECnet 12, AF_ECONET 19, AF_ATMSVC 20, AF_IRDA 23, AF_WANPIPE 25, AF_ISDN 34,
 * AF_CAIF 37, AF_ALG 38 (the kernel's crypto API, a repeated way in for exploits), AF_VSOCK 40
 * (sockets to the hypervisor) and any above 45. (moby/profiles' history also has the looser
 * form "below 38, 39, above 40", which refuses only AF_ALG and AF_VSOCK; dockerd 20.10's older
 * profile allowed every family.)
 */
const SOCKET_FAMILIES_EQ = [
  13, 14, 15, 16, 17, 18, 21, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 39, 41, 42, 43, 44, 45,
];
const SOCKET_FAMILIES_BELOW = 12;

/**
 * personality(2) values a container may set: PER_LINUX 0, PER_LINUX32 8, UNAME26 0x20000, and
 * the two together; 0xffffffff only queries. Others (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE…)
 * would weaken the process's own protections.
 */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/**
 * The namespace flags of clone(2): NEWNS 0x20000, NEWCGROUP 0x2000000, NEWUTS 0x4000000,
 * NEWIPC 0x8000000, NEWUSER 0x10000000, NEWPID 0x20000000, NEWNET 0x40000000 (= 2114060288).
 * Without CAP_SYS_ADMIN, clone is allowed only when `flags & CLONE_NS == 0`.
 */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** Allowed only with CAP_SYS_ADMIN (some also with a narrower cap, below). */
const SYS_ADMIN = words(`
  bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr
  lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open
  quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare
`);

/** Calls allowed with one capability other than CAP_SYS_ADMIN. */
const BY_CAP: Array<[string, string[]]> = [
  ['CAP_SYS_BOOT', ['reboot']],
  ['CAP_SYS_CHROOT', ['chroot']],
  ['CAP_SYS_MODULE', ['delete_module', 'init_module', 'finit_module']],
  ['CAP_SYS_PACCT', ['acct']],
  ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace']],
  ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
  ['CAP_SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']],
  ['CAP_SYS_TTY_CONFIG', ['vhangup']],
  ['CAP_SYS_NICE', ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']],
  ['CAP_SYSLOG', ['syslog']],
  ['CAP_BPF', ['bpf']],
  ['CAP_PERFMON', ['perf_event_open']],
];

const ALLOW = 'SCMP_ACT_ALLOW';
const allow = (names: string[], more: Omit<ProfileSyscall, 'names' | 'action'> = {}): ProfileSyscall => ({
  names,
  action: ALLOW,
  ...more,
});
const arg0 = (value: number, op: string) => ({ args: [{ index: 0, value, op }] });

function rules(): ProfileSyscall[] {
  return [
    allow(ALWAYS),
    // ptrace of a process of one's own needed 4.8's fix of seccomp bypass through ptrace.
    allow(['process_vm_readv', 'process_vm_writev', 'ptrace'], { includes: { minKernel: '4.8' } }),
    allow(['socket'], arg0(SOCKET_FAMILIES_BELOW, 'SCMP_CMP_LT')),
    ...SOCKET_FAMILIES_EQ.map((f) => allow(['socket'], arg0(f, 'SCMP_CMP_EQ'))),
    ...PERSONALITIES.map((p) => allow(['personality'], arg0(p, 'SCMP_CMP_EQ'))),
    allow(['sync_file_range2', 'swapcontext'], { includes: { arches: ['ppc64le'] } }),
    allow(['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'], {
      includes: { arches: ['arm', 'arm64'] },
    }),
    allow(['arch_prctl'], { includes: { arches: ['amd64', 'x32'] } }),
    allow(['modify_ldt'], { includes: { arches: ['amd64', 'x32', 'x86'] } }),
    allow(['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], {
      includes: { arches: ['s390', 's390x'] },
    }),
    allow(['riscv_flush_icache'], { includes: { arches: ['riscv64'] } }),
    allow(['open_by_handle_at'], { includes: { caps: ['CAP_DAC_READ_SEARCH'] } }),
    allow(SYS_ADMIN, { includes: { caps: ['CAP_SYS_ADMIN'] } }),
    // Without CAP_SYS_ADMIN: clone without namespace flags (s390 passes the flags second).
    allow(['clone'], {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    }),
    allow(['clone'], {
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      comment: 's390 parameter ordering for clone is different',
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    // clone3's flags are in memory, where seccomp cannot look: ENOSYS makes libc fall back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ...BY_CAP.map(([cap, names]) => allow(names, { includes: { caps: [cap] } })),
  ];
}

/** A fresh copy of Docker's default profile (Docker format: includes/excludes still to apply). */
export function dockerDefaultProfile(): SeccompProfile {
  const sub = (architecture: string, subArchitectures: string[] | null) => ({ architecture, subArchitectures });
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    // EPERM: an unknown or refused call looks like a permission denied, as under dockerd.
    defaultErrnoRet: 1,
    archMap: [
      sub('SCMP_ARCH_X86_64', ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']),
      sub('SCMP_ARCH_AARCH64', ['SCMP_ARCH_ARM']),
      sub('SCMP_ARCH_MIPS64', ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32']),
      sub('SCMP_ARCH_MIPS64N32', ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64']),
      sub('SCMP_ARCH_MIPSEL64', ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32']),
      sub('SCMP_ARCH_MIPSEL64N32', ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64']),
      sub('SCMP_ARCH_S390X', ['SCMP_ARCH_S390']),
      sub('SCMP_ARCH_RISCV64', null),
      sub('SCMP_ARCH_LOONGARCH64', null),
    ],
    syscalls: rules(),
  };
}
