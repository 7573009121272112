/**
 * The `with*()` options: each returns a `SpecOpt` that changes only its own part of a spec and
 * throws a `BerthError` when the request cannot work on this host (so the user hears it at
 * create time, not as a runc failure at start).
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import { posix } from 'node:path';
import { failedPrecondition, invalidArgument } from '../errdefs/index.ts';
import { DEFAULT_CAPABILITIES, normalizeCapability, tweakCapabilities } from './capabilities.ts';
import { seccompFor, type SeccompProfile } from './seccomp.ts';
import { late } from './spec.ts';
import type { IdMap } from '../spec/index.ts';
import {
  hostCapabilities,
  hostDevices,
  hostHardLimits,
  hostDirectory,
  hostHasCapability,
  swapLimitSupported,
} from './sysinfo.ts';
import {
  RLIM_INFINITY,
  type LinuxDevice,
  type Mount,
  type NamespaceType,
  type Rlimit,
  type Spec,
  type SpecOpt,
} from './types.ts';

// Specs that withPrivileged touched: Docker ignores --cap-add/--cap-drop and seccomp for them.
const privileged = new WeakSet<Spec>();

/** Whether `withPrivileged` was applied to this spec object. */
export function isPrivileged(s: Spec): boolean {
  return privileged.has(s);
}

/**
 * Docker gives a non-root user only the bounding set: execve as non-root clears the
 * effective and permitted sets anyway (moby oci.SetCapabilities).
 */
function setCaps(s: Spec, caps: readonly string[]): void {
  s.process.capabilities =
    s.process.user.uid === 0
      ? { bounding: [...caps], effective: [...caps], permitted: [...caps] }
      : { bounding: [...caps] };
}

/** The bundle's root file system: a path relative to the bundle, or absolute. */
export const withRootfs =
  (path: string, readonly = false): SpecOpt =>
  (s) => {
    s.root = { path, readonly };
  };

export const withProcessArgs =
  (args: readonly string[]): SpecOpt =>
  (s) => {
    if (args.length === 0) throw invalidArgument('no command specified');
    s.process.args = [...args];
  };

/**
 * Sets environment variables over those already there (the default PATH, or an earlier
 * withEnv): `K=V` replaces K or appends it; a bare `K` removes K, as Docker does with `-e K`
 * when the client has no K.
 */
export const withEnv =
  (env: readonly string[]): SpecOpt =>
  (s) => {
    const out = [...(s.process.env ?? [])];
    const keyOf = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
    for (const e of env) {
      const k = keyOf(e);
      const i = out.findIndex((x) => keyOf(x) === k);
      if (!e.includes('=')) {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) out[i] = e;
      else out.push(e);
    }
    s.process.env = out;
  };

export const withCwd =
  (cwd: string): SpecOpt =>
  (s) => {
    if (!cwd.startsWith('/'))
      throw invalidArgument(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);
    s.process.cwd = posix.normalize(cwd);
  };

/**
 * The process's ids (from `resolveUser`). A non-root uid keeps only the bounding set of
 * capabilities, whichever of this and the capability options comes first.
 */
export const withUser =
  (u: { uid: number; gid: number; additionalGids?: readonly number[] }): SpecOpt =>
  (s) => {
    for (const id of [u.uid, u.gid, ...(u.additionalGids ?? [])]) {
      if (!Number.isInteger(id) || id < 0 || id > 2 ** 31 - 1)
        throw invalidArgument(`uids and gids must be in range 0-${2 ** 31 - 1}`);
    }
    s.process.user = processUser(u);
    const bounding = s.process.capabilities?.bounding;
    if (bounding) setCaps(s, bounding);
  };

/**
 * The OCI process user of resolved ids. The primary group leads the supplementary ones, as
 * dockerd and containerd put it since CVE-2023-25173 (GHSA-hmfx-3pcx-653p): without it,
 * `setgroups` drops the primary group from the list, and a file whose group permissions deny
 * more than its other permissions is opened through "other" (`id` shows
 * `groups=0(root),10(wheel)` in busybox under dockerd 20.10, as here).
 */
export function processUser(u: { uid: number; gid: number; additionalGids?: readonly number[] }): {
  uid: number;
  gid: number;
  additionalGids: number[];
} {
  return { uid: u.uid, gid: u.gid, additionalGids: [...new Set([u.gid, ...(u.additionalGids ?? [])])] };
}

/** Adds supplementary groups (`--group-add`) to those the user already has. */
export const withAdditionalGids =
  (gids: readonly number[]): SpecOpt =>
  (s) => {
    const all = [...new Set([...(s.process.user.additionalGids ?? []), ...gids])];
    if (all.length) s.process.user.additionalGids = all;
  };

export const withHostname =
  (hostname: string, domainname = ''): SpecOpt =>
  (s) => {
    s.hostname = hostname;
    if (domainname) s.domainname = domainname;
    else delete s.domainname;
  };

export const withTerminal =
  (terminal: boolean): SpecOpt =>
  (s) => {
    s.process.terminal = terminal;
  };

/** `/berth/<id>` for the cgroupfs driver, `slice:prefix:name` for systemd's. */
export const withCgroupsPath =
  (path: string): SpecOpt =>
  (s) => {
    s.linux.cgroupsPath = path;
  };

/**
 * No cgroup of the container's own (rootless berthd on cgroup v1): runc, rootless, ignores its
 * cgroup errors only when no path was asked for.
 */
export const withoutCgroup = (): SpecOpt => (s) => {
  delete s.linux.cgroupsPath;
};

/**
 * `--cap-add`/`--cap-drop` on Docker's default set (see `tweakCapabilities`). Ignored on a
 * privileged container, as Docker does.
 */
export const withCapabilities =
  (c: { add?: readonly string[]; drop?: readonly string[] }): SpecOpt =>
  (s) => {
    const caps = tweakCapabilities(DEFAULT_CAPABILITIES, c.add ?? [], c.drop ?? []);
    if (privileged.has(s)) return;
    // runc cannot grant what it does not hold ("unable to apply caps: operation not permitted"):
    // one asked for by name is an error now; a default the host lacks is left out quietly.
    const held = new Set(hostCapabilities());
    const named = new Set((c.add ?? []).map(normalizeCapability));
    const missing = caps.find((x) => !held.has(x) && named.has(x));
    if (missing)
      throw failedPrecondition(
        `add capability "${missing}": this host does not grant it to the daemon (it is not in its bounding set)`,
      );
    setCaps(
      s,
      caps.filter((x) => held.has(x)),
    );
  };

/**
 * `--privileged`: every capability this host can hand on, no seccomp, no masked or read-only
 * paths, every device allowed and the host's device nodes in /dev, /sys and the cgroup mount
 * writable. `devices` overrides the scan of the host's /dev (for tests).
 */
export const withPrivileged =
  (opts: { devices?: readonly LinuxDevice[] } = {}): SpecOpt =>
  (s) => {
    privileged.add(s);
    setCaps(s, hostCapabilities());
    delete s.linux.seccomp;
    s.linux.maskedPaths = [];
    s.linux.readonlyPaths = [];
    s.linux.resources = { ...s.linux.resources, devices: [{ allow: true, access: 'rwm' }] };
    const known = new Set((s.linux.devices ?? []).map((d) => d.path));
    s.linux.devices = [
      ...(s.linux.devices ?? []),
      ...(opts.devices ?? hostDevices()).filter((d) => !known.has(d.path)),
    ];
    for (const m of s.mounts) {
      if (m.type === 'sysfs' || m.type === 'cgroup' || m.type === 'cgroup2')
        m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
  };

/**
 * The paths masked (an empty file or tmpfs over them) and made read-only, replacing the defaults:
 * the Engine API's `HostConfig.MaskedPaths`/`ReadonlyPaths`, which the CRI sets per container.
 */
export const withMaskedPaths =
  (masked: readonly string[] | null | undefined, readonly: readonly string[] | null | undefined): SpecOpt =>
  (s) => {
    if (masked) s.linux.maskedPaths = [...masked];
    if (readonly) s.linux.readonlyPaths = [...readonly];
  };

/**
 * Masked directories of the kernel's (under /proc and /sys, where the host shows the same) bound
 * read-only from `empty`, one shared empty directory (the runtime's sharedMask), instead of a
 * tmpfs the runtime mounts on each: a bind makes no superblock (see runtime/crun.ts). Masked
 * files and paths elsewhere stay with the runtime. Late: after the masked paths are final.
 */
export const withSharedMask =
  (empty: string, isDirectory: (path: string) => boolean = hostDirectory): SpecOpt =>
  (s) => {
    // A path the container mounts something on keeps the runtime's mask over that mount.
    const taken = new Set(s.mounts.map((m) => m.destination));
    const bound = (s.linux.maskedPaths ?? []).filter(
      (p) => /^\/(proc|sys)\//.test(p) && !taken.has(p) && isDirectory(p),
    );
    if (!bound.length) return;
    s.linux.maskedPaths = s.linux.maskedPaths!.filter((p) => !bound.includes(p));
    for (const destination of bound)
      s.mounts.push({ destination, type: 'bind', source: empty, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  };

export const withNoNewPrivileges =
  (on = true): SpecOpt =>
  (s) => {
    s.process.noNewPrivileges = on;
  };

export const withReadonlyRootfs =
  (on = true): SpecOpt =>
  (s) => {
    s.root.readonly = on;
  };

/**
 * `--security-opt seccomp=...`: 'default' (Docker's default profile, seccomp-docker.ts),
 * 'unconfined', or a Docker-format profile (its JSON text, or parsed). Late: the filter
 * depends on the final bounding set. A privileged container stays unconfined, as in Docker.
 */
export const withSeccomp = (profile: 'default' | 'unconfined' | string | SeccompProfile): SpecOpt =>
  late((s) => {
    if (profile === 'unconfined' || privileged.has(s)) {
      delete s.linux.seccomp;
      return;
    }
    s.linux.seccomp = seccompFor(s.process.capabilities?.bounding ?? [], profile === 'default' ? undefined : profile);
  });

/**
 * `--memory` and `--memory-swap`, in bytes. Swap follows Docker: absent or 0 is twice the
 * memory, -1 unlimited, else the memory+swap total (at least the memory). Where the kernel does
 * not account swap, no swap limit is written (Docker warns and does the same).
 */
export const withMemory =
  (limit: number, swap?: number, reservation?: number): SpecOpt =>
  (s) => {
    if (!Number.isSafeInteger(limit) || limit <= 0)
      throw invalidArgument(`invalid memory limit ${limit}: must be a positive number of bytes`);
    if (limit < 6 * 1024 * 1024) throw invalidArgument('Minimum memory limit allowed is 6MB');
    if (swap !== undefined && swap > 0 && swap < limit)
      throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
    const mem: NonNullable<NonNullable<Spec['linux']['resources']>['memory']> = { ...s.linux.resources?.memory, limit };
    if (swapLimitSupported()) mem.swap = swap === undefined || swap === 0 ? limit * 2 : swap;
    else delete mem.swap;
    if (reservation !== undefined && reservation > 0) {
      if (reservation > limit)
        throw invalidArgument('Minimum memory limit can not be less than memory reservation limit, see usage');
      mem.reservation = reservation;
    }
    s.linux.resources = { ...s.linux.resources, memory: mem };
  };

/** dockerd's refusal of a `--cpus` below 0.01 or above the CPUs this process may run on. */
export function cpusOutOfRange(): Error {
  const max = os.availableParallelism();
  return invalidArgument(`Range of CPUs is from 0.01 to ${max}.00, as there are only ${max} CPUs available`);
}

/** `--cpus` as NanoCPUs (1e9 = one CPU): a CFS quota over a 100 ms period. */
export const withCpus =
  (nanoCpus: number): SpecOpt =>
  (s) => {
    if (!Number.isFinite(nanoCpus) || nanoCpus < 1e7 || nanoCpus > os.availableParallelism() * 1e9)
      throw cpusOutOfRange();
    const period = 100_000;
    s.linux.resources = {
      ...s.linux.resources,
      cpu: { ...s.linux.resources?.cpu, period, quota: Math.floor((nanoCpus * period) / 1e9) },
    };
  };

/** `--cpu-quota` / `--cpu-period` in microseconds (Docker: quota at least 1 ms, period 1 ms to 1 s). */
export const withCpuQuota =
  (quota: number, period: number): SpecOpt =>
  (s) => {
    if (quota !== 0 && quota !== -1 && quota < 1000)
      throw invalidArgument('CPU cfs quota can not be less than 1ms (i.e. 1000)');
    if (period !== 0 && (period < 1000 || period > 1_000_000))
      throw invalidArgument('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
    s.linux.resources = {
      ...s.linux.resources,
      cpu: { ...s.linux.resources?.cpu, ...(quota ? { quota } : {}), ...(period ? { period } : {}) },
    };
  };

/**
 * `--cpu-rt-period` / `--cpu-rt-runtime` in microseconds (cgroup v1's `cpu.rt_*`). As with
 * dockerd, a runtime the parent cgroup has no budget for is the runtime's error at start.
 */
export const withCpuRealtime =
  (period: number, runtime: number): SpecOpt =>
  (s) => {
    s.linux.resources = {
      ...s.linux.resources,
      cpu: {
        ...s.linux.resources?.cpu,
        ...(period ? { realtimePeriod: period } : {}),
        ...(runtime ? { realtimeRuntime: runtime } : {}),
      },
    };
  };

/** `--cpu-shares`, clamped to the kernel's 2..262144 as Docker does. */
export const withCpuShares =
  (shares: number): SpecOpt =>
  (s) => {
    const v = Math.min(262_144, Math.max(2, Math.floor(shares)));
    s.linux.resources = { ...s.linux.resources, cpu: { ...s.linux.resources?.cpu, shares: v } };
  };

/** `--cpuset-cpus` / `--cpuset-mems`, in the kernel's list syntax (`0-2,4`). */
export const withCpuset =
  (cpus: string, mems?: string): SpecOpt =>
  (s) => {
    const list = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
    if (cpus && !list.test(cpus)) throw invalidArgument(`Invalid value ${cpus} for cpuset cpus`);
    if (mems && !list.test(mems)) throw invalidArgument(`Invalid value ${mems} for cpuset mems`);
    s.linux.resources = {
      ...s.linux.resources,
      cpu: { ...s.linux.resources?.cpu, ...(cpus ? { cpus } : {}), ...(mems ? { mems } : {}) },
    };
  };

/** `--pids-limit`; 0 or less is unlimited. */
export const withPidsLimit =
  (limit: number): SpecOpt =>
  (s) => {
    const resources = { ...s.linux.resources };
    if (limit > 0) resources.pids = { limit: Math.floor(limit) };
    else delete resources.pids;
    s.linux.resources = resources;
  };

/** Docker's `--ulimit` names. */
export const ULIMIT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
  as: 'RLIMIT_AS',
});

/**
 * `--ulimit name=soft:hard` as rlimits; a later entry for a name replaces an earlier one.
 * Without CAP_SYS_RESOURCE the runtime cannot raise a hard limit above its own, so asking for
 * more is a FailedPrecondition here instead of a failed start. -1 is unlimited.
 */
export const withUlimits =
  (limits: ReadonlyArray<{ name: string; soft: number; hard: number }>): SpecOpt =>
  (s) => {
    const canRaise = hostHasCapability('CAP_SYS_RESOURCE');
    const hostHard = canRaise ? undefined : hostHardLimits();
    const out = new Map<string, Rlimit>((s.process.rlimits ?? []).map((r) => [r.type, r]));
    for (const l of limits) {
      const type = ULIMIT_TYPES[l.name];
      if (!type) throw invalidArgument(`invalid ulimit type: ${l.name}`);
      if (!Number.isSafeInteger(l.soft) || !Number.isSafeInteger(l.hard))
        throw invalidArgument(`invalid ulimit ${l.name}: limits must be integers`);
      // A negative limit is Go's uint64(-1), the kernel's RLIM_INFINITY, as in Docker.
      const softN = l.soft < 0 ? Infinity : l.soft;
      const hardN = l.hard < 0 ? Infinity : l.hard;
      if (softN > hardN)
        throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${l.soft} > ${l.hard}`);
      const max = hostHard?.get(type);
      if (max !== undefined && hardN > max) {
        throw failedPrecondition(
          `ulimit ${l.name}=${l.soft}:${l.hard}: the hard limit is above this host's (${max}) and raising it needs CAP_SYS_RESOURCE, which the daemon does not have`,
        );
      }
      out.set(type, { type, soft: l.soft < 0 ? RLIM_INFINITY : l.soft, hard: l.hard < 0 ? RLIM_INFINITY : l.hard });
    }
    s.process.rlimits = [...out.values()];
  };

/**
 * `--oom-score-adj`. Lowering it below 0 needs CAP_SYS_RESOURCE; without it the runtime's
 * write fails, so that is refused here with the reason.
 */
export const withOomScoreAdj =
  (adj: number): SpecOpt =>
  (s) => {
    if (!Number.isInteger(adj) || adj < -1000 || adj > 1000)
      throw invalidArgument(`Invalid value ${adj}, range for oom score adj is [-1000, 1000]`);
    if (adj < 0 && !hostHasCapability('CAP_SYS_RESOURCE')) {
      throw failedPrecondition(
        `oom score adj ${adj}: a negative value needs CAP_SYS_RESOURCE, which the daemon does not have`,
      );
    }
    s.process.oomScoreAdj = adj;
  };

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/**
 * `--sysctl`: only the namespaced ones Docker accepts (IPC: kernel.msg*, kernel.sem,
 * kernel.shm*, fs.mqueue.*; network: net.*, not with the host's network). Late, to see the
 * final namespaces.
 */
export const withSysctl = (sysctl: Readonly<Record<string, string>>): SpecOpt =>
  late((s) => {
    const has = (t: NamespaceType) => s.linux.namespaces.find((n) => n.type === t);
    for (const k of Object.keys(sysctl)) {
      if (k.startsWith('net.')) {
        const net = has('network');
        if (!net) throw invalidArgument(`sysctl "${k}" is not allowed in the host network namespace`);
      } else if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) {
        if (!has('ipc')) throw invalidArgument(`sysctl "${k}" is not allowed in the host IPC namespace`);
      } else {
        throw invalidArgument(
          `sysctl "${k}" is not allowed: only namespaced sysctls (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*) can be set`,
        );
      }
    }
    s.linux.sysctl = { ...s.linux.sysctl, ...sysctl };
  });

/** Creates a new namespace of `type` (e.g. 'cgroup' for `--cgroupns private` on v1). */
export const withNamespace =
  (type: NamespaceType): SpecOpt =>
  (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type).concat({ type });
  };

/** Shares the host's namespace of `type` (`--network host`, `--pid host`, `--ipc host`, `--uts host`). */
export const withoutNamespace =
  (type: NamespaceType): SpecOpt =>
  (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type);
    // A hostname can only be set in a UTS namespace of the container's own.
    if (type === 'uts') {
      delete s.hostname;
      delete s.domainname;
    }
  };

/**
 * `berthd --userns-remap`: a user namespace of the container's own, whose ids stand for the
 * host's subordinate ranges (the runtime writes the maps before the process runs).
 */
export const withUserNamespace =
  (map: IdMap): SpecOpt =>
  (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'user').concat({ type: 'user' });
    s.linux.uidMappings = map.uids.map((r) => ({ ...r }));
    s.linux.gidMappings = map.gids.map((r) => ({ ...r }));
  };

/** Joins an existing namespace (`--network container:<id>`: `/proc/<pid>/ns/net`). */
export const withNamespacePath =
  (type: NamespaceType, path: string): SpecOpt =>
  (s) => {
    if (!path.startsWith('/')) throw invalidArgument(`namespace path ${JSON.stringify(path)} must be absolute`);
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type).concat({ type, path });
    // A joined UTS namespace keeps the name its owner gave it: the runtime must not set one.
    if (type === 'uts') {
      delete s.hostname;
      delete s.domainname;
    }
  };

const depth = (dest: string) => dest.split('/').filter(Boolean).length;

/**
 * Adds mounts (binds, volumes, tmpfs, the /etc files). A mount replaces any already at its
 * destination; one at /dev also replaces the default mounts under /dev. The new mounts are
 * put parents first (by path depth, otherwise in the order given), as Docker sorts them.
 */
export const withMounts =
  (mounts: readonly Mount[]): SpecOpt =>
  (s) => {
    const added = mounts.map((m) => {
      if (!m.destination.startsWith('/'))
        throw invalidArgument(
          `invalid mount config: mount destination ${JSON.stringify(m.destination)} is not an absolute path`,
        );
      return {
        ...m,
        destination: posix.normalize(m.destination).replace(/(.)\/$/, '$1'),
        ...(m.options ? { options: [...m.options] } : {}),
      };
    });
    const dests = new Set(added.map((m) => m.destination));
    const overDev = dests.has('/dev');
    const kept = s.mounts.filter((m) => !dests.has(m.destination) && !(overDev && m.destination.startsWith('/dev/')));
    s.mounts = [
      ...kept,
      ...added
        .map((m, i) => ({ m, i }))
        .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
        .map((x) => x.m),
    ];
    // Docker's rule: a shared bind needs a shared root, a slave one at least an rslave root.
    const props = added.flatMap((m) => m.options ?? []);
    const root = s.linux.rootfsPropagation ?? '';
    if (props.some((o) => o === 'shared' || o === 'rshared')) {
      if (!root.endsWith('shared')) s.linux.rootfsPropagation = 'shared';
    } else if (props.some((o) => o === 'slave' || o === 'rslave') && !/(shared|slave)$/.test(root))
      s.linux.rootfsPropagation = 'rslave';
  };

/** `--shm-size` in bytes, on the default /dev/shm tmpfs. */
export const withShmSize =
  (bytes: number): SpecOpt =>
  (s) => {
    if (!Number.isSafeInteger(bytes) || bytes <= 0)
      throw invalidArgument(`invalid shm size ${bytes}: must be a positive number of bytes`);
    const shm = s.mounts.find((m) => m.destination === '/dev/shm' && m.type === 'tmpfs');
    if (shm) shm.options = [...(shm.options ?? []).filter((o) => !o.startsWith('size=')), `size=${bytes}`];
  };

/**
 * `--device PATH_ON_HOST[:PATH_IN_CONTAINER[:PERMISSIONS]]`: the host's device node (its type,
 * numbers, mode and owner) made in the container, and allowed in the device cgroup with the
 * permissions given (rwm by default). Docker's errors for a path that is not a device.
 */
export const withDevice =
  (hostPath: string, containerPath: string, permissions = 'rwm'): SpecOpt =>
  (s) => {
    if (!/^[rwm]{1,3}$/.test(permissions)) throw invalidArgument(`invalid device mode: ${permissions}`);
    if (!containerPath.startsWith('/')) throw invalidArgument(`${containerPath} is not an absolute path`);
    let st;
    try {
      st = statSync(hostPath, { bigint: true });
    } catch (e) {
      throw invalidArgument(
        `error gathering device information while adding custom device "${hostPath}": no such file or directory`,
        e,
      );
    }
    if (!st.isCharacterDevice() && !st.isBlockDevice())
      throw invalidArgument(
        `error gathering device information while adding custom device "${hostPath}": not a device node`,
      );
    // glibc's gnu_dev_major/minor, as hostDevices reads them.
    const major = Number(((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn));
    const minor = Number((st.rdev & 0xffn) | ((st.rdev >> 12n) & ~0xffn));
    const dev: LinuxDevice = {
      path: containerPath,
      type: st.isCharacterDevice() ? 'c' : 'b',
      major,
      minor,
      fileMode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
    };
    s.linux.devices = (s.linux.devices ?? [])
      .filter((d) => d.path !== containerPath)
      .concat({ ...dev, path: containerPath });
    s.linux.resources = {
      ...s.linux.resources,
      devices: [
        ...(s.linux.resources?.devices ?? []),
        { allow: true, type: dev.type as 'c' | 'b', major: dev.major, minor: dev.minor, access: permissions },
      ],
    };
  };

/** Where Docker puts the init binary in the container. */
export const INIT_PATH = '/sbin/docker-init';

/**
 * Docker's `--init`: the host's init binary (tini, e.g. Debian's /usr/bin/tini-static) is
 * bind-mounted read-only at /sbin/docker-init and runs the process as its child:
 * `/sbin/docker-init -- <args>`. Late, so it wraps the final argv.
 */
export const withInit = (initPath: string): SpecOpt =>
  late((s) => {
    if (!initPath.startsWith('/')) throw invalidArgument(`init path ${JSON.stringify(initPath)} must be absolute`);
    s.mounts = s.mounts
      .filter((m) => m.destination !== INIT_PATH)
      .concat({ destination: INIT_PATH, type: 'bind', source: initPath, options: ['bind', 'ro'] });
    if (s.process.args[0] !== INIT_PATH) s.process.args = [INIT_PATH, '--', ...s.process.args];
  });
