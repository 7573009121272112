/**
 * gVisor's `runsc` as a container runtime: runc's command line, so the runc/conmon driver runs
 * it, with what runsc needs beside that.
 *
 * - Networking: `runsc start` copies the interfaces of the sandbox's network namespace (the
 *   container's own, where Berth put eth0 after create) into gVisor's netstack. Before that it
 *   refuses to run in the host's namespace, and the runsc of Debian 12 (2022) tells by whether
 *   `/proc/sys/net/core/rmem_default` exists — which on kernels ≥ 6.x it does in every network
 *   namespace, so it refuses them all. Berth checks what runsc means to (the sandbox's namespace
 *   is not berthd's) itself, then runs `runsc start` in a mount namespace of its own where a
 *   tmpfs hides `/proc/sys/net`, so the old test passes. Newer runsc compare namespaces the
 *   same way and do not need it, but are not harmed.
 * - State: runsc keeps `<root>/<id>_sandbox:<id>.state` (JSON: status, the sandbox's pid, the
 *   bundle, the spec) instead of runc's directory; the driver reads it as it reads runc's, and
 *   the container's cgroup is the spec's `cgroupsPath`, where runsc puts the sandbox.
 * - Checkpoints: gVisor saves the whole sandbox itself (`runsc checkpoint`), no CRIU needed;
 *   `runsc restore`, which conmon runs, hides `/proc/sys/net` as `start` does.
 * - Signals: the process on the host is the sandbox (gVisor's kernel), not the container's
 *   process: every signal goes through `runsc kill`.
 *
 * @example
 *   const rt = new RunscRuntime({ host, root: '/run/berth/runtimes/runsc',
 *     runtimePath: '/usr/bin/runsc', runtimeArgs: ['--platform=ptrace'] });
 */
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { conflict, internal, notFound } from '../errdefs/index.ts';
import { signalNumber } from '../spec/index.ts';
import { RuncRuntime, type ContainerState } from './runc.ts';
import { runcFailure } from './failures.ts';
import type { CheckpointSupport, ProcessList } from './roles.ts';
import { parsePsTable } from './pstable.ts';
import { cgroupPathsOf, initAlive, isFrozen, procStat, type RuncStateFile } from './state.ts';

/** The parts of runsc's state file the driver reads. */
interface RunscStateFile {
  id?: string;
  status?: string;
  bundleDir?: string;
  createdAt?: string;
  sandbox?: { pid?: number };
  spec?: { linux?: { cgroupsPath?: string } };
}

/** `sh -c` script that runs its arguments with /proc/sys/net hidden (in the mount namespace of `unshare`). */
const HIDE_PROC_SYS_NET = 'mount -t tmpfs -o size=4k,mode=0555 none /proc/sys/net && exec "$0" "$@"';
const UNSHARE = ['--mount', '--propagation', 'private', 'sh', '-c', HIDE_PROC_SYS_NET];

export class RunscRuntime extends RuncRuntime {
  /** gVisor copies the interfaces into its own stack at start and restore. */
  readonly networkAtCreate = true;
  /** A FIFO made inside lives in gVisor's own file system layer, not on the host's mount. */
  readonly privateRoot = true;

  /** `runsc restore` sets up the network as `start` does: through the same wrapper. */
  protected override conmonRuntime(restoring: boolean): { path: string; args: readonly string[] } {
    const plain = super.conmonRuntime(restoring);
    if (!restoring) return plain;
    return { path: '/usr/bin/unshare', args: [...UNSHARE, plain.path, ...plain.args] };
  }

  override async checkpointSupport(): Promise<CheckpointSupport> {
    return { supported: true };
  }

  /** gVisor refuses some states (a TCP connection still open) with pages of Go state and stack: the reason is kept. */
  override async checkpoint(id: string, dir: string, leaveRunning: boolean): Promise<void> {
    try {
      await super.checkpoint(id, dir, leaveRunning);
    } catch (e) {
      const msg = (e as Error).message;
      const rejected = /save rejected due to (.*?)(?:::|$)/s.exec(msg)?.[1];
      if (rejected) throw conflict(`checkpoint container "${id}": gVisor cannot save it: ${rejected.trim()}`, e);
      if (msg.length > 600) throw internal(`${msg.slice(0, 600)}...`, e);
      throw e;
    }
  }

  private stateFilePath(id: string): string {
    return join(this.runcRoot, `${id}_sandbox:${id}.state`);
  }

  private async readRunscState(id: string): Promise<RunscStateFile | undefined> {
    if (!id || id.includes('/') || id.startsWith('.')) return undefined;
    const text = await fs.readFile(this.stateFilePath(id), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    return text === undefined ? undefined : (JSON.parse(text) as RunscStateFile);
  }

  /** runsc's state as runc's fields: the sandbox is the process, its start time read once. */
  protected override async stateFile(id: string): Promise<RuncStateFile | undefined> {
    const raw = await this.readRunscState(id);
    const pid = raw?.sandbox?.pid;
    if (!raw || !pid) return undefined;
    return {
      id,
      pid,
      startTime: (await procStat(pid))?.startTime ?? -1,
      bundle: raw.bundleDir ?? '',
      created: raw.createdAt ? new Date(raw.createdAt) : undefined,
      cgroupPaths: cgroupPathsOf(raw.spec?.linux?.cgroupsPath ?? ''),
      ownPidNamespace: true,
    };
  }

  override async state(id: string): Promise<ContainerState | undefined> {
    await this.init();
    const [s, raw] = await Promise.all([this.stateFile(id), this.readRunscState(id)]);
    if (!s || !raw) return undefined;
    let status: ContainerState['status'] = raw.status === 'created' ? 'created' : 'running';
    if (raw.status === 'stopped' || !(await initAlive(s))) status = 'stopped';
    else if (await isFrozen(s)) status = 'paused';
    return { id, status, pid: s.pid, bundle: s.bundle, created: s.created };
  }

  protected override holds(id: string): boolean {
    return !!id && !id.includes('/') && !id.startsWith('.') && existsSync(this.stateFilePath(id));
  }

  override async list(): Promise<string[]> {
    await this.init();
    const names = await fs.readdir(this.runcRoot).catch(() => [] as string[]);
    return names
      .map((n) => /^(.+)_sandbox:\1\.state$/.exec(n)?.[1])
      .filter((id): id is string => !!id)
      .sort();
  }

  /**
   * gVisor's own process table (`runsc ps`), in `ps -ef`'s columns: the processes of the
   * container, not the sandbox that stands for them on the host.
   */
  async processes(id: string): Promise<ProcessList> {
    await this.init();
    const r = await this.runRuntime(this.runcArgs('ps', id));
    if (r.code !== 0) throw runcFailure('list processes of', id, r.stderr);
    return parsePsTable(r.stdout, 'runsc ps');
  }

  /** The sandbox's host pid: gVisor's processes are not the host's. */
  override async ps(id: string): Promise<number[]> {
    const s = await this.state(id);
    if (!s || s.status === 'stopped') throw conflict(`list processes of container "${id}": container is not running`);
    return [s.pid];
  }

  override async kill(id: string, signal: string | number = 'SIGTERM', all = false): Promise<void> {
    await this.init();
    if (!(await this.exists(id))) throw notFound(`kill container "${id}": no such container`);
    const num = signalNumber(signal);
    const arg = num !== undefined ? String(num) : String(signal).replace(/^SIG/i, '');
    const r = await this.runRuntime(this.runcArgs('kill', ...(all ? ['--all'] : []), id, arg));
    if (r.code === 0) return;
    if (/not running|no such process|stopped|does not exist|cannot signal/i.test(r.stderr))
      throw notFound(`kill container "${id}": container is not running`);
    throw internal(`kill container "${id}": ${r.stderr.trim()}`);
  }
  override async start(id: string): Promise<void> {
    await this.init();
    const st = await this.state(id);
    if (st?.pid) {
      const [ours, sandbox] = await Promise.all([
        fs.stat('/proc/self/ns/net'),
        fs.stat(`/proc/${st.pid}/ns/net`).catch(() => undefined),
      ]);
      if (sandbox && sandbox.ino === ours.ino && sandbox.dev === ours.dev)
        throw conflict(`start container "${id}": runsc cannot share the host's network namespace`);
    }
    const args = this.runcArgs('start', id);
    const r = await this.host.run('unshare', [...UNSHARE, this.runc, ...args], {
      allowFailure: true,
      env: this.runtimeEnv,
    });
    if (r.code !== 0) throw runcFailure('start', id, r.stderr);
  }
}
