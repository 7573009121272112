/**
 * The resource options (see options.ts for what a `with*()` option is): the cgroup limits
 * (`--memory`, `--cpus`, `--cpu-*`, `--cpuset-*`, `--pids-limit`, `--device-*-bps|iops`) and the process's rlimits
 * and OOM score (`--ulimit`, `--oom-score-adj`), each refused at create time with Docker's words
 * when dockerd refuses it, or when this host cannot grant it (no CAP_SYS_RESOURCE).
 */
import { statSync, type BigIntStats } from 'node:fs';
import os from 'node:os';
import { failedPrecondition, invalidArgument } from '../errdefs/index.ts';
import { deviceNumbers, hostHardLimits, hostHasCapability, swapLimitSupported } from './sysinfo.ts';
import { RLIM_INFINITY, type Rlimit, type Spec, type SpecOpt } from './types.ts';

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

/**
 * `--oom-kill-disable` and `--memory-swappiness` (0–100), beside whatever limits are set: the
 * memory cgroup's switches, as dockerd hands them to runc.
 */
export const withMemoryBehaviour =
  (o: { oomKillDisable?: boolean; swappiness?: number }): SpecOpt =>
  (s) => {
    const mem = { ...s.linux.resources?.memory };
    if (o.oomKillDisable) mem.disableOOMKiller = true;
    if (o.swappiness !== undefined) mem.swappiness = o.swappiness;
    s.linux.resources = { ...s.linux.resources, memory: mem };
  };

/** `--memory-reservation` without `--memory`: the soft limit alone. */
export const withMemoryReservation =
  (reservation: number): SpecOpt =>
  (s) => {
    s.linux.resources = { ...s.linux.resources, memory: { ...s.linux.resources?.memory, reservation } };
  };

/** Block I/O throttles by host device path (`--device-read-bps` and its kin), each as its device's numbers. */
export interface Throttles {
  readBps?: ReadonlyArray<{ path: string; rate: number }>;
  writeBps?: ReadonlyArray<{ path: string; rate: number }>;
  readIops?: ReadonlyArray<{ path: string; rate: number }>;
  writeIops?: ReadonlyArray<{ path: string; rate: number }>;
}

/**
 * The throttles, each device looked up on the host as moby's getBlkioThrottleDevices does (and
 * refused in its words when it is not there): the kernel takes them by major:minor.
 */
export const withBlockIOThrottles =
  (t: Throttles): SpecOpt =>
  (s) => {
    const rules = (list: Throttles['readBps']) =>
      (list ?? []).map(({ path, rate }) => {
        let st: BigIntStats;
        try {
          st = statSync(path, { bigint: true });
        } catch {
          throw invalidArgument(`stat ${path}: no such file or directory`);
        }
        if (!st.isBlockDevice()) throw invalidArgument(`${path} is not a block device`);
        return { ...deviceNumbers(st.rdev), rate };
      });
    const blockIO = { ...s.linux.resources?.blockIO };
    for (const [key, list] of [
      ['throttleReadBpsDevice', t.readBps],
      ['throttleWriteBpsDevice', t.writeBps],
      ['throttleReadIOPSDevice', t.readIops],
      ['throttleWriteIOPSDevice', t.writeIops],
    ] as const) {
      if (list?.length) blockIO[key] = rules(list);
    }
    s.linux.resources = { ...s.linux.resources, blockIO };
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
