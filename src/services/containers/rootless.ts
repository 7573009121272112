/**
 * What rootless berthd cannot give a container, refused at create rather than dropped: on
 * cgroup v1 an unprivileged user owns no cgroup (there is no delegation on v1), so runc runs
 * rootless containers in no cgroup of their own (no `cgroupsPath`: runc ignores the permission
 * errors only then) and no limit could ever be applied. dockerd-rootless warns and discards
 * them; Berth says so instead. Cgroup v2 delegation (systemd's user slice) is not used yet, so
 * the same holds there.
 */
import { invalidArgument } from '../../errdefs/index.ts';
import type { HostConfig } from '../../api/types/index.ts';

/** The HostConfig fields that need a cgroup, with the `docker run` flag a user typed. */
const CGROUP_FIELDS: ReadonlyArray<[keyof HostConfig, string]> = [
  ['Memory', '--memory'],
  ['MemoryReservation', '--memory-reservation'],
  ['MemorySwap', '--memory-swap'],
  ['NanoCpus', '--cpus'],
  ['CpuShares', '--cpu-shares'],
  ['CpuQuota', '--cpu-quota'],
  ['CpuPeriod', '--cpu-period'],
  ['CpuRealtimePeriod', '--cpu-rt-period'],
  ['CpuRealtimeRuntime', '--cpu-rt-runtime'],
  ['CpusetCpus', '--cpuset-cpus'],
  ['CpusetMems', '--cpuset-mems'],
  ['PidsLimit', '--pids-limit'],
  ['BlkioWeight', '--blkio-weight'],
  ['CgroupParent', '--cgroup-parent'],
];

/** Refuses a limit a rootless container on `cgroupVersion` cannot have. */
export function checkRootless(h: HostConfig, cgroupVersion: 1 | 2): void {
  for (const [field, flag] of CGROUP_FIELDS) {
    const v = h[field];
    // -1 is "unlimited" for --memory-swap and --pids-limit: nothing to apply
    if (v === undefined || v === null || v === '' || v === 0 || v === -1) continue;
    throw invalidArgument(
      `rootless berthd cannot set ${flag}: ${
        cgroupVersion === 1
          ? 'on cgroup v1 an unprivileged user has no cgroup of its own to put limits in'
          : 'cgroup v2 delegation is not used by rootless berthd yet'
      }; run berthd as root for resource limits`,
    );
  }
}
