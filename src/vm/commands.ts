/**
 * berth-vm's operations, one per runc command: create boots the VM and leaves its shim
 * waiting (the container's "process", as conmon sees it); start hands the network over and
 * lets the process run; state, kill, pause, resume, ps, exec and delete act on it. Their
 * errors are runc's, so a caller that reads runc's messages (Berth's driver, conmon) reads
 * these the same way.
 *
 * Lifecycle of a state directory: made by create (removed again if the boot fails), kept
 * through start and the process's end (status `stopped`), removed by delete.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, constants as osConstants } from 'node:os';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { conflict, internal, invalidArgument, notFound, notImplemented } from '../errdefs/index.ts';
import { signalNumber } from '../spec/index.ts';
import type { Host } from '../host/index.ts';
import { cgroupPaths, freeze, makeCgroups, pidsOf, removeCgroups } from './cgroups.ts';
import { parseConfig, parseProcess, type VmProcess } from './config.ts';
import { listProcesses, signalProcess, startProcess } from './control.ts';
import { guestProcessTable } from './ps.ts';
import { detectAccel, findAssets, hostTscKhz } from './assets.ts';
import { execProblem, prepareBinds } from './mounts.ts';
import { handOverNetwork } from './network.ts';
import { FILES, networkRecords, processRecords, shimConf, startRecords, vmSize } from './plan.ts';
import {
  EXEC_FIFO,
  procStart,
  readState,
  stateDir,
  statusOf,
  validId,
  writeState,
  type VmState,
  type VmStatus,
} from './state.ts';
import { encodeRecords } from './wire.ts';

export interface Context {
  host: Host;
  /** The state root (`--root`). */
  root: string;
  env?: NodeJS.ProcessEnv;
}

/** How long a VM may take to boot before create gives up (TCG on a loaded machine is slow). */
const BOOT_TIMEOUT_S = 180;

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/** The first line the shim writes on fd 3: `ok <text>` or `error <why>`. */
function readyLine(child: ChildProcess): Promise<{ ok: boolean; text: string }> {
  const pipe = child.stdio[3] as Readable;
  return new Promise((resolve) => {
    let buf = '';
    const finish = () => {
      const line = buf.split('\n')[0] ?? '';
      const sp = line.indexOf(' ');
      const kind = sp < 0 ? line : line.slice(0, sp);
      if (kind === 'ok') resolve({ ok: true, text: line.slice(sp + 1) });
      else resolve({ ok: false, text: kind === 'error' ? line.slice(sp + 1) : 'the shim exited without a word' });
    };
    pipe.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      if (buf.includes('\n')) {
        pipe.removeAllListeners('end');
        pipe.destroy();
        finish();
      }
    });
    pipe.on('end', finish);
    pipe.on('error', finish);
  });
}

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
}

/** Boots the VM of a bundle; resolves once the guest is ready and the process waits for start. */
export async function create(ctx: Context, o: CreateOptions): Promise<{ state: VmState; shim: ChildProcess }> {
  if (!validId(o.id)) throw invalidArgument(`invalid container id "${o.id}"`);
  const dir = stateDir(ctx.root, o.id);
  if (await exists(dir)) throw conflict(`container with id exists: ${o.id}`);
  const bundle = resolve(o.bundle);
  const text = await fs.readFile(join(bundle, 'config.json'), 'utf8').catch((e: Error) => {
    throw notFound(`bundle ${bundle}: ${e.message}`, e);
  });
  const spec = parseConfig(text);
  const rootfs = resolve(bundle, spec.root.path);
  if (spec.netns === undefined)
    throw invalidArgument(
      "berth-vm: the host's network namespace cannot reach into a VM: give the container one of its own",
    );
  const problem = await execProblem(spec.process, rootfs);
  if (problem) throw invalidArgument(`unable to start container process: ${problem}`);
  const env = ctx.env ?? process.env;
  const [assets, accel, tscKhz] = await Promise.all([findAssets(env), detectAccel(env), hostTscKhz()]);

  await fs.mkdir(ctx.root, { recursive: true, mode: 0o700 });
  await fs.mkdir(dir, { mode: 0o700 });
  const paths = cgroupPaths(spec.cgroupsPath ?? `/berth-vm/${o.id}`);
  let child: ChildProcess | undefined;
  try {
    const binds = await prepareBinds(spec, rootfs);
    const joined = await makeCgroups(paths);
    const size = vmSize(spec, availableParallelism());
    const conf = shimConf({
      id: o.id,
      size,
      facts: { ...assets, accel, hostCpus: availableParallelism(), tscKhz },
      rootfs,
      netns: spec.netns,
      binds,
      cgroups: joined,
      terminal: spec.process.terminal,
      consoleSocket: o.consoleSocket && resolve(o.consoleSocket),
      bootTimeoutS: BOOT_TIMEOUT_S,
    });
    await fs.writeFile(join(dir, FILES.shimConf), encodeRecords(conf), { mode: 0o600 });
    await fs.writeFile(join(dir, FILES.start), encodeRecords(startRecords(spec)), { mode: 0o600 });
    await ctx.host.mknod(join(dir, EXEC_FIFO), 'p', 0, 0, 0o600);
    // The shim keeps our stdin/stdout/stderr (conmon's pipes, or the caller's terminal) as the
    // container's, and says on fd 3 when the guest is ready.
    child = ctx.host.spawn(assets.shim, [dir], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      detached: true,
    });
    const spawned = child;
    const errored = new Promise<{ ok: boolean; text: string }>((r) =>
      spawned.on('error', (e) => r({ ok: false, text: `start the shim: ${e.message}` })),
    );
    const ready = await Promise.race([readyLine(child), errored]);
    if (!ready.ok) throw internal(`boot the container's VM: ${ready.text}`);
    const st = await procStart(child.pid!);
    if (!st) throw internal("the container's VM stopped as soon as it booted");
    const state: VmState = {
      id: o.id,
      pid: child.pid!,
      startTime: st.startTime,
      bundle,
      rootfs,
      created: new Date().toISOString(),
      cgroupPaths: paths,
      netns: spec.netns,
      release: ready.text,
      accel,
      memoryMiB: size.memoryMiB,
      cpus: size.cpus,
    };
    await writeState(dir, state);
    if (o.pidFile) await fs.writeFile(o.pidFile, String(child.pid));
    child.unref();
    return { state, shim: child };
  } catch (e) {
    if (child?.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
      await waitGone(child.pid, 5000);
    }
    await removeCgroups(paths).catch(() => {});
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const st = await procStart(pid);
    if (!st || st.state === 'Z' || st.state === 'X') return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for the shim of a VM this process created (`run`) to end; resolves with the container's status. */
export function waitExit(shim: ChildProcess): Promise<number> {
  shim.ref();
  if (shim.exitCode !== null) return Promise.resolve(shim.exitCode);
  return new Promise((r) => shim.on('exit', (code, sig) => r(code ?? 128 + (sig ? osConstants.signals[sig] : 0))));
}

/** The state and status of `id`. */
export async function state(ctx: Context, id: string): Promise<VmState & { status: VmStatus }> {
  const s = await readState(ctx.root, id);
  return { ...s, status: await statusOf(stateDir(ctx.root, id), s) };
}

/** Hands the network over and runs the process. */
export async function start(ctx: Context, id: string): Promise<void> {
  const s = await state(ctx, id);
  if (s.status === 'stopped') throw conflict(`cannot start a container that has stopped`);
  if (s.status !== 'created') throw conflict(`cannot start an already running container`);
  const dir = stateDir(ctx.root, id);
  const net = s.netns === 'new' ? await handOverNetwork(ctx.host, `/proc/${s.pid}/ns/net`) : undefined;
  const payload = Buffer.concat([
    await fs.readFile(join(dir, FILES.start)),
    encodeRecords(net ? networkRecords(net) : []),
  ]);
  await startProcess(dir, payload);
  await fs.rm(join(dir, EXEC_FIFO), { force: true });
}

/** A signal by name (`TERM`, `SIGTERM`) or number, from spec's one table; others refused as runc does. */
function signalOf(sig: string): number {
  const n = signalNumber(sig);
  if (n === undefined) throw invalidArgument(`unknown signal "${sig}"`);
  return n;
}

/** Signals that would stop the shim itself rather than reach the guest: they go through the control socket. */
const STOPPING = new Set(['SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'].map((n) => osConstants.signals[n as 'SIGSTOP']));

export async function kill(ctx: Context, id: string, signal: string, all: boolean): Promise<void> {
  const s = await state(ctx, id);
  if (s.status === 'stopped') throw notFound('container not running');
  const num = signalOf(signal);
  const dir = stateDir(ctx.root, id);
  // SIGKILL ends the shim and the VM with it; the shim forwards every other signal it gets to
  // the container's process, except those that would stop the shim itself.
  if (num === osConstants.signals.SIGKILL || (!all && !STOPPING.has(num)) || s.status === 'created') {
    try {
      process.kill(s.pid, num);
    } catch (e) {
      throw notFound('container not running', e);
    }
    return;
  }
  await signalProcess(dir, num, all);
}

export async function pause(ctx: Context, id: string): Promise<void> {
  const s = await state(ctx, id);
  if (s.status !== 'running') throw conflict(`container not running`);
  await freeze(s.cgroupPaths, true);
}

export async function resume(ctx: Context, id: string): Promise<void> {
  const s = await state(ctx, id);
  if (s.status !== 'paused') throw conflict(`container not paused`);
  await freeze(s.cgroupPaths, false);
}

export async function ps(ctx: Context, id: string): Promise<number[]> {
  const s = await state(ctx, id);
  if (s.status === 'stopped') return [];
  return pidsOf(s.cgroupPaths);
}

/**
 * The guest's processes in `ps -ef`'s columns (`ps --format table`): what runs in the VM, not
 * the shim, qemu and virtiofsd that stand for it on the host.
 */
export async function psTable(ctx: Context, id: string, now = new Date()): Promise<string> {
  const s = await state(ctx, id);
  const text = s.status === 'stopped' ? '0 100\n' : await listProcesses(stateDir(ctx.root, id));
  return guestProcessTable(text, now);
}

/** Removes the state (`force`: kills a live VM first). */
export async function remove(ctx: Context, id: string, force: boolean): Promise<void> {
  const s = await state(ctx, id);
  if (s.status !== 'stopped') {
    if (!force) throw conflict(`cannot delete container ${id} that is not stopped: ${s.status}`);
    if (s.status === 'paused') await freeze(s.cgroupPaths, false).catch(() => {});
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
    await waitGone(s.pid, 10_000);
  }
  // qemu and virtiofsd die with the shim; their cgroup empties as they do.
  await removeCgroups(s.cgroupPaths);
  await fs.rm(stateDir(ctx.root, id), { recursive: true, force: true });
}

export async function update(): Promise<never> {
  throw notImplemented(
    "berth-vm cannot change a running VM's size: its memory and CPUs are fixed at create; recreate the container with the new limits",
  );
}

export interface ExecOptions {
  id: string;
  process: VmProcess;
  tty: boolean;
  consoleSocket?: string;
  pidFile?: string;
  detach: boolean;
}

/**
 * Runs another process in the VM through an exec relay (the shim's `--exec` mode): the
 * relay is that process on the host — its stdio, its signals, its exit status — as the shim is
 * the container's. Detached, resolves once it runs (writing its pid); attached, with its status.
 */
export async function exec(ctx: Context, o: ExecOptions): Promise<number> {
  const s = await state(ctx, o.id);
  if (s.status !== 'running') throw conflict(`cannot exec in a ${s.status} container`);
  if (o.tty && !o.consoleSocket) throw invalidArgument('exec --tty needs --console-socket');
  const dir = stateDir(ctx.root, o.id);
  const assets = await findAssets(ctx.env ?? process.env);
  const file = join(dir, `exec-${randomBytes(6).toString('hex')}.records`);
  await fs.writeFile(file, encodeRecords(processRecords(o.process)), { mode: 0o600 });
  try {
    const args = ['--exec', dir, file, ...(o.tty ? ['--tty', '--console-socket', resolve(o.consoleSocket!)] : [])];
    const child = ctx.host.spawn(assets.shim, args, {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      detached: o.detach,
    });
    const exited = new Promise<number>((r) =>
      child.on('exit', (code, sig) => r(code ?? 128 + (sig ? osConstants.signals[sig] : 0))),
    );
    const ready = await readyLine(child);
    if (!ready.ok) {
      await exited;
      throw internal(`exec failed: unable to start container process: ${ready.text}`);
    }
    if (o.pidFile) await fs.writeFile(o.pidFile, String(child.pid));
    if (o.detach) {
      child.unref();
      return 0;
    }
    return await exited;
  } finally {
    await fs.rm(file, { force: true });
  }
}

/** `exec` without --process: a process from the command line and the container's own spec. */
export async function processFrom(
  ctx: Context,
  id: string,
  file: string | undefined,
  args: string[],
  o: { tty: boolean; cwd?: string; env: string[]; user?: string },
): Promise<VmProcess> {
  if (file) return parseProcess(JSON.parse(await fs.readFile(file, 'utf8')) as unknown, 'process');
  if (!args.length) throw invalidArgument('exec: no command');
  const s = await readState(ctx.root, id);
  const spec = parseConfig(await fs.readFile(join(s.bundle, 'config.json'), 'utf8'));
  const [uid, gid] = (o.user ?? '').split(':');
  return parseProcess({
    args,
    env: [...spec.process.env, ...o.env],
    cwd: o.cwd ?? spec.process.cwd,
    terminal: o.tty,
    user: { uid: uid ? Number(uid) : spec.process.uid, gid: gid ? Number(gid) : spec.process.gid },
  });
}
