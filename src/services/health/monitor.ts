/**
 * Docker's health check rules (moby daemon/health.go):
 *
 * - the probe is the config's `Test`: `["CMD", args…]` runs as is, `["CMD-SHELL", cmd]` through
 *   `/bin/sh -c`, `["NONE"]` (or no test) disables it; it runs as an exec in the container,
 *   first one interval after the start (`StartInterval` during the start period);
 * - exit 0 is healthy; anything else, or running past `Timeout`, is a failure; `Retries`
 *   consecutive failures make the container unhealthy, but failures inside `StartPeriod` do not
 *   count (a success there makes it healthy at once);
 * - defaults: interval 30 s, timeout 30 s, start period 0, retries 3; the last 5 results are
 *   kept with the first 4096 bytes of their output;
 * - every change of status is a `health_status: <status>` event.
 *
 * Podman's `--health-on-failure=restart` (what Kubernetes does on a failed liveness probe) has
 * no field in Docker's API: it comes as the label `io.berth.health-on-failure=restart`, and the
 * container is restarted when it turns unhealthy.
 */
import type { EventBus } from '../../events/index.ts';
import type { ContainerRecord, ContainerService } from '../containers/index.ts';
import type { Health } from '../../api/types/index.ts';
import type { ExecService } from '../exec/index.ts';

const SECOND = 1e9;
const DEFAULTS = { interval: 30 * SECOND, timeout: 30 * SECOND, startPeriod: 0, retries: 3 };
const KEEP_RESULTS = 5;
const MAX_OUTPUT = 4096;

export interface HealthSettings {
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

/** The probe and its timings, or undefined when the container has no health check. */
export function healthSettings(c: ContainerRecord): HealthSettings | undefined {
  const h = c.Config.Healthcheck;
  const test = h?.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  let cmd: string[];
  if (test[0] === 'CMD') cmd = test.slice(1);
  else if (test[0] === 'CMD-SHELL') cmd = ['/bin/sh', '-c', test.slice(1).join(' ')];
  else cmd = test;
  if (cmd.length === 0) return undefined;
  const ms = (ns: number | undefined, dflt: number) => (ns && ns > 0 ? ns : dflt) / 1e6;
  const intervalMs = ms(h!.Interval, DEFAULTS.interval);
  return {
    cmd,
    intervalMs,
    timeoutMs: ms(h!.Timeout, DEFAULTS.timeout),
    startPeriodMs: ms(h!.StartPeriod, DEFAULTS.startPeriod),
    startIntervalMs: h!.StartInterval && h!.StartInterval > 0 ? h!.StartInterval / 1e6 : intervalMs,
    retries: h!.Retries && h!.Retries > 0 ? h!.Retries : DEFAULTS.retries,
  };
}

/** The label that asks for an action when the container turns unhealthy (kube play sets it for liveness probes). */
export const HEALTH_ON_FAILURE_LABEL = 'io.berth.health-on-failure';

/** What to do when `c` turns unhealthy: `restart` it, or nothing (Docker's behaviour). */
export function onUnhealthy(c: Pick<ContainerRecord, 'Config'>): 'restart' | 'none' {
  return c.Config.Labels?.[HEALTH_ON_FAILURE_LABEL] === 'restart' ? 'restart' : 'none';
}

export interface HealthMonitorDeps {
  containers: ContainerService;
  execs: ExecService;
  events: EventBus;
  log: { debug(m: string): void; warn(m: string): void };
}

interface Watch {
  timer?: NodeJS.Timeout;
  startedAt: number;
  stopped: boolean;
}

export class HealthMonitor {
  private readonly d: HealthMonitorDeps;
  private readonly watches = new Map<string, Watch>();

  constructor(deps: HealthMonitorDeps) {
    this.d = deps;
    deps.events.subscribe((e) => {
      if (e.Type !== 'container') return;
      if (e.Action === 'start') this.watch(e.Actor.ID);
      else if (e.Action === 'die' || e.Action === 'destroy') this.unwatch(e.Actor.ID);
    });
  }

  /** Watches the containers already running (restored by a daemon restart). */
  watchRunning(): void {
    for (const c of this.d.containers.list()) if (c.State.Running && !c.State.Restarting) this.watch(c.Id);
  }

  stop(): void {
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }

  private watch(id: string): void {
    const c = this.d.containers.list().find((x) => x.Id === id);
    if (!c) return;
    const s = healthSettings(c);
    if (!s) return;
    this.unwatch(id);
    const w: Watch = { startedAt: Date.parse(c.State.StartedAt) || Date.now(), stopped: false };
    this.watches.set(id, w);
    this.d.containers.setHealth(id, { Status: 'starting', FailingStreak: 0, Log: [] });
    this.schedule(id, w, s);
  }

  private unwatch(id: string): void {
    const w = this.watches.get(id);
    if (!w) return;
    w.stopped = true;
    if (w.timer) clearTimeout(w.timer);
    this.watches.delete(id);
  }

  private schedule(id: string, w: Watch, s: HealthSettings): void {
    const inStartPeriod = Date.now() - w.startedAt < s.startPeriodMs;
    w.timer = setTimeout(() => void this.probe(id, w, s), inStartPeriod ? s.startIntervalMs : s.intervalMs);
    w.timer.unref();
  }

  private async probe(id: string, w: Watch, s: HealthSettings): Promise<void> {
    const start = new Date();
    const result = await this.run(id, s).catch((e: Error) => ({ exitCode: -1, output: e.message }));
    if (w.stopped) return;
    const c = this.d.containers.list().find((x) => x.Id === id);
    if (!c || !c.State.Running) return this.unwatch(id);
    const prev = c.State.Health ?? { Status: 'starting' as const, FailingStreak: 0, Log: [] };
    const entry = {
      Start: start.toISOString(),
      End: new Date().toISOString(),
      ExitCode: result.exitCode,
      Output: result.output,
    };
    const log = [...prev.Log, entry].slice(-KEEP_RESULTS);
    let next: Health;
    if (result.exitCode === 0) next = { Status: 'healthy', FailingStreak: 0, Log: log };
    else if (start.getTime() - w.startedAt < s.startPeriodMs) next = { ...prev, Log: log };
    else {
      const streak = prev.FailingStreak + 1;
      next = { Status: streak >= s.retries ? 'unhealthy' : prev.Status, FailingStreak: streak, Log: log };
    }
    this.d.containers.setHealth(id, next);
    if (next.Status === 'unhealthy' && prev.Status !== 'unhealthy' && onUnhealthy(c) === 'restart') {
      this.unwatch(id);
      this.d.log.debug(`health: ${id.slice(0, 12)} is unhealthy: restarting it`);
      // Its start event watches it again, from a fresh streak.
      void this.d.containers
        .restart(id)
        .catch((e: Error) => this.d.log.warn(`health: restart of unhealthy ${id.slice(0, 12)}: ${e.message}`));
      return;
    }
    this.schedule(id, w, s);
  }

  /** Runs the probe as an exec; its output is kept, its exit code decides. */
  private async run(id: string, s: HealthSettings): Promise<{ exitCode: number; output: string }> {
    const { Id } = this.d.execs.create(id, { Cmd: s.cmd, AttachStdout: true, AttachStderr: true });
    let e;
    try {
      e = await this.d.execs.start(Id);
    } catch (err) {
      return { exitCode: -1, output: (err as Error).message };
    }
    const ac = new AbortController();
    let output = '';
    const reading = (async () => {
      for await (const entry of this.d.execs.output(e, ac.signal)) {
        if (output.length < MAX_OUTPUT) output += entry.line.toString();
      }
    })().catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), s.timeoutMs)));
    const code = await Promise.race([e.exit!, timedOut]);
    clearTimeout(timer);
    if (code === 'timeout') {
      ac.abort();
      // The probe's process is ours: kill it by the pid its exec reported.
      if (e.Pid > 0) {
        try {
          process.kill(e.Pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      return { exitCode: -1, output: `Health check exceeded timeout (${formatDuration(s.timeoutMs)})` };
    }
    await reading;
    return { exitCode: code, output: output.slice(0, MAX_OUTPUT) };
  }
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
