/**
 * The recording fake of the host, for unit tests: no process is started, nothing is mounted;
 * each call is recorded, and `run` answers what a test scripted. Reached through this module's
 * `testing.ts` entry, never through `index.ts`, so no daemon code can pick it up.
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
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
