/**
 * One reader of cgroup figures for every `docker stats` request at once. The docker CLI asks
 * for each container on its own request (`stats?stream=false` for `--no-stream`), a thousand at
 * once over a thousand containers, and each answer needs two samples some time apart (its
 * precpu; stats.ts says how far). The last sample of each container is kept a second
 * (`recent`), so that a request can measure against a read another one made. Rather than a timer and two rounds of reads per request, requests wait here for a
 * sample of their container, and one tick serves everyone due: each container's files read
 * once whoever waits for it (a few containers at a time), the host's CPU time (`/proc/stat`)
 * read once for a batch of containers, one timer armed for the whole daemon, none while nobody
 * waits.
 *
 * Due times are rounded up to a grid (`gridMs`), so that requests that came in at about the
 * same time (the CLI's burst) are served by the same tick later on. Reads yield to the
 * event loop between batches, so that the API keeps answering during a tick over many.
 *
 * A burst of precpu reads (`burst` containers' CPU-only reads due in one tick: `docker stats
 * --no-stream`, which asks for every running container at once) also reads the CPU figures of
 * every other running container (`running`) not read within the last second, as the sample
 * its own request will find (`recent`) when it comes. The CLI's requests reach the daemon over
 * hundreds of milliseconds; each used to read its precpu when it came and its sample a quarter
 * second later, so the last one answered a quarter second after it came. Read ahead, a late
 * request's precpu is already that old and its sample is read at the next tick. The reads are
 * those the requests would have made (three small files a container), once a second at most;
 * a burst naming a few containers reads the others' for nothing.
 *
 *   const s = new StatsSampler(read, systemCpuUsage);
 *   const prime = await s.sample(c, { cpuOnly: true });             // the next tick
 *   const now = await s.sample(c, { notBefore: s.readAt(prime) + 250 }); // 250 ms later
 */
import type { CgroupStats } from '../../runtime/index.ts';
import type { ContainerRecord } from './types.ts';

/** Reads `c`'s figures (the host's CPU time given), undefined when it has none (not running). */
export type SampleReader = (
  c: ContainerRecord,
  opts: { cpuOnly: boolean; systemCpuUsage: number },
) => Promise<CgroupStats | undefined>;

/** A container to read in a tick, and who waits for it (nobody, when read ahead of a burst). */
interface Group {
  c: ContainerRecord;
  ws: Waiter[];
}

interface Waiter {
  c: ContainerRecord;
  cpuOnly: boolean;
  due: number;
  resolve(s: CgroupStats | undefined): void;
}

export class StatsSampler {
  private readonly read: SampleReader;
  private readonly system: () => Promise<number>;
  private readonly gridMs: number;
  private readonly batch: number;
  private readonly parallel: number;
  private readonly now: () => number;
  private readonly running: (() => ContainerRecord[]) | undefined;
  private readonly burst: number;
  /** When the last burst was read ahead. */
  private aheadAt = -Infinity;
  private waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private ticking = false;
  /** When each sample was read (the tick's time, on the sampler's clock). */
  private readonly times = new WeakMap<CgroupStats, number>();
  /**
   * Each container's last sample (by id and init pid: a restarted container's counters start
   * again), kept `keepMs` after its read for `recent`; dropped by one timer for the daemon.
   */
  private readonly latest = new Map<string, CgroupStats>();
  private readonly keepMs: number;
  private pruner: NodeJS.Timeout | undefined;
  /** How many containers' files the ticks read so far (for tests: one read serves many). */
  reads = 0;

  constructor(
    read: SampleReader,
    system: () => Promise<number>,
    opts: {
      gridMs?: number;
      batch?: number;
      parallel?: number;
      keepMs?: number;
      now?: () => number;
      /** The containers a burst reads ahead (the running ones); none read ahead without it. */
      running?: () => ContainerRecord[];
      /** How many containers' precpu reads in one tick make a burst. */
      burst?: number;
    } = {},
  ) {
    this.read = read;
    this.system = system;
    this.gridMs = opts.gridMs ?? 50;
    // The host's CPU time is read once a batch and stands for the whole batch's reads: small
    // batches keep it close to each container's (/proc/stat is one read of ~15 us).
    this.batch = opts.batch ?? 25;
    this.parallel = opts.parallel ?? 16;
    this.keepMs = opts.keepMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.running = opts.running;
    this.burst = opts.burst ?? 8;
  }

  /**
   * The first sample of `c` read at or after `notBefore` (default: the next tick); undefined
   * when the container has none or `signal` aborted the wait. `cpuOnly`: only its
   * `cpu_stats` is used (the reader may skip the rest when every waiter says so).
   */
  sample(
    c: ContainerRecord,
    opts: { cpuOnly?: boolean; notBefore?: number; signal?: AbortSignal } = {},
  ): Promise<CgroupStats | undefined> {
    if (opts.signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const now = this.now();
      const at = opts.notBefore ?? now;
      const due = at <= now ? now : Math.ceil(at / this.gridMs) * this.gridMs;
      const w: Waiter = { c, cpuOnly: !!opts.cpuOnly, due, resolve };
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = () => {
          this.waiting = this.waiting.filter((x) => x !== w);
          resolve(undefined);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.resolve = (s) => {
          signal.removeEventListener('abort', onAbort);
          resolve(s);
        };
      }
      this.waiting.push(w);
      this.arm(due);
    });
  }

  /**
   * The last sample read of `c` if it was read at most `maxAgeMs` ago (and no longer than the
   * sampler keeps them), else undefined: a request can measure against a read another request
   * (a stream, the previous `docker stats --no-stream`) already made.
   */
  recent(c: ContainerRecord, maxAgeMs: number): CgroupStats | undefined {
    const s = this.latest.get(latestKey(c));
    return s && this.now() - this.readAt(s) <= Math.min(maxAgeMs, this.keepMs) ? s : undefined;
  }

  /** When `s` (a sample this sampler gave) was read, on the sampler's clock. */
  readAt(s: CgroupStats): number {
    return this.times.get(s) ?? this.now();
  }

  /**
   * The one timer, at the earliest due time (none while a tick runs: it arms the next itself).
   * `due`: a new waiter's, the only one that can be earlier than the timer — not a scan of the
   * thousand waiting, which the CLI's burst paid once per request.
   */
  private arm(due?: number): void {
    if (this.ticking || !this.waiting.length) return;
    if (this.timer && due !== undefined && due >= this.timerAt) return;
    let next = Infinity;
    for (const w of this.waiting) if (w.due < next) next = w.due;
    if (this.timer && next >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, next - this.now()));
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.ticking = true;
    try {
      const now = this.now();
      const due = this.waiting.filter((w) => w.due <= now);
      this.waiting = this.waiting.filter((w) => w.due > now);
      const byContainer = new Map<string, Group>();
      for (const w of due) {
        const g = byContainer.get(w.c.Id);
        if (g) g.ws.push(w);
        else byContainer.set(w.c.Id, { c: w.c, ws: [w] });
      }
      const groups = [...byContainer.values()];
      groups.push(...this.ahead(groups, now));
      for (let i = 0; i < groups.length; i += this.batch) {
        if (i > 0) await new Promise<void>((r) => setImmediate(r));
        const systemCpuUsage = await this.system();
        const batch = groups.slice(i, i + this.batch);
        // A few containers read at once: one after another, each read's file opens and reads
        // waited their turn in the event loop and the thread pool, and a tick over a thousand
        // took seconds of wall time at little CPU.
        let next = 0;
        const worker = async () => {
          while (next < batch.length) {
            const { c, ws } = batch[next++]!;
            // A read ahead of a burst (nobody waiting) is a CPU-only one.
            const cpuOnly = ws.every((w) => w.cpuOnly);
            this.reads++;
            const s = await this.read(c, { cpuOnly, systemCpuUsage }).catch(() => undefined);
            if (s) {
              // Each sample's time is taken after its read, not the tick's start: a tick over a
              // thousand containers takes a while (seconds under load), and a reply's sample is
              // due a quarter second after this time — taken at the tick's start, some replies
              // measured over 50-150 ms (a paced burst of 300 at load 18-20).
              this.times.set(s, this.now());
              this.latest.set(latestKey(c), s);
            }
            for (const w of ws) w.resolve(s);
          }
        };
        await Promise.all(Array.from({ length: Math.min(this.parallel, batch.length) }, worker));
      }
    } finally {
      this.ticking = false;
      this.arm();
      this.prune();
    }
  }

  /**
   * The running containers to read ahead in a tick whose `groups` make a burst of precpu reads:
   * those not in the tick and not read within the last `keepMs` — once a `keepMs` at most, so
   * that a burst slower than that (a loaded machine) does not read everyone again each tick.
   */
  private ahead(groups: Group[], now: number): Group[] {
    if (!this.running || now - this.aheadAt < this.keepMs) return [];
    let precpu = 0;
    for (const g of groups) if (g.ws.every((w) => w.cpuOnly)) precpu++;
    if (precpu < this.burst) return [];
    this.aheadAt = now;
    const inTick = new Set(groups.map((g) => g.c.Id));
    const out: Group[] = [];
    for (const c of this.running()) {
      if (inTick.has(c.Id)) continue;
      const s = this.latest.get(latestKey(c));
      if (s && now - this.readAt(s) <= this.keepMs) continue;
      out.push({ c, ws: [] });
    }
    return out;
  }

  /** Drops the samples older than `keepMs`, and comes back while any are left. */
  private prune(): void {
    if (this.pruner) return;
    const now = this.now();
    for (const [k, s] of this.latest) if (now - this.readAt(s) > this.keepMs) this.latest.delete(k);
    if (!this.latest.size) return;
    this.pruner = setTimeout(() => {
      this.pruner = undefined;
      this.prune();
    }, this.keepMs);
    this.pruner.unref?.();
  }
}

const latestKey = (c: ContainerRecord) => `${c.Id}/${c.State.Pid ?? 0}`;
