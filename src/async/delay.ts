/**
 * A promise that resolves after `ms` milliseconds without keeping the process alive: a daemon
 * that is shutting down does not wait for a grace period nobody needs any more.
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
