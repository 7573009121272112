/**
 * A mutex per key (containerd's `kmutex`): tasks under one key run one at a time, in the order
 * they were queued; tasks under different keys do not wait for each other. A task that fails
 * does not stop the ones queued after it. Keys with nothing queued hold no memory.
 *
 * @example
 *   const locks = new KeyedLock();
 *   await locks.run(containerId, async () => {
 *     // nothing else under containerId runs until this settles
 *   });
 */
export class KeyedLock {
  /** The last task queued per key, settled either way: the next one starts after it. */
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once every task queued before it under `key` has settled; settles as it does. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Is a task running or queued under `key`? */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
