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

const BLKIO_KEYS = [
  'io_service_bytes_recursive',
  'io_serviced_recursive',
  'io_queue_recursive',
  'io_service_time_recursive',
  'io_wait_time_recursive',
  'io_merged_recursive',
  'io_time_recursive',
  'sectors_recursive',
];

/** How far apart a stream's samples are (dockerd's collector's interval). */
const INTERVAL_MS = 1000;

/**
 * How long before its sample a single reply's `precpu_stats` may be read: the shortest interval
 * its CPU percentage is measured over. The API calls precpu_stats the previous read, and every
 * client's percentage is a ratio of deltas (the container's CPU time over the host's, both
 * between the two reads), valid over any interval: dockerd's is its collector's second because
 * the collector ticks once a second, not because the figure needs it. A quarter second keeps
 * the host's delta (`/proc/stat`, counted in 10 ms ticks) at 50 ticks a CPU, a few percent of
 * granularity, while `docker stats --no-stream` over a thousand containers — whose CLI waits
 * for every answer, then half a second more — no longer pays a second for it.
 */
const PRECPU_MIN_MS = 250;

/** The sampler of a service: the runtime's figures of containers that run. */
export function containerSampler(ctx: ContainerContext): StatsSampler {
  const running = (c: ContainerRecord) => c.State.Running && !c.State.Restarting;
  return new StatsSampler(
    async (c, opts) => {
      if (!running(c) || !ctx.store.find(c.Id)) return undefined;
      return ctx.runtime(c).stats(c.Id, opts);
    },
    systemCpuUsage,
    // A burst of `--no-stream` requests reads every running container's CPU ahead (sampler.ts).
    { running: () => ctx.store.all().filter(running) },
  );
}

/**
 * `docker stats`: a sample a second while `signal` allows (`stream`), or one. A single
 * sample has a previous one to measure its CPU figures against (as dockerd's does), unless
 * `oneShot`: the sampler's last read of the container if it is at most a second old (a stream's,
 * the last `--no-stream`'s: what dockerd's collector would have), else one read now; the reply's
 * own sample is read at least `PRECPU_MIN_MS` after it.
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
    // dockerd's frame for a container that does not run names all eight lists, null.
    blkio_stats: Object.fromEntries(BLKIO_KEYS.map((k) => [k, null])),
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
    const first =
      (!opts.oneShot && sampler.recent(c, INTERVAL_MS)) || (await sampler.sample(c, { cpuOnly: !opts.oneShot }));
    if (!first) {
      yield { ...empty, ...ident };
      return;
    }
    if (opts.oneShot) {
      yield shape(first);
      return;
    }
    prev = first;
    const second = await sampler.sample(c, { notBefore: sampler.readAt(first) + PRECPU_MIN_MS });
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
