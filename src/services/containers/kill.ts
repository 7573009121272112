/**
 * Signals to a container's process (moby's `stop.go` and `kill.go`): `docker stop` (the stop
 * signal, then SIGKILL after the timeout, until the exit is recorded) and `docker kill` (any
 * signal; SIGKILL waits for the exit). A container waiting for a policy restart has nothing
 * to signal: stop and kill only call the restart off. A paused one is resumed, or it would
 * handle no signal.
 */
import { promises as fs } from 'node:fs';
import { delay } from '../../async/index.ts';
import { is, notModified } from '../../errdefs/index.ts';
import { normaliseSignal, signalNumber } from '../../spec/index.ts';
import type { ContainerContext } from './context.ts';
import type { Monitor } from './monitor.ts';
import { catches, initDropsSignal } from './initsignal.ts';
import { guard } from './state.ts';
import type { ContainerRecord } from './types.ts';

/** How long a SIGKILL waits for the container's exit before it returns anyway. */
const KILL_WAIT_MS = 10_000;

export class Signals {
  private readonly ctx: ContainerContext;
  private readonly monitor: Monitor;

  constructor(ctx: ContainerContext, monitor: Monitor) {
    this.ctx = ctx;
    this.monitor = monitor;
  }

  /** `byDaemon`: the daemon stops it (shutdown), which restart policies do not count as a user stop. */
  async stop(c: ContainerRecord, opts: { timeout?: number; signal?: string; byDaemon?: boolean } = {}): Promise<void> {
    const rt = this.ctx.runtime(c);
    if (c.State.Restarting) {
      await this.ctx.locks.run(c.Id, async () => {
        c.ManuallyStopped = !opts.byDaemon;
        if (this.monitor.cancelRestart(c)) this.ctx.emit(c, 'stop');
      });
      return;
    }
    if (!c.State.Running) throw notModified('container already stopped');
    if (!opts.byDaemon) {
      c.ManuallyStopped = true;
      this.ctx.store.save(c);
    }
    const sig = opts.signal || c.Config.StopSignal || 'SIGTERM';
    const timeout = opts.timeout ?? c.Config.StopTimeout ?? 10;
    const exit = this.ctx.nextExit(c.Id);
    if (c.State.Paused) await rt.resume(c.Id).catch(() => {});
    const pid = c.State.Pid;
    const signo = signalNumber(sig) ?? 15;
    const dropped = pid > 0 && initDropsSignal(await procStatus(pid), signo);
    await rt.kill(c.Id, sig).catch(() => {});
    this.ctx.emit(c, 'kill', { signal: signalAttribute(sig) });
    let exited = false;
    const done = exit.then(() => (exited = true));
    // The signal was discarded (see initsignal.ts): sent again once the process can take it.
    if (dropped && timeout !== 0)
      void (async () => {
        const until = timeout < 0 ? Infinity : Date.now() + timeout * 1000;
        while (!exited && Date.now() < until) {
          await delay(50);
          if (exited || !catches(await procStatus(pid), signo)) continue;
          if (!exited) await rt.kill(c.Id, sig).catch(() => {});
          return;
        }
      })();
    const stopped =
      timeout < 0
        ? await done.then(() => true)
        : await Promise.race([done.then(() => true), delay(timeout * 1000).then(() => false)]);
    exited = true;
    if (!stopped && c.State.Running) {
      await rt.kill(c.Id, 'SIGKILL', true).catch(() => {});
      this.ctx.emit(c, 'kill', { signal: '9' });
      await Promise.race([exit, delay(10_000)]);
    }
    this.ctx.emit(c, 'stop');
  }

  async kill(c: ContainerRecord, signal = 'SIGKILL'): Promise<void> {
    guard.kill(c.Id, c.State);
    const sig = normaliseSignal(signal);
    if (c.State.Restarting) {
      // Nothing runs to signal: as Docker does, the kill only calls the restart off.
      await this.ctx.locks.run(c.Id, async () => {
        c.ManuallyStopped = true;
        this.monitor.cancelRestart(c);
      });
      return;
    }
    if (sig === 'SIGKILL' || sig === 'SIGTERM' || sig === 'SIGINT') {
      c.ManuallyStopped = true;
      this.ctx.store.save(c);
    }
    if (sig !== 'SIGKILL') {
      await this.ctx.runtime(c).kill(c.Id, sig);
      this.ctx.emit(c, 'kill', { signal: signalAttribute(sig) });
      await this.resumeAfterKill(c);
      return;
    }
    // As dockerd: a SIGKILL returns once the container has stopped, so that what the client
    // asks next (inspect, wait, start) sees the exit and its code, not a container still
    // running — or, worse, stopped with exit code 0.
    const exit = this.ctx.nextExit(c.Id);
    try {
      await this.ctx.runtime(c).kill(c.Id, sig);
    } catch (e) {
      // Gone already: its exit is on its way.
      if (!is(e, 'NotFound')) throw e;
    }
    this.ctx.emit(c, 'kill', { signal: '9' });
    await this.resumeAfterKill(c);
    if (c.State.Running && !c.State.Restarting) await Promise.race([exit, delay(KILL_WAIT_MS)]);
  }

  /**
   * As dockerd: a container paused when it was signalled is resumed, and handles the signal
   * then (a frozen process handles none; runc thaws one for SIGKILL itself, crun does not).
   */
  private async resumeAfterKill(c: ContainerRecord): Promise<void> {
    if (!c.State.Paused) return;
    await this.ctx.locks.run(c.Id, async () => {
      if (!c.State.Paused) return;
      try {
        await this.ctx.runtime(c).resume(c.Id);
      } catch {
        return; // it ended meanwhile: its exit says the rest
      }
      this.ctx.setState(c, { ...c.State, Status: 'running', Paused: false });
      this.ctx.emit(c, 'unpause');
    });
  }
}

/** A signal as kill events name it: its number, or as given when it has none in the table. */
function signalAttribute(s: string): string {
  const n = signalNumber(normaliseSignal(s));
  return n === undefined ? s : String(n);
}

/** The process's status from procfs; empty when it is gone (nothing to resend to). */
function procStatus(pid: number): Promise<string> {
  return fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
}
