/**
 * A mutex per key, for the registry's storage: manifest writes and deletes of one repository,
 * and the requests of one upload session, run one at a time and in order; different keys do
 * not wait for each other. A key's chain is dropped once its last task settles.
 */

/** One promise chain per key: tasks of one key run one at a time, in order. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();
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
}
