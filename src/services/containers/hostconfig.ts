/**
 * What dockerd refuses in a host config before anything is made (moby's
 * verifyContainerSettings and runconfig's checks), in its words: at create, and for `docker
 * update` on the merged config.
 */
import os from 'node:os';
import { invalidArgument } from '../../errdefs/index.ts';
import * as oci from '../../oci/index.ts';
import { checkUsernsMode } from './userns.ts';
import type { HostConfig } from '../../api/types/index.ts';

/** A network's name may be anything but blank (as dockerd's); `container:` needs its container. */
const NETWORK_MODES = /^(container:.+|(?!container:$).*\S.*)$/s;

/** moby's create-time check of `--cpuset-cpus` and `--cpuset-mems`, in its words. */
function checkCpuset(h: HostConfig): void {
  const lists = [
    [h.CpusetCpus, 'cpus', 'CPUs'],
    [h.CpusetMems, 'mems', 'memory nodes'],
  ] as const;
  const available = lists.some(([v]) => v) ? oci.cpusetAvailable() : undefined;
  for (const [value, key, what] of lists) {
    if (!value) continue;
    const wanted = oci.parseCpuList(value);
    if (!wanted) throw invalidArgument(`Invalid value ${value} for cpuset ${key}`);
    const have = available && oci.parseCpuList(available[key]);
    if (have && [...wanted].some((n) => !have.has(n)))
      throw invalidArgument(`Requested ${what} are not available - requested ${value}, available: ${available[key]}`);
  }
}

/**
 * dockerd's warnings for a create or update (verifyPlatformContainerResources and
 * verifyPlatformContainerSettings), in its words; what the host cannot do is dropped from the
 * config, as dockerd drops it, so inspect shows what applies.
 */
export function hostConfigWarnings(h: HostConfig): string[] {
  const warnings: string[] = [];
  if (h.OomKillDisable && !oci.oomKillDisableSupported()) {
    warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    h.OomKillDisable = false;
  }
  if (h.OomKillDisable && !h.Memory)
    warnings.push(
      'OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.',
    );
  if (h.BlkioWeight && !oci.blkioWeightSupported()) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    h.BlkioWeight = 0;
  }
  if (h.BlkioWeightDevice?.length && !oci.blkioWeightDeviceSupported()) {
    warnings.push(
      'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
    );
    h.BlkioWeightDevice = [];
  }
  if (h.NetworkMode === 'host' && Object.keys(h.PortBindings ?? {}).length)
    warnings.push('Published ports are discarded when using host network mode');
  return warnings;
}

/** moby's bounds on `--oom-score-adj`, the kernel's. */
const OOM_SCORE_ADJ = { min: -1000, max: 1000 };

/** moby's smallest memory limit and reservation (linuxMinMemory's 6 MB, as its message says). */
const MIN_MEMORY = 6 * 1024 * 1024;

/** moby's memory checks at create (verifyPlatformContainerResources), in its words. */
function checkMemory(h: HostConfig, opts: { update?: boolean }): void {
  const memory = h.Memory ?? 0;
  const swap = h.MemorySwap ?? 0;
  const reservation = h.MemoryReservation ?? 0;
  if (memory > 0 && swap > 0 && swap < memory)
    throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memory === 0 && swap > 0 && !opts.update)
    throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (reservation > 0 && reservation < MIN_MEMORY) throw invalidArgument('Minimum memory reservation allowed is 6MB');
  // -1 is moby's "unset" (fixMemorySwappiness).
  const swappiness = h.MemorySwappiness ?? -1;
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100))
    throw invalidArgument(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  if (memory > 0 && reservation > 0 && memory < reservation)
    throw invalidArgument('Minimum memory limit can not be less than memory reservation limit, see usage');
}

/** Refuses what Docker refuses before anything is made (`update`: a `docker update`'s merged config). */
export function validateHostConfig(h: HostConfig, opts: { update?: boolean } = {}): void {
  if (h.NetworkMode && !NETWORK_MODES.test(h.NetworkMode))
    throw invalidArgument(`invalid network mode: ${h.NetworkMode}`);
  // runconfig's, as the API's decoder has them.
  if (h.Isolation && h.Isolation !== 'default')
    throw invalidArgument(`invalid isolation (${h.Isolation}): linux only supports 'default'`);
  const qos = h as { IOMaximumBandwidth?: number; IOMaximumIOps?: number };
  if (qos.IOMaximumBandwidth)
    throw invalidArgument('invalid option: QoS maximum bandwidth configuration is not supported on linux');
  if (qos.IOMaximumIOps)
    throw invalidArgument('invalid option: QoS maximum IOPs configuration is not supported on linux');
  if ((h.CpuShares ?? 0) < 0)
    throw invalidArgument(`invalid CPU shares (${h.CpuShares}): value must be a positive integer`);
  if ((h.ShmSize ?? 0) < 0) throw invalidArgument('SHM size can not be less than 0');
  const adj = h.OomScoreAdj ?? 0;
  if (adj < OOM_SCORE_ADJ.min || adj > OOM_SCORE_ADJ.max)
    throw invalidArgument(
      `Invalid value ${adj}, range for oom score adj is [${OOM_SCORE_ADJ.min}, ${OOM_SCORE_ADJ.max}]`,
    );
  if (h.BlkioWeight && oci.blkioWeightSupported() && (h.BlkioWeight < 10 || h.BlkioWeight > 1000))
    throw invalidArgument('Range of blkio weight is from 10 to 1000');
  if (h.Memory !== undefined && h.Memory !== 0 && h.Memory < MIN_MEMORY)
    throw invalidArgument('Minimum memory limit allowed is 6MB');
  checkMemory(h, opts);
  // As moby's create: more CPUs than there are is refused here (docker run then says so
  // without a container made); the lower bound is the spec's (withCpus), at start.
  if (h.NanoCpus !== undefined && (h.NanoCpus < 0 || h.NanoCpus > os.availableParallelism() * 1e9))
    throw oci.cpusOutOfRange();
  checkCpuset(h);
  if (h.NanoCpus && h.CpuQuota)
    throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  // runconfig's checks at create, in its words; cgroup v2 has no real-time knobs at all.
  if ((h.CpuRealtimePeriod ?? 0) > 0 && !oci.cpuRealtimeSupported())
    throw invalidArgument('Your kernel does not support cgroup cpu real-time period');
  if ((h.CpuRealtimeRuntime ?? 0) > 0 && !oci.cpuRealtimeSupported())
    throw invalidArgument('Your kernel does not support cgroup cpu real-time runtime');
  if (h.CpuRealtimePeriod && h.CpuRealtimeRuntime && h.CpuRealtimeRuntime > h.CpuRealtimePeriod)
    throw invalidArgument('cpu real-time runtime cannot be higher than cpu real-time period');
  if (h.PidMode && !/^(host|container:.+)$/.test(h.PidMode)) throw invalidArgument(`invalid PID mode: ${h.PidMode}`);
  if (h.IpcMode && !/^(host|private|shareable|none|container:.+)$/.test(h.IpcMode))
    throw invalidArgument(`invalid IPC mode: ${h.IpcMode}`);
  // `container:<id>` beyond dockerd's modes, as Podman's: how a pod's members share its infra's.
  if (h.UTSMode && !/^(host|container:.+)$/.test(h.UTSMode)) throw invalidArgument(`invalid UTS mode: ${h.UTSMode}`);
  checkUsernsMode(h);
  // moby's validateCapabilities: each name known, said as the list it came in.
  for (const [list, what] of [
    [h.CapAdd, 'CapAdd'],
    [h.CapDrop, 'CapDrop'],
  ] as const) {
    for (const cap of list ?? []) {
      try {
        oci.normalizeCapability(cap);
      } catch (e) {
        throw invalidArgument(`invalid ${what}: ${(e as Error).message}`, e);
      }
    }
  }
  if (h.CgroupnsMode && !['host', 'private'].includes(h.CgroupnsMode))
    throw invalidArgument(`invalid cgroup namespace mode: ${h.CgroupnsMode}`);
  // Docker's words for what its own daemon lacks here too: no GPU driver, no xfs project quotas.
  for (const r of h.DeviceRequests ?? []) {
    throw invalidArgument(
      `could not select device driver "${r.Driver ?? ''}" with capabilities: ${JSON.stringify(r.Capabilities ?? [])
        .replace(/"/g, '')
        .replace(/,/g, ' ')}`,
    );
  }
  if (h.StorageOpt && Object.keys(h.StorageOpt).length)
    throw invalidArgument("--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
  const rp = h.RestartPolicy;
  if (rp && !['', 'no', 'always', 'on-failure', 'unless-stopped'].includes(rp.Name))
    throw invalidArgument(
      `invalid restart policy: unknown policy '${rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  if (rp && rp.Name !== 'on-failure' && rp.MaximumRetryCount)
    throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (h.AutoRemove && rp && rp.Name && rp.Name !== 'no')
    throw invalidArgument(`can't create 'AutoRemove' container with restart policy`);
  for (const u of h.Ulimits ?? []) {
    if (u.Soft > u.Hard)
      throw invalidArgument(`invalid ulimit ${u.Name}: soft limit ${u.Soft} is greater than the hard limit ${u.Hard}`);
  }
}
