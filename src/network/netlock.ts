/**
 * A lock shared by every berthd in one network namespace, held around choosing a subnet and
 * putting it on a bridge: two daemons (the e2e suite's files run side by side, each with
 * daemons of its own; a user's rootful daemon and a second one) otherwise both read the host's
 * routes, both find the same subnet free and both add it — two user networks on one /16, the
 * second daemon's embedded DNS unable to bind the gateway (EADDRINUSE).
 *
 * The lock is a listening socket in the abstract unix namespace (`\0berth/...`). Binding the
 * name is the atomic test-and-set, and the kernel lets go of the name when the socket closes,
 * however its process ends: a berthd killed with SIGKILL while holding it wedges nobody, and
 * there is no file to go stale, no pid that may be reused, no directory that must exist and be
 * writable. The abstract namespace belongs to the network namespace, which is exactly the scope
 * of the routes and addresses it guards: daemons in different namespaces (rootlesskit's) never
 * wait for each other. Node has no flock(2): the file lock would cost a flock(1) process per
 * create; checking again after adding the address instead lets both daemons see the conflict
 * and back off, and then the record, the IPAM pool and the DNS socket must all move.
 *
 * A waiter connects to the holder and waits for that connection to close (the holder closes it
 * at release, the kernel at the holder's death), then binds again: no polling. Any local user
 * may bind an abstract name, so the wait is bounded: past `timeoutMs` the caller goes on
 * without the lock, with a warning — as Berth did before it had one.
 *
 * Lifecycle: `run(fn)` holds the lock while `fn` runs and releases it however `fn` ends.
 * Holders in one process queue in memory first (one queue per name), so a process never binds
 * against itself.
 *
 *     const lock = new NetnsLock(SUBNET_LOCK, { warn: log.warn });
 *     const n = await lock.run(async () => addBridge(pickFree(await routes())));
 */
import { connect, createServer, type Socket } from 'node:net';

/** The lock of every berthd's subnet choices: the default bridge's and the user networks'. */
export const SUBNET_LOCK = 'berth/network-subnets';

export interface NetnsLockOptions {
  /** How long to wait for another process's holder before going on without the lock (default 20 s). */
  timeoutMs?: number;
  warn?: (m: string) => void;
}

/** Each name's queue in this process: the last holder's turn, which the next one waits for. */
const queues = new Map<string, Promise<void>>();

export class NetnsLock {
  readonly name: string;
  private readonly o: NetnsLockOptions;

  constructor(name: string, o: NetnsLockOptions = {}) {
    this.name = name;
    this.o = o;
  }

  /** Runs `fn` holding the lock; releases it however `fn` ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const before = queues.get(this.name);
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    queues.set(this.name, mine);
    await before;
    let release: (() => void) | undefined;
    try {
      release = await this.take();
      return await fn();
    } finally {
      release?.();
      if (queues.get(this.name) === mine) queues.delete(this.name);
      done();
    }
  }

  private async take(): Promise<() => void> {
    const path = `\0${this.name}`;
    const limit = this.o.timeoutMs ?? 20_000;
    const deadline = Date.now() + limit;
    for (;;) {
      const release = await bind(path);
      if (release) return release;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.o.warn?.(`lock "${this.name}": another process held it for ${limit / 1000} s; going on without it`);
        return () => {};
      }
      await holderGone(path, left);
    }
  }
}

/** Binds the name and listens: the lock's release, or undefined when another socket has the name. */
function bind(path: string): Promise<(() => void) | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const waiters = new Set<Socket>();
    server.on('connection', (s) => {
      waiters.add(s);
      s.on('error', () => {});
      s.on('close', () => waiters.delete(s));
    });
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    server.listen({ path }, () =>
      resolve(() => {
        // The name is free once the listening socket is closed; the waiters learn it from theirs.
        server.close();
        for (const s of waiters) s.destroy();
      }),
    );
  });
}

/**
 * Resolves when the connection to the holder closes (its release, or its death), or after
 * `ms`. A connection refused at once (a release in between, or a name bound by something that
 * does not listen) resolves after a short pause, so that a stray socket is not spun on.
 */
function holderGone(path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let connected = false;
    const s = connect({ path });
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(finish, ms);
    s.once('connect', () => (connected = true));
    s.on('error', () => {});
    s.once('close', () => (connected ? finish() : setTimeout(finish, 10)));
  });
}
