/**
 * The recording fake of the host, for unit tests: no process is started, nothing is mounted;
 * each call is recorded, and `run` answers what a test scripted. Reached through this module's
 * `testing.ts` entry, never through `index.ts`, so no daemon code can pick it up.
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { internal } from '../errdefs/index.ts';
import { describeCommand, type Host, type HostSpawnOptions, type RunOptions, type RunResult } from './index.ts';

export interface RecordedCall {
  op: string;
  args: unknown[];
  /** A run in another network namespace: which. */
  netns?: string;
  /** A spawn at a lower priority: its niceness. */
  nice?: number;
}

/**
 * A recording fake for unit tests. `run` answers from `responses` (keyed by the command name)
 * or with success and empty output; every call is appended to `calls`.
 */
export class FakeHost implements Host {
  readonly calls: RecordedCall[] = [];
  /** Answers by command name; `input` is what the caller wrote to the program's stdin. */
  responses = new Map<string, (args: readonly string[], input?: string) => RunResult>();

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ op: 'run', args: [cmd, ...args], ...(opts.netns ? { netns: opts.netns } : {}) });
    const input = opts.input === undefined ? undefined : String(opts.input);
    const r = this.responses.get(cmd)?.(args, input) ?? { code: 0, stdout: '', stderr: '' };
    if (r.code !== 0 && !opts.allowFailure)
      throw internal(`${describeCommand(cmd, args)}: exit ${r.code}: ${r.stderr}`);
    return r;
  }
  spawn(cmd: string, args: readonly string[], opts: HostSpawnOptions = {}): ChildProcess {
    this.calls.push({ op: 'spawn', args: [cmd, ...args], ...(opts.nice ? { nice: opts.nice } : {}) });
    return nodeSpawn('true', []);
  }
  setPriority(pid: number, nice: number): void {
    this.calls.push({ op: 'setPriority', args: [pid, nice] });
  }
  async mount(fstype: string, source: string, target: string, options: readonly string[]): Promise<void> {
    this.calls.push({ op: 'mount', args: [fstype, source, target, [...options]] });
  }
  async unmount(target: string): Promise<void> {
    this.calls.push({ op: 'unmount', args: [target] });
  }
  async mknod(path: string, kind: 'c' | 'b' | 'p', major: number, minor: number, mode: number): Promise<void> {
    this.calls.push({ op: 'mknod', args: [path, kind, major, minor, mode] });
  }
  async setxattr(path: string, name: string, value: string): Promise<void> {
    this.calls.push({ op: 'setxattr', args: [path, name, value] });
  }
}

/**
 * A process in a network namespace of its own (as a container's init), for tests that make
 * real links without touching the host's: resolves with the namespace's path; `kill` it after.
 */
export async function processNetns(): Promise<{ path: string; kill: () => void }> {
  const p = nodeSpawn('unshare', ['-n', 'sleep', '300'], { stdio: 'ignore' });
  const kill = () => void p.kill('SIGKILL');
  const ours = readlinkSync('/proc/self/ns/net');
  for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 10))) {
    try {
      const path = `/proc/${p.pid}/ns/net`;
      // sleep has run once the command is sleep; before, unshare may not have unshared yet.
      if (readlinkSync(path) !== ours && readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep')
        return { path, kill };
    } catch {
      // not started yet
    }
  }
  kill();
  throw new Error('unshare -n sleep: no namespace of its own within 10 s');
}

/**
 * A launcher that runs in the network namespace at `netns` (a script that enters it and execs
 * `launcher`): a `RealHost` given its path makes links there, and runs programs there. Written
 * into `dir`; returns its path.
 */
export function launcherInNetns(launcher: string, netns: string, dir: string): string {
  const script = join(dir, `launcher-${netns.replace(/\W+/g, '_')}`);
  writeFileSync(script, `#!/bin/sh\nexec nsenter --net=${netns} -- ${launcher}\n`, { mode: 0o755 });
  return script;
}
