/**
 * A signal sent to a PID namespace's init (a container's PID 1) that has no handler for it is
 * discarded by the kernel: not delivered late, gone. A stop that lands between the process's
 * exec and the moment it installs its SIGTERM handler (busybox `top`, a shell about to exec)
 * is therefore lost, and the stop waits its whole timeout before SIGKILL. Fast starts make that
 * window easy to hit: critest stops a container the instant StartContainer returns. So the
 * stop reads the process's status first; when the signal would be dropped, it sends it again
 * once the process has a handler for it, within the same timeout. A process that never catches
 * it still gets SIGKILL at the end, as before.
 */

/**
 * Whether `signo` sent now to the process whose `/proc/<pid>/status` is `status` is discarded:
 * the process is its PID namespace's init (`NSpid`'s last field is 1) and does not catch it.
 * SIGKILL and SIGSTOP are never discarded (the kernel sends those from an ancestor namespace).
 */
export function initDropsSignal(status: string, signo: number): boolean {
  if (signo === 9 || signo === 19) return false;
  const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
  if (!nspid || nspid.at(-1) !== '1' || nspid.length < 2) return false;
  return !catches(status, signo);
}

/** Whether the process catches `signo` (its bit in the `SigCgt` mask). */
export function catches(status: string, signo: number): boolean {
  const mask = /^SigCgt:\s*([0-9a-f]+)$/im.exec(status)?.[1];
  if (!mask) return false;
  return ((BigInt(`0x${mask}`) >> BigInt(signo - 1)) & 1n) === 1n;
}
