/**
 * `docker stats` in the Engine API's shape: the runtime's cgroup figures for a running
 * container, each sample with the one before it (`precpu_stats`, `preread`) so that clients can
 * compute CPU percentages, and zeros for a container that is not running. The samples come from
 * the service's one `StatsSampler` (sampler.ts), shared by every request.
 */
import { systemCpuUsage, type CgroupStats } from '../../runtime/index.ts';
import type { ContainerContext } from './context.ts';
import { StatsSampler } from './sampler.ts';
import { ZERO_TIME } from './state.ts';
import type { ContainerRecord } from './types.ts';

/** How far apart a stream's samples, and a single reply's two, are (dockerd's collector's interval). */
const INTERVAL_MS = 1000;

/** The sampler of a service: the runtime's figures of containers that run. */
export function containerSampler(ctx: ContainerContext): StatsSampler {
  return new StatsSampler(async (c, opts) => {
    if (!c.State.Running || c.State.Restarting || !ctx.store.find(c.Id)) return undefined;
    return ctx.runtime(c).stats(c.Id, opts);
  }, systemCpuUsage);
}

/**
 * `docker stats`: a sample a second while `signal` allows (`stream`), or one. A single
 * sample waits for a second one so that its CPU figures have a previous sample to be
 * measured against (as dockerd's does), unless `oneShot`.
 */
export async function* containerStats(
  sampler: StatsSampler,
  c: ContainerRecord,
  opts: { stream: boolean; oneShot?: boolean; signal?: AbortSignal },
): AsyncGenerator<object> {
  const empty = {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: {},
    num_procs: 0,
    storage_stats: {},
    cpu_stats: {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    precpu_stats: {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    memory_stats: {},
  };
  const ident = { name: `/${c.Name}`, id: c.Id };
  let prev: CgroupStats | undefined;
  const shape = (now: CgroupStats) => ({
    ...now,
    preread: prev?.read ?? ZERO_TIME,
    precpu_stats: prev?.cpu_stats ?? empty.precpu_stats,
    num_procs: 0,
    storage_stats: {},
    ...ident,
  });
  if (!opts.stream) {
    // Of the first sample a single reply only uses the CPU figures (its precpu_stats): with
    // `docker stats --no-stream` over a thousand containers, the rest was half the work.
    const first = await sampler.sample(c, { cpuOnly: !opts.oneShot });
    if (!first) {
      yield { ...empty, ...ident };
      return;
    }
    if (opts.oneShot) {
      yield shape(first);
      return;
    }
    prev = first;
    const second = await sampler.sample(c, { notBefore: sampler.readAt(first) + INTERVAL_MS });
    yield second ? shape(second) : { ...empty, ...ident };
    return;
  }
  let next: number | undefined;
  while (!opts.signal?.aborted) {
    const now = await sampler.sample(c, { notBefore: next, signal: opts.signal });
    if (opts.signal?.aborted) break;
    yield now ? shape(now) : { ...empty, ...ident };
    prev = now;
    next = (now ? sampler.readAt(now) : Date.now()) + INTERVAL_MS;
  }
}
