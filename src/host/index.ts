/**
 * The one seam to the kernel and to outside programs. Everything that spawns a process,
 * mounts, or makes special files goes through a `Host`, so unit tests can use the recording
 * fake (`FakeHost`, in `testing.ts`) and run without root.
 *
 * Lifecycle: one `Host` per daemon, created at start-up; safe to share. A `RealHost` given the
 * path of berth-launcher starts programs through it (see launcher.ts) and must be `close`d.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { internal } from '../errdefs/index.ts';
import { constants as osConstants, setPriority } from 'node:os';
import { Launcher, LINK_STEPS, MNT_DETACH, type LaunchOptions, type VethLink } from './launcher.ts';
import { BRIDGE_STEPS, type BridgeLink, type NetInfo, type NetInfoRequest } from './netinfo.ts';
export { launcherMismatch, type VethLink } from './launcher.ts';
export { type BridgeLink, type NetInfo, type NetInfoRequest } from './netinfo.ts';
export { IDMOUNT_HELPER, idmountArgs, mountIdmappedOverlay, type IdmapRange, type IdmappedOverlay } from './idmount.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** Run in this network namespace (a path such as /proc/<pid>/ns/net). */
  netns?: string;
  /** Extra file descriptors handed to the child from fd 3 on. */
  stdio?: SpawnOptions['stdio'];
  timeoutMs?: number;
}

/** Runs programs to completion. */
export interface Runner {
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** Node's spawn options, and a niceness. */
export type HostSpawnOptions = SpawnOptions & {
  /**
   * Run at this niceness (1-19) from the start, as everything the program starts does (it
   * inherits it): work nobody waits for, such as a warm pool's sandbox. `setPriority` takes
   * a process back to the daemon's.
   */
  nice?: number;
};

/** Starts long-lived processes that the caller then owns. */
export interface Spawner {
  spawn(cmd: string, args: readonly string[], opts?: HostSpawnOptions): ChildProcess;
  /** setpriority(2) of one process (of one thread, for a threaded one). */
  setPriority(pid: number, nice: number): void;
}

/** Mounts and unmounts file systems. */
export interface Mounter {
  /** `options` as mount(8) takes them; relative paths in them resolve against `cwd`. */
  mount(
    fstype: string,
    source: string,
    target: string,
    options: readonly string[],
    o?: { cwd?: string },
  ): Promise<void>;
  /** Lazy-detaches the mount; a target that is not mounted is not an error. */
  unmount(target: string): Promise<void>;
}

/** Makes the special files that Node's fs cannot: device nodes and extended attributes. */
export interface SpecialFiles {
  mknod(path: string, kind: 'c' | 'b' | 'p', major: number, minor: number, mode: number): Promise<void>;
  setxattr(path: string, name: string, value: string): Promise<void>;
}

/** Why a link could not be made: the step (LINK_STEPS, BRIDGE_STEPS) and the errno's name (EEXIST...). */
export interface LinkFailure {
  step: (typeof LINK_STEPS)[number] | (typeof BRIDGE_STEPS)[number];
  errno: string;
}

/** Network links the host makes with rtnetlink itself, where ip(8) would be a program per step. */
export interface LinkMaker {
  /** A container's veth pair (network/veth.ts's plugVeth); resolves with what failed, if anything. */
  plugVeth(l: VethLink): Promise<LinkFailure | undefined>;
  /** Deletes a link of the host's namespace by name; one that is not there is not an error. */
  deleteLink(name: string): Promise<void>;
  /** Isolates a plugged bridge port (`ip link set dev X type bridge_slave isolated on`); rejects when it cannot. */
  isolatePort(name: string): Promise<void>;
  /** Makes or sets up a bridge (network/bridgelink.ts's steps); resolves with what failed, if anything. */
  setUpBridge(b: BridgeLink): Promise<LinkFailure | undefined>;
  /** The host's links, with the addresses and routes asked for (`ip -j ... show`'s, read by netlink dumps). */
  netInfo(want: NetInfoRequest): Promise<NetInfo>;
}

/** nftables rulesets run by the host itself (libnftables), where nft(8) would be a program per ruleset. */
export interface RuleRunner {
  /** Runs `rules` as `nft -f -` would, in one transaction; rejects with nft's words. */
  nft(rules: string): Promise<void>;
}

/** Files' extended attributes read by the host itself, where getfattr would be a program. */
export interface XattrReader {
  /**
   * The attributes named `names` of each of `paths` (absolute; a last component that is a
   * symlink is not followed), by the path's index; a path without any is absent. What could not
   * be read otherwise than by its absence or the file's (a running container's files vanish)
   * is `failed`, the first errno's name; `found` then holds what could, as getfattr prints
   * what it could.
   *
   *     const { found } = await host.xattrs.xattrsOf([`${upper}/etc`], ['trusted.overlay.opaque']);
   *     found.get(0)?.get('trusted.overlay.opaque') // <Buffer 79> when /etc was made opaque
   */
  xattrsOf(
    paths: readonly string[],
    names: readonly string[],
  ): Promise<{ found: Map<number, Map<string, Buffer>>; failed?: string }>;
}

export interface Host extends Runner, Spawner, Mounter, SpecialFiles {
  /** Ends what the host started for itself (the launcher); programs it ran go on. */
  close?(): void;
  /** Present when the host makes links itself (the real host, through its launcher). */
  readonly links?: LinkMaker;
  /** Present when the host runs nftables rulesets itself (the real host, through its launcher). */
  readonly rules?: RuleRunner;
  /** Present when the host reads extended attributes itself (the real host, through its launcher). */
  readonly xattrs?: XattrReader;
}

export function describeCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].join(' ');
}

/** The real host: spawns real programs, through berth-launcher when given its path. */
export class RealHost implements Host {
  private readonly launcher?: Launcher;
  readonly links?: LinkMaker;
  readonly rules?: RuleRunner;
  readonly xattrs?: XattrReader;

  constructor(o: { launcherPath?: string } = {}) {
    if (o.launcherPath) {
      const launcher = (this.launcher = new Launcher(o.launcherPath));
      this.xattrs = {
        async xattrsOf(paths, names) {
          if (paths.length === 0) return { found: new Map() };
          const { result, found } = await launcher.xattrs(paths, names);
          return result < 0 ? { found, failed: errnoName(-result) } : { found };
        },
      };
      this.rules = {
        async nft(rules) {
          const failed = await launcher.nft(rules);
          if (failed) throw internal(`nft -f -: ${failed}`);
        },
      };
      this.links = {
        async plugVeth(l) {
          const { result, step } = await launcher.link(l);
          return result === 0 ? undefined : { step: LINK_STEPS[step] ?? 'done', errno: errnoName(-result) };
        },
        async deleteLink(name) {
          const r = await launcher.unlink(name);
          if (r < 0 && -r !== osConstants.errno.ENODEV) throw internal(`delete link ${name}: ${errnoName(-r)}`);
        },
        async isolatePort(name) {
          const r = await launcher.isolatePort(name);
          if (r < 0) throw internal(`isolate bridge port ${name}: ${errnoName(-r)}`);
        },
        async setUpBridge(b) {
          const { result, step } = await launcher.bridge(b);
          return result === 0 ? undefined : { step: BRIDGE_STEPS[step] ?? 'done', errno: errnoName(-result) };
        },
        async netInfo(want) {
          const info = await launcher.netInfo(want);
          if ('result' in info) throw internal(`read the host's ${info.dump} (netlink): ${errnoName(-info.result)}`);
          return info;
        },
      };
    }
  }

  close(): void {
    this.launcher?.close();
  }

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      // Without the launcher, nsenter enters the namespace.
      if (opts.netns && !(this.launcher && !opts.stdio))
        [cmd, args] = ['nsenter', [`--net=${opts.netns}`, '--', cmd, ...args]];
      const child =
        this.launcher && !opts.stdio
          ? this.launcher.spawn(cmd, args, {
              env: opts.env,
              cwd: opts.cwd,
              stdin: true,
              stdout: true,
              stderr: true,
              timeoutMs: opts.timeoutMs,
              netns: opts.netns,
            })
          : nodeSpawn(cmd, args, {
              env: opts.env ?? process.env,
              cwd: opts.cwd,
              stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
              timeout: opts.timeoutMs,
            });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout?.on('data', (b: Buffer) => out.push(b));
      child.stderr?.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(internal(`run ${cmd}: ${e.message}`, e)));
      child.on('close', (code, signal) => {
        const result = {
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        };
        if (result.code !== 0 && !opts.allowFailure) {
          reject(
            internal(
              `${describeCommand(cmd, args)}: exit ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
            ),
          );
        } else resolve(result);
      });
      if (child.stdin) {
        child.stdin.on('error', () => {});
        child.stdin.end(opts.input ?? '');
      }
    });
  }

  spawn(cmd: string, args: readonly string[], opts: HostSpawnOptions = {}): ChildProcess {
    const { nice, ...rest } = opts;
    const launch = this.launcher && launchable(rest);
    if (launch) return this.launcher!.spawn(cmd, args, { ...launch, nice }) as unknown as ChildProcess;
    // Without the launcher, nice(1) lowers it before the program runs.
    if (nice) [cmd, args] = ['nice', ['-n', String(nice), '--', cmd, ...args]];
    return nodeSpawn(cmd, args, rest);
  }

  setPriority(pid: number, nice: number): void {
    setPriority(pid, nice);
  }

  async mount(
    fstype: string,
    source: string,
    target: string,
    options: readonly string[],
    o: { cwd?: string } = {},
  ): Promise<void> {
    // An overlay takes only its own key=value options: the launcher mounts it with the system
    // call. Everything else (flags, helpers such as mount.nfs) goes through mount(8).
    if (this.launcher && fstype === 'overlay' && options.every((x) => /^[a-z_]+=/.test(x))) {
      const r = await this.launcher.mount(fstype, source, target, 0, options.join(','), o.cwd);
      if (r < 0) throw internal(`mount ${fstype} on ${target}: ${errnoName(-r)}`);
      return;
    }
    const args = ['-t', fstype];
    if (options.length) args.push('-o', options.join(','));
    args.push(source, target);
    await this.run('mount', args, { cwd: o.cwd });
  }

  async unmount(target: string): Promise<void> {
    if (this.launcher) {
      const r = await this.launcher.unmount(target, MNT_DETACH);
      // Not a mount point (EINVAL) or not there (ENOENT): nothing to undo.
      if (r < 0 && -r !== osConstants.errno.EINVAL && -r !== osConstants.errno.ENOENT)
        throw internal(`unmount "${target}": ${errnoName(-r)}`);
      return;
    }
    const r = await this.run('umount', ['-l', target], { allowFailure: true });
    if (r.code !== 0 && !/not mounted|no mount point|not found|No such file/i.test(r.stderr)) {
      throw internal(`unmount "${target}": ${r.stderr.trim()}`);
    }
  }

  async mknod(path: string, kind: 'c' | 'b' | 'p', major: number, minor: number, mode: number): Promise<void> {
    const args = ['-m', (mode & 0o7777).toString(8), path, kind];
    if (kind !== 'p') args.push(String(major), String(minor));
    await this.run('mknod', args);
  }

  async setxattr(path: string, name: string, value: string): Promise<void> {
    await this.run('setfattr', ['-h', '-n', name, '-v', value, path]);
  }
}

function errnoName(errno: number): string {
  return Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
}

/**
 * The launcher's equivalent of Node spawn options, when it can do what they ask: stdio of
 * pipes and nothing (up to fd 3), no IPC channel, no uid/gid or shell.
 */
function launchable(o: SpawnOptions): LaunchOptions | undefined {
  const stdio = o.stdio ?? 'pipe';
  const list = typeof stdio === 'string' ? [stdio, stdio, stdio] : stdio;
  if (list.length > 4 || !list.every((x) => x === 'pipe' || x === 'ignore' || x === null || x === undefined))
    return undefined;
  if (o.uid !== undefined || o.gid !== undefined || o.shell || o.argv0 || o.signal || o.killSignal || o.windowsHide)
    return undefined;
  const piped = (i: number) => list[i] === 'pipe' || (i < 3 && (list[i] === null || list[i] === undefined));
  return {
    env: o.env,
    cwd: typeof o.cwd === 'string' ? o.cwd : undefined,
    timeoutMs: o.timeout,
    stdin: piped(0),
    stdout: piped(1),
    stderr: piped(2),
    fd3: list[3] === 'pipe',
    setsid: !!o.detached,
  };
}
