/**
 * `docker wait` (moby's `wait.go`): the exit code once the container is not running, at its
 * next exit, or once it is removed (`docker run --rm`'s condition).
 */
import { invalidArgument } from '../../errdefs/index.ts';
import type { ContainerContext } from './context.ts';
import type { ContainerRecord } from './types.ts';

export type WaitResult = { StatusCode: number; Error: { Message: string } | null };

const CONDITIONS = ['not-running', 'next-exit', 'removed'];

/** A bad condition throws at once, before any waiting. */
export function checkWaitCondition(condition: string): string {
  const cond = condition || 'not-running';
  if (!CONDITIONS.includes(cond)) throw invalidArgument(`invalid condition: "${cond}"`);
  return cond;
}

export async function waitFor(
  ctx: ContainerContext,
  c: ContainerRecord,
  cond: string,
  signal?: AbortSignal,
): Promise<WaitResult> {
  const result = (code: number) => ({ StatusCode: code, Error: c.State.Error ? { Message: c.State.Error } : null });
  if (cond === 'not-running' && !c.State.Running && c.State.Status !== 'paused') return result(c.State.ExitCode);
  if (cond === 'removed') {
    return new Promise((resolve) => {
      // A removal clears the container's error, as moby's SetRemoved does: `docker run --rm`
      // of a command that cannot start reports the start's error once, not again as
      // "Error waiting for container".
      const done = () => resolve({ StatusCode: c.State.ExitCode, Error: null });
      ctx.changes.once(`removed:${c.Id}`, done);
      signal?.addEventListener('abort', () => ctx.changes.off(`removed:${c.Id}`, done));
    });
  }
  const code = await new Promise<number>((resolve) => {
    const off = () => {
      ctx.changes.off(`exit:${c.Id}`, exited);
      ctx.changes.off(`removed:${c.Id}`, removed);
    };
    const exited = (n: number, how?: { startFailed?: boolean }) => {
      // A start that failed before anything ran is no exit to a waiter, as in moby (where it
      // wakes none): `docker run` would print the start's error a second time, as "Error
      // waiting for container". The next real exit, or the removal, answers.
      if (how?.startFailed) return;
      off();
      resolve(n);
    };
    const removed = () => {
      off();
      resolve(c.State.ExitCode);
    };
    ctx.changes.on(`exit:${c.Id}`, exited);
    ctx.changes.once(`removed:${c.Id}`, removed);
    signal?.addEventListener('abort', off);
  });
  return result(code);
}
