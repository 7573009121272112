import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CgroupStats } from '../../runtime/index.ts';
import { StatsSampler, type SampleReader } from './sampler.ts';
import { containerStats } from './stats.ts';
import type { ContainerRecord } from './types.ts';

const record = (id: string, running = true) =>
  ({ Id: id, Name: `c-${id}`, State: { Running: running, Restarting: false } }) as unknown as ContainerRecord;

/** A reader whose CPU counter grows by 1000 a read, counting reads by container and kind. */
function countingReader() {
  const reads: Array<{ id: string; cpuOnly: boolean }> = [];
  let usage = 0;
  const read: SampleReader = async (c, opts) => {
    if (!c.State.Running) return undefined;
    reads.push({ id: c.Id, cpuOnly: opts.cpuOnly });
    usage += 1000;
    return {
      read: new Date().toISOString(),
      pids_stats: { current: 1 },
      blkio_stats: { io_service_bytes_recursive: null },
      cpu_stats: {
        cpu_usage: { total_usage: usage, usage_in_kernelmode: 0, usage_in_usermode: 0 },
        system_cpu_usage: opts.systemCpuUsage,
        online_cpus: 2,
        throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
      },
      memory_stats: opts.cpuOnly ? {} : { usage: 4096, limit: 1 << 30, stats: {} },
    } satisfies CgroupStats;
  };
  return { reads, read };
}

test('requests waiting for the same containers at once read each container once, and the host CPU once', async () => {
  const { reads, read } = countingReader();
  let systemReads = 0;
  const sampler = new StatsSampler(read, async () => ++systemReads * 1e9);
  const cs = ['a', 'b', 'c'].map((id) => record(id));
  const got = await Promise.all(cs.flatMap((c) => Array.from({ length: 10 }, () => sampler.sample(c))));
  assert.equal(reads.length, 3);
  assert.equal(systemReads, 1);
  assert.equal(new Set(got).size, 3, 'the ten requests of a container get its one sample');
  assert.ok(got.every((s) => s?.cpu_stats.system_cpu_usage === 1e9));
});

test("a tick reads a few containers at once, never more than the sampler's limit", async () => {
  let inFlight = 0;
  let most = 0;
  const read: SampleReader = async (c, opts) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    return countingReader().read(c, opts);
  };
  const sampler = new StatsSampler(read, async () => 0, { parallel: 4 });
  const cs = Array.from({ length: 20 }, (_, i) => record(`c${i}`));
  const got = await Promise.all(cs.map((c) => sampler.sample(c)));
  assert.equal(most, 4);
  assert.ok(got.every((s) => s !== undefined));
  assert.equal(sampler.reads, 20);
});

test('a request due before the armed tick brings the timer forward', async () => {
  const { reads, read } = countingReader();
  const sampler = new StatsSampler(read, async () => 0);
  const late = sampler.sample(record('a'), { notBefore: Date.now() + 60_000, signal: AbortSignal.timeout(2000) });
  const t = Date.now();
  await sampler.sample(record('b'));
  assert.ok(Date.now() - t < 1000, "the second request did not wait for the first one's tick");
  assert.deepEqual(
    reads.map((r) => r.id),
    ['b'],
  );
  assert.equal(await late, undefined);
});

test('a container is read in full when any of its waiters needs more than the CPU figures', async () => {
  const { reads, read } = countingReader();
  const sampler = new StatsSampler(read, async () => 0);
  const c = record('a');
  const [cpu, full] = await Promise.all([sampler.sample(c, { cpuOnly: true }), sampler.sample(c)]);
  assert.deepEqual(reads, [{ id: 'a', cpuOnly: false }]);
  assert.equal(cpu, full);
  assert.equal(full?.memory_stats.usage, 4096);
});

test('a wait ended by its signal resolves empty and reads nothing', async () => {
  const { reads, read } = countingReader();
  const sampler = new StatsSampler(read, async () => 0);
  const ac = new AbortController();
  const pending = sampler.sample(record('a'), { notBefore: Date.now() + 60_000, signal: ac.signal });
  ac.abort();
  assert.equal(await pending, undefined);
  assert.equal(reads.length, 0);
});

test("a single docker stats reply measures CPU against a sample read a quarter second before, on the sampler's shared ticks", async () => {
  const { reads, read } = countingReader();
  const sampler = new StatsSampler(read, async () => Date.now() * 1e6);
  const cs = Array.from({ length: 30 }, (_, i) => record(`c${i}`));
  const started = Date.now();
  const replies = await Promise.all(
    cs.map(async (c) => {
      const out: object[] = [];
      for await (const s of containerStats(sampler, c, { stream: false })) out.push(s);
      return out;
    }),
  );
  const took = Date.now() - started;
  assert.ok(took >= 250, 'the second sample is a quarter second after the first');
  assert.ok(took < 1000, `no second's wait for the previous sample (${took} ms)`);
  // Two reads a container: a CPU-only one, then the full one.
  assert.equal(reads.length, 60);
  assert.equal(reads.filter((r) => r.cpuOnly).length, 30);
  for (const [i, r] of replies.entries()) {
    assert.equal(r.length, 1);
    const s = r[0] as CgroupStats & {
      precpu_stats: CgroupStats['cpu_stats'];
      preread: string;
      id: string;
      name: string;
    };
    assert.equal(s.id, `c${i}`);
    assert.equal(s.name, `/c-c${i}`);
    assert.ok(s.cpu_stats.cpu_usage.total_usage > s.precpu_stats.cpu_usage.total_usage);
    assert.ok(s.cpu_stats.system_cpu_usage! - s.precpu_stats.system_cpu_usage! >= 200e6);
    assert.ok(Date.parse(s.read) - Date.parse(s.preread) >= 200);
    assert.equal(s.memory_stats.usage, 4096);
    // The Engine API's shape, as before the sampler: every key the docker CLI and SDKs read.
    assert.deepEqual(Object.keys(s).sort(), [
      'blkio_stats',
      'cpu_stats',
      'id',
      'memory_stats',
      'name',
      'num_procs',
      'pids_stats',
      'precpu_stats',
      'preread',
      'read',
      'storage_stats',
    ]);
  }
});

type Reply = CgroupStats & { precpu_stats: CgroupStats['cpu_stats']; preread: string };
const single = async (sampler: StatsSampler, c: ContainerRecord): Promise<Reply> => {
  const out: Reply[] = [];
  for await (const s of containerStats(sampler, c, { stream: false })) out.push(s as Reply);
  assert.equal(out.length, 1);
  return out[0]!;
};

test("a single reply right after another measures against the other's sample: one read, at the next tick", async () => {
  const { reads, read } = countingReader();
  const sampler = new StatsSampler(read, async () => Date.now() * 1e6);
  const c = record('a');
  const before = await single(sampler, c);
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const after = await single(sampler, c);
  assert.ok(Date.now() - started < 200, 'no wait for a sample to measure against');
  assert.equal(reads.length, 3, 'the first reply read twice, the second once');
  assert.deepEqual(after.precpu_stats, before.cpu_stats);
  assert.equal(after.preread, before.read);
  assert.ok(after.cpu_stats.cpu_usage.total_usage > after.precpu_stats.cpu_usage.total_usage);
});

test("a burst of single replies reads the other running containers' CPU ahead: a request that comes later is answered at the next tick", async () => {
  const { reads, read } = countingReader();
  const cs = Array.from({ length: 30 }, (_, i) => record(`c${i}`));
  const sampler = new StatsSampler(read, async () => Date.now() * 1e6, { running: () => cs, burst: 8 });
  await Promise.all(cs.slice(0, 10).map((c) => single(sampler, c)));
  assert.equal(reads.filter((r) => r.cpuOnly).length, 30, 'the ten precpu reads, and the other twenty read ahead');
  assert.equal(reads.filter((r) => !r.cpuOnly).length, 10);
  assert.equal(new Set(reads.map((r) => r.id)).size, 30);
  // The rest of the CLI's burst, coming later (as under load): each measures against the read
  // ahead, at least a quarter second old by now, without a wait of its own.
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const late = await Promise.all(cs.slice(10).map((c) => single(sampler, c)));
  assert.ok(Date.now() - started < 200, `no quarter second's wait (${Date.now() - started} ms)`);
  assert.equal(reads.length, 60, 'one full read each, nothing read ahead again');
  for (const r of late) {
    assert.ok(Date.parse(r.read) - Date.parse(r.preread) >= 250);
    assert.ok(r.cpu_stats.cpu_usage.total_usage > r.precpu_stats.cpu_usage.total_usage);
    assert.equal(r.memory_stats.usage, 4096);
  }
});

test('every single reply is measured over at least a quarter second, however long its tick took to read', async () => {
  // Precpu reads that finish 150 ms into their tick (as in a tick over many containers under
  // load), full reads at once: the reply's sample is due a quarter second after the precpu's
  // read, not after its tick began.
  const { read } = countingReader();
  const late: SampleReader = async (c, opts) => {
    if (opts.cpuOnly) await new Promise((r) => setTimeout(r, 150));
    return read(c, opts);
  };
  const sampler = new StatsSampler(late, async () => Date.now() * 1e6);
  const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => single(sampler, record(`c${i}`))));
  for (const r of replies) assert.ok(Date.parse(r.read) - Date.parse(r.preread) >= 250, `${r.preread} -> ${r.read}`);
});

test('a few single replies read only their own containers', async () => {
  const { reads, read } = countingReader();
  const cs = Array.from({ length: 30 }, (_, i) => record(`c${i}`));
  const sampler = new StatsSampler(read, async () => Date.now() * 1e6, { running: () => cs, burst: 8 });
  await Promise.all(cs.slice(0, 3).map((c) => single(sampler, c)));
  assert.equal(reads.length, 6);
});

test('a reply does not measure against a sample older than the sampler keeps, nor one of an earlier run of the container', async () => {
  const { reads, read } = countingReader();
  const sampler = new StatsSampler(read, async () => Date.now() * 1e6, { keepMs: 200 });
  const c = record('a');
  await single(sampler, c);
  await new Promise((r) => setTimeout(r, 300));
  const stale = await single(sampler, c);
  assert.equal(reads.length, 4, 'a read of its own for the precpu once the last one is too old');
  assert.ok(Date.parse(stale.read) - Date.parse(stale.preread) >= 200);
  const restarted = { ...c, State: { ...c.State, Pid: 4242 } } as ContainerRecord;
  await single(sampler, restarted);
  assert.equal(reads.length, 6, 'a restarted container (another init pid) is read afresh');
});

test('a stopped container answers zeros without a read', async () => {
  const { reads, read } = countingReader();
  const sampler = new StatsSampler(read, async () => 0);
  const out: Array<{ read: string; memory_stats: object }> = [];
  for await (const s of containerStats(sampler, record('gone', false), { stream: false })) out.push(s as never);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.read, '0001-01-01T00:00:00Z');
  assert.deepEqual(out[0]!.memory_stats, {});
  assert.equal(reads.length, 0);
});

test('a stream yields a sample a second until its signal ends it', async () => {
  const { reads, read } = countingReader();
  const sampler = new StatsSampler(read, async () => 0);
  const ac = new AbortController();
  const got: CgroupStats[] = [];
  const started = Date.now();
  for await (const s of containerStats(sampler, record('a'), { stream: true, signal: ac.signal })) {
    got.push(s as CgroupStats);
    if (got.length === 2) ac.abort();
  }
  assert.equal(got.length, 2);
  assert.ok(Date.now() - started >= 1000);
  assert.equal(reads.length, 2);
});
