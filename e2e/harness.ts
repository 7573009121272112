/**
 * What the end-to-end tests share: a private berthd on a temporary data root and socket for a
 * test file (everything it made is removed by `cleanup`), the real `docker` and `berth` CLIs
 * run against it, berth-registry processes, and free loopback ports.
 *
 * A test file that needs one daemon for all its tests, with busybox:latest on it, says so at
 * its top (its flags in view):
 *
 *     let d: Daemon;
 *     before(async () => (d = await startDaemonWithBusybox(['--live-restore'])));
 *     after(() => cleanup(d));
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, createServer } from 'node:net';

export const REPO = resolve(import.meta.dirname, '..');
export const DOCKER = process.env.DOCKER_CLI ?? '/usr/local/bin/docker';

export interface Daemon {
  root: string;
  sock: string;
  host: string;
  proc: ChildProcess;
  log: () => string;
  extraArgs: string[];
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env`: berthd's environment instead of the test's own (a runtime named by BERTH_CRUN, a PATH). */
export async function startDaemon(extraArgs: string[] = [], root?: string, env?: NodeJS.ProcessEnv): Promise<Daemon> {
  const dir = root ?? mkdtempSync(join(tmpdir(), 'berth-e2e-'));
  const sock = join(dir, 'berth.sock');
  const logChunks: Buffer[] = [];
  const proc = spawn(
    join(REPO, 'bin/berthd'),
    [
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'run'),
      '-H',
      `unix://${sock}`,
      '--pidfile',
      join(dir, 'berthd.pid'),
      // Networking is opt-in for tests (`--bridge <name>`): daemons of concurrent tests must not share berth0.
      ...(extraArgs.some((a) => a === '--bridge' || a === '-b' || a.startsWith('--bridge='))
        ? []
        : ['--bridge', 'none']),
      // BERTH_E2E_MONITOR=conmon runs the tests under conmon instead of Berth's own monitor.
      ...(process.env.BERTH_E2E_MONITOR && !extraArgs.some((a) => a.startsWith('--monitor'))
        ? ['--monitor', process.env.BERTH_E2E_MONITOR]
        : []),
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env },
  );
  proc.stdout!.on('data', (c: Buffer) => logChunks.push(c));
  proc.stderr!.on('data', (c: Buffer) => logChunks.push(c));
  const d: Daemon = {
    root: dir,
    sock,
    host: `unix://${sock}`,
    proc,
    log: () => Buffer.concat(logChunks).toString(),
    extraArgs,
  };
  // A daemon that never came up (a test of a refused start) leaves no directory made for it here.
  const giveUp = async (message: string): Promise<never> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    if (!root) rmSync(dir, { recursive: true, force: true });
    throw new Error(message);
  };
  // berthd listens on its addresses one after another, the unix socket first (with its chmod
  // in between): a test's `-H tcp://...` is ready only once it too accepts a connection.
  const tcp = extraArgs
    .filter((a, i) => a.startsWith('tcp://') && ['-H', '--host'].includes(extraArgs[i - 1] ?? ''))
    .map((a) => new URL(a));
  const ready = async () =>
    existsSync(sock) &&
    (await canConnect(sock)) &&
    (
      await Promise.all(tcp.map((u) => canConnect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) })))
    ).every(Boolean);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) return giveUp(`berthd exited with ${proc.exitCode}:\n${d.log()}`);
    if (await ready()) return d;
    await sleep(50);
  }
  return giveUp(`berthd did not come up within 30 s:\n${d.log()}`);
}

function canConnect(to: string | { host: string; port: number }): Promise<boolean> {
  return new Promise((r) => {
    const s = typeof to === 'string' ? connect({ path: to }) : connect(to);
    s.once('connect', () => {
      s.destroy();
      r(true);
    });
    s.once('error', () => r(false));
  });
}

/** Stops the daemon (SIGTERM, or SIGKILL with `kill`), waiting for it to exit. */
export async function stopDaemon(d: Daemon, how: 'term' | 'kill' = 'term'): Promise<void> {
  if (d.proc.exitCode !== null || d.proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => d.proc.once('exit', () => r()));
  d.proc.kill(how === 'kill' ? 'SIGKILL' : 'SIGTERM');
  // An unref'd timer: a pending one would hold the test process for its whole 30 s.
  await Promise.race([exited, new Promise<void>((r) => setTimeout(r, 30_000).unref())]);
  if (d.proc.exitCode === null && d.proc.signalCode === null) {
    d.proc.kill('SIGKILL');
    await exited;
  }
}

/**
 * A daemon (as startDaemon) with busybox:latest made on it, the image most tests run. When the
 * image cannot be made, the daemon is cleaned up before the error goes on.
 */
export async function startDaemonWithBusybox(extraArgs: string[] = [], env?: NodeJS.ProcessEnv): Promise<Daemon> {
  const d = await startDaemon(extraArgs, undefined, env);
  try {
    await bootstrapBusybox(d);
  } catch (e) {
    await cleanup(d);
    throw e;
  }
  return d;
}

/**
 * Removes everything a test daemon left: its containers' monitors and runc state, mounts under
 * its root, and the directory itself. Only processes whose runc root is this daemon's are touched.
 * Nothing to do for a daemon that never started (undefined).
 */
export async function cleanup(d: Daemon | undefined): Promise<void> {
  if (!d) return;
  await stopDaemon(d, 'term');
  // Containers of either runtime (crun keeps its state where runc would, in its own format); the
  // runtimes beside the default have roots of their own (see src/daemon/runtime.ts).
  const runcRoots = [
    join(d.root, 'run', 'runc'),
    ...['runc', 'crun'].map((n) => join(d.root, 'run', 'runtimes', n, 'runc')),
  ];
  for (const runcRoot of runcRoots) {
    for (const runtime of ['runc', 'crun']) {
      if (!existsSync(runcRoot)) break;
      const list = spawnSync(runtime, ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' });
      for (const id of (list.stdout ?? '').split('\n').filter(Boolean)) {
        spawnSync(runtime, ['--root', runcRoot, 'kill', id, 'KILL'], { encoding: 'utf8' });
        spawnSync(runtime, ['--root', runcRoot, 'delete', '-f', id], { encoding: 'utf8' });
      }
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(d.root));
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  // A test bridge and its nftables table, when the daemon could not remove them itself.
  const bi = d.extraArgs.indexOf('--bridge');
  const bridge = bi >= 0 ? d.extraArgs[bi + 1] : undefined;
  if (bridge && bridge !== 'none' && bridge !== 'berth0') {
    spawnSync('ip', ['link', 'del', bridge]);
    spawnSync('nft', ['delete', 'table', 'ip', `berth_${bridge.replace(/[^A-Za-z0-9_]/g, '_')}`]);
    spawnSync('nft', ['delete', 'table', 'ip', `berth_${bridge.replace(/[^A-Za-z0-9_]/g, '_')}_nets`]);
    spawnSync('nft', ['delete', 'table', 'ip6', `berth_${bridge.replace(/[^A-Za-z0-9_]/g, '_')}_nets`]);
  }
  // With --bridge none the user networks' nftables table is named for the data root (see daemon.ts).
  if (!bridge || bridge === 'none')
    for (const family of ['ip', 'ip6'])
      spawnSync('nft', [
        'delete',
        'table',
        family,
        `berth_nets_${createHash('sha256').update(join(d.root, 'data')).digest('hex').slice(0, 8)}`,
      ]);
  // The bridges of user networks the daemon kept (live restore) or could not remove.
  const netsDir = join(d.root, 'data', 'network', 'networks');
  for (const f of existsSync(netsDir) ? readdirSync(netsDir) : []) {
    const m = /^([0-9a-f]{12})[0-9a-f]{52}\.json$/.exec(f);
    if (m) spawnSync('ip', ['link', 'del', `bn-${m[1]}`]);
  }
  rmSync(d.root, { recursive: true, force: true });
}

export function docker(
  d: Daemon,
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(DOCKER, args, { ...opts, env: { ...process.env, DOCKER_HOST: d.host, ...opts.env } });
}

export function berth(
  d: Daemon,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(join(REPO, 'bin/berth'), ['-H', d.host, ...args], opts);
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
    p.stdin.on('error', () => {});
    p.stdin.end(opts.input ?? '');
  });
}

/** Runs docker and fails the test with its stderr when the exit code is not 0. */
export async function dockerOk(d: Daemon, args: string[], opts: { input?: string | Buffer } = {}): Promise<string> {
  const r = await docker(d, args, opts);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** An event as `docker events --format '{{json .}}'` prints it. */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
}

/** The events `d` logged while `fn` ran, through `docker events --since --until`. */
export async function eventsOf(d: Daemon, fn: () => Promise<unknown>): Promise<DockerEvent[]> {
  const since = (Date.now() / 1000).toFixed(3);
  await fn();
  await sleep(200);
  const until = (Date.now() / 1000).toFixed(3);
  const out = await dockerOk(d, ['events', '--since', since, '--until', until, '--format', '{{json .}}']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DockerEvent);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a truthy value or `ms` passes. */
export async function eventually<T>(fn: () => Promise<T> | T, ms = 10_000, step = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T;
  do {
    last = await fn();
    if (last) return last;
    await sleep(step);
  } while (Date.now() < deadline);
  return last;
}

/** A raw Engine API request over the daemon's socket (for what no CLI command sends). */
export function api(
  d: Daemon,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    import('node:http').then(({ request }) => {
      const req = request(
        { socketPath: d.sock, method, path, headers: { 'Content-Type': 'application/json', ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.end(body);
    }, reject);
  });
}

/** Makes busybox:latest on the daemon through Berth's bootstrap endpoint. */
export async function bootstrapBusybox(d: Daemon): Promise<void> {
  const r = await api(d, 'POST', '/berth/v1/images/bootstrap?image=busybox');
  if (r.status !== 200 || /"error"/.test(r.body)) throw new Error(`bootstrap busybox: ${r.status} ${r.body}`);
}

/** Ports this process handed out already: never the same one twice. */
const handedOut = new Set<number>();
/** Where freePort draws from: up to the kernel's ephemeral range. */
const PORTS_FROM = 20_000;

/**
 * A TCP port nothing listens on right now, for a program the test starts next (a daemon's
 * `-H tcp://`, a `docker run -p`, a dashboard): drawn at random from 20000 up to the kernel's
 * ephemeral range (`ip_local_port_range`, 32768-60999 here) and checked by listening on it on
 * all addresses. The kernel's own choice (`listen(0)`) comes from inside that range, and
 * between its close and the program's bind, any outgoing TCP connection on the host may take
 * it as its local port, and another test file's `listen(0)` may be given it again: the
 * program's bind then fails (EADDRINUSE). Below the range only another test's freePort drawing
 * the same one of ~12 000 ports at that moment can collide. A host whose range starts lower
 * gets the kernel's choice, as before.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let tries = 0; low - PORTS_FROM > 1000 && tries < 50; tries++) {
    const port = PORTS_FROM + Math.floor(Math.random() * (low - PORTS_FROM));
    if (handedOut.has(port) || (await listenOn(port)) !== port) continue;
    handedOut.add(port);
    return port;
  }
  return (await listenOn(0))!;
}

/** The first port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/** Listens on `port` (0: the kernel's choice) on all addresses and closes: the port, or undefined when it is taken. */
function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) =>
      port && e.code === 'EADDRINUSE' ? resolvePort(undefined) : reject(e),
    );
    s.listen(port, () => {
      const { port: bound } = s.address() as { port: number };
      s.close(() => resolvePort(bound));
    });
  });
}

export interface RegistryProcess {
  proc: ChildProcess;
  port: number;
  /** `127.0.0.1:PORT`, as image references name it. */
  host: string;
  root: string;
  /** What it wrote to stderr so far (its log). */
  log: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts bin/berth-registry on a loopback port of the kernel's choice over `root`, with `args` added, and
 * resolves once it says it listens. The caller stops it (`proc.kill`).
 */
export async function startRegistry(root: string, args: string[] = []): Promise<RegistryProcess> {
  // Port 0: the registry binds a port of the kernel's choice and says which; a port chosen
  // here first could be taken before the registry binds it.
  const proc = spawn(join(REPO, 'bin/berth-registry'), ['--listen', '127.0.0.1:0', '--root', root, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const chunks: Buffer[] = [];
  proc.stderr!.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => r({ code, signal })),
  );
  const log = () => Buffer.concat(chunks).toString();
  for (let i = 0; i < 400; i++) {
    const port = Number(/listening on https?:\/\/\S+?:(\d+),/.exec(log())?.[1]);
    if (port) return { proc, port, host: `127.0.0.1:${port}`, root, log, exited };
    if (proc.exitCode !== null) break;
    await sleep(25);
  }
  proc.kill('SIGKILL');
  throw new Error(`berth-registry did not start:\n${log()}`);
}
