/**
 * Starts programs through berth-launcher (src/host/berth-launcher.c), a small process that
 * forks on berthd's behalf. Node forks the whole daemon for every spawn, and copying the page
 * tables of its heap blocks the event loop for 7-15 ms each time; the launcher's fork costs a
 * tenth of a millisecond and blocks nothing here.
 *
 * It also mounts and unmounts with the system calls themselves, where mount(8) would be one
 * more program to start (3 ms for an overlay), and plugs containers' veth pairs with rtnetlink,
 * where ip(8) was two (`link`), and makes bridges and reads the host's links, addresses and
 * routes with it too (`bridge`, `netInfo`), where ip was a program for each, and runs nftables
 * rulesets with libnftables (`nft`), where nft was one, and reads files' extended attributes
 * (`xattrs`), where getfattr -R was one.
 *
 * `spawn` returns a `LaunchedProcess` that behaves like the `ChildProcess` the callers know for
 * what they use: `pid`, `stdin`/`stdout`/`stderr`/`stdio[3]` streams, the `spawn`, `error`,
 * `exit` and `close` events, `kill`, `unref`. The protocol is described in the C file.
 *
 * Lifecycle: one launcher per `RealHost` that was given its path, started on first use. If it
 * dies, the next spawn starts another; spawns in flight fail with an error. `close()` ends it
 * (its stdin closes); programs it started keep running.
 */
import { spawn as nodeSpawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { NETINFO_STEPS, parseNetInfo, type BridgeLink, type NetInfo, type NetInfoRequest } from './netinfo.ts';

const REQ_SPAWN = 1,
  REQ_STDIN = 2,
  REQ_KILL = 3,
  REQ_RELEASE = 4,
  REQ_MOUNT = 5,
  REQ_UNMOUNT = 6,
  REQ_LINK = 7,
  REQ_UNLINK = 8,
  REQ_BRIDGE = 9,
  REQ_NETINFO = 10,
  REQ_NFT = 11,
  REQ_BRPORT = 12,
  REQ_XATTRS = 13;
const RES_SPAWNED = 1,
  RES_DATA = 2,
  RES_EXIT = 3,
  RES_DONE = 4,
  RES_WROTE = 5;
/**
 * A container's veth pair as the launcher makes it (network/veth.ts's plug, in its words): the
 * host end `hostVeth` on `bridge`, the peer `ifname` made in the namespace at `netns` with the
 * MAC, both with the MTU; inside, the addresses (address/length), the peer and lo up, the
 * default routes via the gateways. `quiet`: no IPv6 link-local address on either end.
 */
export interface VethLink {
  netns: string;
  hostVeth: string;
  bridge: string;
  ifname: string;
  macAddress: string;
  mtu: number;
  address: string;
  gateway?: string;
  address6?: string;
  gateway6?: string;
  quiet?: boolean;
  isolated?: boolean;
}

/** The C file's enum link_step, by number: where a LINK failed. */
export const LINK_STEPS = [
  'done',
  'arguments',
  'open the network namespace',
  'find the bridge',
  'create the veth pair',
  "host end's addrgenmode",
  'host end up',
  'isolate the bridge port',
  'enter the network namespace',
  'find the container end',
  'add the IPv4 address',
  'add the IPv6 address',
  "container end's addrgenmode",
  'container end up',
  'lo up',
  'add the IPv4 default route',
  'add the IPv6 default route',
] as const;

/** LINK's flags: no IPv6 link-local addresses on either end; the bridge port isolated. */
const LINK_QUIET = 1,
  LINK_ISOLATED = 2;
/** BRPORT's flags: the port isolated. */
const BRPORT_ISOLATED = 1;
/** BRIDGE's flags: make it; bring it up. */
const BRIDGE_CREATE = 1,
  BRIDGE_UP = 2,
  BRIDGE_REPLACE6 = 4;
/** NETINFO's flags: what to list. */
const INFO_LINKS = 1,
  INFO_ADDRS4 = 2,
  INFO_ADDRS6 = 4,
  INFO_ROUTES4 = 8,
  INFO_ROUTES6 = 16;
/** MNT_DETACH: umount2's lazy detach (`umount -l`). */
export const MNT_DETACH = 2;
const F_STDIN = 1,
  F_STDOUT = 2,
  F_STDERR = 4,
  F_FD3 = 8,
  F_SETSID = 16,
  F_NETNS = 32,
  F_NICE = 64;
const HEADER = 9;
/** The message set this file speaks; the C file's PROTOCOL. A launcher without `--protocol` is 1. */
export const LAUNCHER_PROTOCOL = 8;

/** The string a launcher binary holds with its protocol after it, up to a `;` (the C file's protocol_mark). */
const PROTOCOL_MARK = 'berth-launcher-protocol=';

/**
 * Why the launcher binary at `path` cannot serve this berthd, or undefined when it can: a
 * helper built from an older checkout would take messages it does not know and leave their
 * callers waiting for answers that never come. The protocol is read from the binary's mark: a
 * synchronous `--protocol` run at every daemon start took 3-5 ms quiet and 20-150 ms at load
 * 8 (Node's spawnSync blocks until the child is gone); a binary without the mark (built before
 * it) is asked by running it, as before.
 */
export function launcherMismatch(path: string): string | undefined {
  let spoken: number;
  try {
    accessSync(path, fsConstants.X_OK);
    const bin = readFileSync(path);
    const at = bin.indexOf(PROTOCOL_MARK);
    const mark = at < 0 ? undefined : /^(\d+);/.exec(bin.toString('latin1', at + PROTOCOL_MARK.length, at + 40));
    spoken = mark ? Number(mark[1]) : protocolByRunning(path);
  } catch (e) {
    return `${path}: ${(e as Error).message}`;
  }
  if (spoken !== LAUNCHER_PROTOCOL) return `${path} speaks protocol ${spoken}, this berthd ${LAUNCHER_PROTOCOL}`;
  return undefined;
}

/** What `path --protocol` prints; 1 for a launcher from before the option (it says nothing). */
function protocolByRunning(path: string): number {
  const r = spawnSync(path, ['--protocol'], { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 });
  if (r.error) throw r.error;
  return r.status === 0 && /^\d+$/.test(r.stdout.trim()) ? Number(r.stdout.trim()) : 1;
}

export interface LaunchOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** A pipe the program writes to on its fd 3 (conmon's sync pipe). */
  fd3?: boolean;
  /** In a session of its own (Node's `detached`). */
  setsid?: boolean;
  /** SIGTERM after this long. */
  timeoutMs?: number;
  /** Run in this network namespace (a path such as /proc/<pid>/ns/net). */
  netns?: string;
  /** Run at this niceness (1-19), as does everything the program starts: work nobody waits for. */
  nice?: number;
}

/** A program started through the launcher; see the module comment. */
export class LaunchedProcess extends EventEmitter {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: Array<Readable | Writable | null>;
  private readonly launcher: Launcher;
  readonly id: number;
  private openStreams: number;
  private exited = false;
  private closed = false;
  /** The stdin write waiting for the launcher's WROTE. */
  private wrote?: () => void;

  constructor(launcher: Launcher, id: number, o: LaunchOptions) {
    super();
    this.launcher = launcher;
    this.id = id;
    const readable = (on?: boolean) => (on ? new Readable({ read() {} }) : null);
    this.stdout = readable(o.stdout);
    this.stderr = readable(o.stderr);
    const fd3 = readable(o.fd3);
    // A chunk is done when the launcher says the child's pipe took it (WROTE): the writer
    // waits for a slow reader as with a pipe of its own.
    this.stdin = o.stdin
      ? new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            if (!chunk.length || this.exited || this.closed) return cb();
            this.wrote = cb;
            launcher.send(REQ_STDIN, id, chunk);
          },
          final: (cb) => {
            launcher.send(REQ_STDIN, id, Buffer.alloc(0));
            cb();
          },
        })
      : null;
    this.stdio = [this.stdin, this.stdout, this.stderr, fd3];
    this.openStreams = [this.stdout, this.stderr, fd3].filter(Boolean).length;
    for (const s of [this.stdout, this.stderr, fd3]) s?.once('end', () => this.streamEnded());
    // A stream nobody reads any more (destroyed by the caller) still counts as ended.
    for (const s of [this.stdout, this.stderr, fd3])
      s?.once('close', () => {
        if (!s.readableEnded) this.streamEnded();
      });
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.exited || this.pid === undefined) return false;
    const num = typeof signal === 'number' ? signal : osConstants.signals[signal];
    if (num === undefined) return false;
    const b = Buffer.alloc(4);
    b.writeUInt32LE(num);
    this.launcher.send(REQ_KILL, this.id, b);
    return true;
  }

  /** The launcher never keeps the daemon alive: nothing to do. */
  unref(): void {}
  ref(): void {}

  /** @internal */
  onSpawned(pidOrErrno: number): void {
    if (pidOrErrno > 0) {
      this.pid = pidOrErrno;
      this.emit('spawn');
      return;
    }
    const code = Object.entries(osConstants.errno).find(([, v]) => v === -pidOrErrno)?.[0] ?? 'EIO';
    const err = Object.assign(new Error(`spawn ${code}`), { code, errno: pidOrErrno, syscall: 'spawn' });
    this.exited = true;
    this.launcher.forget(this.id);
    for (const s of this.stdio) s?.destroy();
    this.emit('error', err);
    this.emit('close', -2, null);
  }

  /** @internal */
  onData(fd: number, data: Buffer): void {
    const s = this.stdio[fd] as Readable | null | undefined;
    if (!s || s.destroyed) return;
    s.push(data.length ? data : null);
  }

  /** @internal: the last stdin chunk reached the child's pipe (or was dropped). */
  onWrote(): void {
    const cb = this.wrote;
    this.wrote = undefined;
    cb?.();
  }

  /** @internal */
  onExit(status: number): void {
    // A wait status: the exit code in bits 8-15, or the signal in the low 7 bits.
    const sig = status & 0x7f;
    if (sig)
      this.signalCode =
        (Object.entries(osConstants.signals).find(([, v]) => v === sig)?.[0] as NodeJS.Signals | undefined) ??
        'SIGKILL';
    else this.exitCode = (status >> 8) & 0xff;
    this.exited = true;
    this.emit('exit', this.exitCode, this.signalCode);
    this.maybeClose();
  }

  /** @internal: the launcher went away. */
  onLost(): void {
    this.onWrote();
    for (const s of this.stdio) if (s && !s.destroyed) (s as Readable).push?.(null);
    if (!this.exited) {
      // What became of it is unknown: reported as killed, so that nobody takes it for a success.
      this.exited = true;
      this.signalCode = 'SIGKILL';
      this.emit('exit', null, 'SIGKILL');
    }
    this.openStreams = 0;
    this.maybeClose();
  }

  private streamEnded(): void {
    this.openStreams--;
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.closed || !this.exited || this.openStreams > 0) return;
    this.closed = true;
    this.launcher.forget(this.id);
    this.onWrote();
    this.emit('close', this.exitCode, this.signalCode);
  }
}

export class Launcher {
  private readonly path: string;
  private child: ChildProcess | undefined;
  private readonly procs = new Map<number, LaunchedProcess>();
  /** MOUNT and UNMOUNT requests waiting for their answer. */
  private readonly calls = new Map<number, { resolve: (answer: Buffer) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private buf: Buffer = Buffer.alloc(0);

  constructor(path: string) {
    this.path = path;
  }

  /**
   * mount(2): `flags` are MS_* bits, `data` the file system's options; relative paths in them
   * resolve against `cwd`. Resolves with 0 or -errno.
   */
  async mount(fstype: string, source: string, target: string, flags: number, data: string, cwd = ''): Promise<number> {
    return (await this.call(REQ_MOUNT, flags, [cwd, fstype, source, target, data])).readInt32LE(0);
  }

  /** umount2(2) with MNT_* `flags`. Resolves with 0 or -errno. */
  async unmount(target: string, flags: number): Promise<number> {
    return (await this.call(REQ_UNMOUNT, flags, [target])).readInt32LE(0);
  }

  /**
   * A container's veth pair, made and set up with rtnetlink (the C file's LINK; the fields are
   * host/index.ts's `VethLink`). Resolves with 0 or -errno, and the step that failed.
   */
  async link(l: VethLink): Promise<{ result: number; step: number }> {
    const flags = (l.quiet ? LINK_QUIET : 0) | (l.isolated ? LINK_ISOLATED : 0);
    const answer = await this.call(REQ_LINK, flags, [
      l.netns,
      l.hostVeth,
      l.bridge,
      l.ifname,
      l.macAddress,
      l.address ?? '',
      l.gateway ?? '',
      l.address6 ?? '',
      l.gateway6 ?? '',
      String(l.mtu),
    ]);
    return { result: answer.readInt32LE(0), step: answer.length >= 8 ? answer.readInt32LE(4) : 0 };
  }

  /** A link deleted by name in the launcher's (the host's) network namespace. Resolves with 0 or -errno. */
  async unlink(name: string): Promise<number> {
    return (await this.call(REQ_UNLINK, 0, [name])).readInt32LE(0);
  }

  /**
   * A plugged bridge port isolated from the bridge's other isolated ports (the C file's
   * BRPORT). Resolves with 0 or -errno.
   */
  async isolatePort(name: string): Promise<number> {
    return (await this.call(REQ_BRPORT, BRPORT_ISOLATED, [name])).readInt32LE(0);
  }

  /** A bridge made or set up (the C file's BRIDGE). Resolves with 0 or -errno, and the step that failed. */
  async bridge(b: BridgeLink): Promise<{ result: number; step: number }> {
    const flags = (b.create ? BRIDGE_CREATE : 0) | (b.up ? BRIDGE_UP : 0) | (b.replace6 ? BRIDGE_REPLACE6 : 0);
    const answer = await this.call(REQ_BRIDGE, flags, [
      b.name,
      b.macAddress ?? '',
      b.delete4 ?? '',
      b.address ?? '',
      b.address6 ?? '',
    ]);
    return { result: answer.readInt32LE(0), step: answer.length >= 8 ? answer.readInt32LE(4) : 0 };
  }

  /**
   * The host's links, and the addresses and routes asked for (the C file's NETINFO). Resolves
   * with them, or with -errno and the dump that failed.
   */
  async netInfo(want: NetInfoRequest): Promise<NetInfo | { result: number; dump: string }> {
    const flags =
      (want.links ? INFO_LINKS : 0) |
      (want.addrs4 ? INFO_ADDRS4 : 0) |
      (want.addrs6 ? INFO_ADDRS6 : 0) |
      (want.routes4 ? INFO_ROUTES4 : 0) |
      (want.routes6 ? INFO_ROUTES6 : 0);
    const answer = await this.call(REQ_NETINFO, flags, []);
    const result = answer.readInt32LE(0);
    if (result < 0) return { result, dump: NETINFO_STEPS[answer.readInt32LE(4)] ?? 'links' };
    return parseNetInfo(answer.toString('utf8', 8));
  }

  /** A ruleset run as `nft -f -` runs it (the C file's NFT): undefined, or nft's error text. */
  async nft(rules: string): Promise<string | undefined> {
    const answer = await this.call(REQ_NFT, 0, [rules]);
    const result = answer.readInt32LE(0);
    if (result === 0) return undefined;
    return answer.toString('utf8', 4).trim() || (result < 0 ? `errno ${-result}` : 'failed');
  }

  /**
   * The attributes named `names` of each of `paths` (absolute; a last component that is a
   * symlink is not followed), by the path's index (the C file's XATTRS). Resolves with what was
   * found and 0, or the first -errno met other than an absent attribute or a path gone.
   */
  async xattrs(
    paths: readonly string[],
    names: readonly string[],
  ): Promise<{ result: number; found: Map<number, Map<string, Buffer>> }> {
    const count = Buffer.alloc(4);
    count.writeUInt32LE(names.length);
    const answer = await this.call(REQ_XATTRS, 0, [...names, ...paths], count);
    const found = new Map<number, Map<string, Buffer>>();
    for (let at = 4; at < answer.length;) {
      const index = answer.readUInt32LE(at);
      const end = answer.indexOf(0, at + 4);
      const name = answer.toString('utf8', at + 4, end);
      const len = answer.readUInt32LE(end + 1);
      const value = Buffer.from(answer.subarray(end + 5, end + 5 + len));
      at = end + 5 + len;
      let attrs = found.get(index);
      if (!attrs) found.set(index, (attrs = new Map()));
      attrs.set(name, value);
    }
    return { result: answer.readInt32LE(0), found };
  }

  private call(type: number, flags: number, strings: string[], more?: Buffer): Promise<Buffer> {
    this.ensure();
    const id = this.newId();
    const flagBytes = Buffer.alloc(4);
    flagBytes.writeUInt32LE(flags >>> 0);
    const head = more ? Buffer.concat([flagBytes, more]) : flagBytes;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.holdLoop();
      this.send(type, id, Buffer.concat([head, Buffer.from(strings.map((x) => `${x}\0`).join(''))]));
    });
  }

  private newId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return id;
  }

  spawn(cmd: string, args: readonly string[], o: LaunchOptions = {}): LaunchedProcess {
    this.ensure();
    const id = this.newId();
    const p = new LaunchedProcess(this, id, o);
    this.procs.set(id, p);
    this.holdLoop();
    const env = Object.entries(o.env ?? process.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    const flags =
      (o.stdin ? F_STDIN : 0) |
      (o.stdout ? F_STDOUT : 0) |
      (o.stderr ? F_STDERR : 0) |
      (o.fd3 ? F_FD3 : 0) |
      (o.setsid ? F_SETSID : 0) |
      (o.netns ? F_NETNS : 0) |
      (o.nice ? F_NICE : 0);
    const head = Buffer.alloc(16);
    head.writeUInt32LE(flags, 0);
    head.writeUInt32LE(o.timeoutMs ?? 0, 4);
    head.writeUInt32LE(args.length + 1, 8);
    head.writeUInt32LE(env.length, 12);
    const strings = [
      cmd,
      o.cwd ?? '',
      ...(o.netns ? [o.netns] : []),
      ...(o.nice ? [String(o.nice)] : []),
      cmd,
      ...args,
      ...env,
    ]
      .map((s) => `${s}\0`)
      .join('');
    this.send(REQ_SPAWN, id, Buffer.concat([head, Buffer.from(strings)]));
    return p;
  }

  /** Ends the launcher; the programs it started go on. */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  /** @internal */
  send(type: number, id: number, payload: Buffer): void {
    const h = Buffer.alloc(HEADER);
    h.writeUInt32LE(payload.length, 0);
    h.writeUInt8(type, 4);
    h.writeUInt32LE(id, 5);
    this.child?.stdin?.write(Buffer.concat([h, payload]));
  }

  /** @internal: the process is done with; its pipes in the launcher close. */
  forget(id: number): void {
    if (this.procs.delete(id)) this.send(REQ_RELEASE, id, Buffer.alloc(0));
    this.holdLoop();
  }

  /**
   * The launcher's output pipe keeps the event loop alive while a program started through it
   * is followed, as a child process of Node's own would; otherwise the launcher holds nothing.
   */
  private holdLoop(): void {
    const out = this.child?.stdout as unknown as { ref?: () => void; unref?: () => void } | undefined;
    if (this.procs.size > 0 || this.calls.size > 0) out?.ref?.();
    else out?.unref?.();
  }

  private ensure(): void {
    if (this.child) return;
    const child = nodeSpawn(this.path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    this.buf = Buffer.alloc(0);
    child.stdin!.on('error', () => {});
    child.stdout!.on('data', (c: Buffer) => this.receive(c));
    const lost = () => {
      if (this.child === child) this.child = undefined;
      const procs = [...this.procs.values()];
      for (const p of procs) p.onLost();
      this.procs.clear();
      const calls = [...this.calls.values()];
      this.calls.clear();
      for (const c of calls) c.reject(new Error('berth-launcher exited'));
    };
    child.once('error', lost);
    child.once('exit', lost);
    // The launcher itself keeps nothing alive; its output pipe only while it has work (holdLoop).
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
  }

  private receive(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let at = 0;
    while (this.buf.length - at >= HEADER) {
      const len = this.buf.readUInt32LE(at);
      if (this.buf.length - at < HEADER + len) break;
      const type = this.buf.readUInt8(at + 4);
      const id = this.buf.readUInt32LE(at + 5);
      const payload = this.buf.subarray(at + HEADER, at + HEADER + len);
      at += HEADER + len;
      if (type === RES_DONE) {
        const c = this.calls.get(id);
        this.calls.delete(id);
        c?.resolve(Buffer.from(payload));
        this.holdLoop();
        continue;
      }
      const p = this.procs.get(id);
      if (!p) continue;
      if (type === RES_SPAWNED) p.onSpawned(payload.readInt32LE(0));
      else if (type === RES_DATA) p.onData(payload.readUInt8(0), Buffer.from(payload.subarray(1)));
      else if (type === RES_EXIT) p.onExit(payload.readInt32LE(0));
      else if (type === RES_WROTE) p.onWrote();
    }
    this.buf = at === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(at);
  }
}
