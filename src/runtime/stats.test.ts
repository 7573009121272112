import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCgroupStats } from './stats.ts';

/** A cgroup v1 container's files, as the kernel shows them, under a temporary directory. */
function v1Cgroup(dir: string): Record<string, string> {
  const files: Record<string, Record<string, string>> = {
    cpuacct: {
      'cpuacct.usage': '5000000\n',
      'cpuacct.usage_percpu': '3000000 2000000\n',
      'cpuacct.stat': 'user 1\nsystem 2\n',
    },
    cpu: { 'cpu.stat': 'nr_periods 4\nnr_throttled 1\nthrottled_time 7\n' },
    memory: {
      'memory.usage_in_bytes': '409600\n',
      'memory.max_usage_in_bytes': '819200\n',
      'memory.limit_in_bytes': '1048576\n',
      'memory.failcnt': '0\n',
      'memory.stat': 'cache 0\nrss 4096\n',
    },
    pids: { 'pids.current': '1\n', 'pids.max': 'max\n' },
    blkio: { 'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\nTotal 4096\n' },
  };
  const paths: Record<string, string> = {};
  for (const [controller, entries] of Object.entries(files)) {
    paths[controller] = join(dir, controller);
    mkdirSync(paths[controller]);
    for (const [name, text] of Object.entries(entries)) writeFileSync(join(paths[controller], name), text);
  }
  return paths;
}

test("a CPU-only sample has the full sample's CPU figures and reads nothing else", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stats-'));
  try {
    const paths = v1Cgroup(dir);
    const full = await readCgroupStats(paths, 0);
    assert.equal(full.memory_stats.usage, 409600);
    assert.equal(full.pids_stats.current, 1);
    // Without the memory, pids and blkio controllers' files the CPU-only sample is the same.
    for (const c of ['memory', 'pids', 'blkio']) rmSync(paths[c]!, { recursive: true });
    const cpu = await readCgroupStats(paths, 0, { cpuOnly: true });
    assert.deepEqual({ ...cpu.cpu_stats, system_cpu_usage: 0 }, { ...full.cpu_stats, system_cpu_usage: 0 });
    assert.equal(cpu.cpu_stats.cpu_usage.total_usage, 5000000);
    assert.deepEqual(cpu.memory_stats, {});
    assert.deepEqual(cpu.pids_stats, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a v1 sample's total CPU time is the sum of the per-CPU counters, as the kernel's cpuacct.usage is", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stats-'));
  try {
    const paths = v1Cgroup(dir);
    rmSync(join(paths.cpuacct!, 'cpuacct.usage'));
    const s = await readCgroupStats(paths, 0);
    assert.equal(s.cpu_stats.cpu_usage.total_usage, 5000000);
    assert.deepEqual(s.cpu_stats.cpu_usage.percpu_usage, [3000000, 2000000]);
    // Without the per-CPU file, cpuacct.usage gives the total.
    rmSync(join(paths.cpuacct!, 'cpuacct.usage_percpu'));
    writeFileSync(join(paths.cpuacct!, 'cpuacct.usage'), '7000\n');
    assert.equal((await readCgroupStats(paths, 0)).cpu_stats.cpu_usage.total_usage, 7000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sample given the host CPU time uses it rather than reading /proc/stat', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stats-'));
  try {
    const s = await readCgroupStats(v1Cgroup(dir), 0, { systemCpuUsage: 42 });
    assert.equal(s.cpu_stats.system_cpu_usage, 42);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("online_cpus is the host's, not the count of CPUs the container ran on", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stats-'));
  try {
    const paths = v1Cgroup(dir);
    // A container pinned to the first CPU: the others' counters stay at zero.
    writeFileSync(
      join(paths.cpuacct!, 'cpuacct.usage_percpu'),
      `5000000${' 0'.repeat(os.availableParallelism() - 1)}\n`,
    );
    const s = await readCgroupStats(paths, 0);
    assert.equal(s.cpu_stats.online_cpus, os.availableParallelism());
    assert.equal(s.cpu_stats.cpu_usage.total_usage, 5000000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
