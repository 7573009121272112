/**
 * Restart policies, by Docker's rules (moby restartmanager):
 *
 * - when a container exits on its own, `always` and `unless-stopped` restart it, `on-failure`
 *   does when the exit code is not 0 and the retry budget (`MaximumRetryCount`, 0 = none) is
 *   not spent; a container stopped or killed by a user is not restarted;
 * - when the daemon starts, `always` restarts even a container a user had stopped,
 *   `unless-stopped` and `on-failure` only one that was not; a container never started stays;
 * - restarts back off: 100 ms, doubling up to 1 min, back to 100 ms after a run of 10 s or more.
 */
import type { RestartPolicy } from '../../api/types/index.ts';

export const BACKOFF_FIRST_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
/** A run this long resets the back-off. */
export const BACKOFF_RESET_AFTER_MS = 10_000;

export interface ExitFacts {
  exitCode: number;
  manuallyStopped: boolean;
  /** Restarts made by the policy since the container was last started by a user. */
  restartCount: number;
}

/** Does the policy restart a container that has just exited? */
export function restartOnExit(p: RestartPolicy | undefined, f: ExitFacts): boolean {
  if (f.manuallyStopped) return false;
  switch (p?.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = p.MaximumRetryCount ?? 0;
      return f.exitCode !== 0 && (max === 0 || f.restartCount < max);
    }
    default:
      return false;
  }
}

/** Does the policy start this stopped container when the daemon starts? */
export function restartOnDaemonStart(p: RestartPolicy | undefined, f: ExitFacts & { everStarted: boolean }): boolean {
  if (!f.everStarted) return false;
  if (p?.Name === 'always') return true;
  return restartOnExit(p, f);
}

/** The delay before each restart of one container. */
export class Backoff {
  private delayMs = 0;

  /** The next delay, given how long the container ran before this exit. */
  next(ranMs: number): number {
    if (ranMs >= BACKOFF_RESET_AFTER_MS) this.delayMs = 0;
    this.delayMs = this.delayMs === 0 ? BACKOFF_FIRST_MS : Math.min(this.delayMs * 2, BACKOFF_MAX_MS);
    return this.delayMs;
  }
}
