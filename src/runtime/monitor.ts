/**
 * The per-container monitor (conmon, or Berth's own berth-monitor, which speaks conmon's
 * command line and writes the same files) as seen from outside, e.g. by a daemon that restarted:
 * its pid file, whether that pid is still conmon for this container, and what the kernel says
 * about OOM kills in the container's memory cgroup.
 */
import { readFileSync, promises as fs } from 'node:fs';
import { basename, join } from 'node:path';

/** The monitor's pid from `<bundle>/conmon.pid`; undefined if there is none. */
export async function readMonitorPid(bundle: string): Promise<number | undefined> {
  const text = await fs.readFile(join(bundle, 'conmon.pid'), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether the monitor program at `path` rotates a log's files itself (`--log-max-files`): berth-monitor does, conmon cannot. */
export function monitorRotates(path: string): boolean {
  return basename(path) === 'berth-monitor';
}

/**
 * Whether the running monitor of the task in `bundle` was told to rotate its log's files
 * (`--log-max-files` on its command line): a daemon restarted, perhaps with the other
 * `--monitor`, then leaves the rotation to it rather than rotating the same files too.
 */
export async function monitorKeepsLogs(bundle: string): Promise<boolean> {
  const pid = await readMonitorPid(bundle);
  const raw = pid ? await fs.readFile(`/proc/${pid}/cmdline`).catch(() => undefined) : undefined;
  return !!raw && raw.toString('utf8').split('\0').includes('--log-max-files');
}

/** Either monitor's program name: a daemon restarted with the other `--monitor` still knows the running ones. */
const MONITORS = new Set(['conmon', 'berth-monitor']);

/**
 * Is `pid` a live monitor of container `id`? Checks /proc/<pid>/cmdline — the program's
 * name and its `-c <id>` argument — so that a pid the kernel reused for another process does
 * not pass for the monitor. Read on the event loop, as `wasOomKilled` reads its cgroup file: a
 * /proc file is made as it is read and never waits for a disk, and this is asked at every
 * task's delete (a warm run's clean-up) and every 50 ms while a delete waits for its monitor,
 * where the thread pool's round trips (open, fstat, reads, close) cost more than the read.
 */
export async function isMonitor(pid: number, id: string, conmonPath = 'conmon'): Promise<boolean> {
  let raw: Buffer;
  try {
    raw = readFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return false;
  }
  const argv = raw.toString('utf8').split('\0');
  if (argv.at(-1) === '') argv.pop();
  if (argv.length === 0) return false;
  const name = basename(argv[0]!);
  if (name !== basename(conmonPath) && !MONITORS.has(name)) return false;
  for (let i = 1; i < argv.length - 1; i++) {
    if ((argv[i] === '-c' || argv[i] === '--cid') && argv[i + 1] === id) return true;
  }
  return argv.includes(`--cid=${id}`);
}

/**
 * Did the kernel's OOM killer kill a process in this memory cgroup? Read it before the cgroup
 * is removed (`runc delete`). `cgroupPath` is a memory cgroup directory — v1
 * (`/sys/fs/cgroup/memory/...`, read `memory.oom_control`) or v2 (read `memory.events`) — or a
 * path relative to the cgroup root (a spec's `linux.cgroupsPath`), tried in both layouts.
 * Read on the event loop: a cgroup file is made as it is read, never waits for a disk, and this
 * is on the way from an exit to its waiters, where each thread-pool round trip (open, fstat,
 * read, close) waits for a core on a busy machine.
 */
export async function wasOomKilled(cgroupPath: string): Promise<boolean> {
  const dirs = cgroupPath.startsWith('/sys/fs/cgroup/')
    ? [cgroupPath]
    : [join('/sys/fs/cgroup/memory', cgroupPath), join('/sys/fs/cgroup', cgroupPath)];
  for (const dir of dirs) {
    for (const file of ['memory.oom_control', 'memory.events']) {
      let text: string;
      try {
        text = readFileSync(join(dir, file), 'utf8');
      } catch {
        continue;
      }
      const m = /^oom_kill (\d+)$/m.exec(text);
      if (m) return Number(m[1]) > 0;
    }
  }
  return false;
}
