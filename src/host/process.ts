/**
 * Whether a process exists, by signal 0 (kill(2) checks the pid and the permission, sends
 * nothing). EPERM means it exists but belongs to another user: alive all the same.
 *
 * @example
 *   if (!processExists(owner)) await fs.rm(lockFile); // a stale lock
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
