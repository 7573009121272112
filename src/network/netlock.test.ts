import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { NetnsLock } from './netlock.ts';

/** A name of this test's own: never the one real daemons share. */
const lockName = (what: string) => `berth-test/${process.pid}/${what}`;

/** Another process that takes the lock, says `held` and keeps it until it is killed. */
function holderProcess(name: string): { child: ChildProcess; held: Promise<void> } {
  const code = `
    import { NetnsLock } from ${JSON.stringify(new URL('./netlock.ts', import.meta.url).pathname)};
    await new NetnsLock(${JSON.stringify(name)}).run(async () => {
      console.log('held');
      await new Promise(() => setInterval(() => {}, 1000));
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const held = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('held') && resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before it held the lock`)));
  });
  return { child, held };
}

test('holders in one process take turns, in the order they came, and an error releases the lock', async () => {
  const lock = new NetnsLock(lockName('turns'));
  const seen: string[] = [];
  const hold = (i: number, fail = false) =>
    lock.run(async () => {
      seen.push(`in ${i}`);
      await new Promise((r) => setTimeout(r, 20));
      seen.push(`out ${i}`);
      if (fail) throw new Error(`holder ${i} failed`);
      return i;
    });
  const results = await Promise.allSettled([hold(1), hold(2, true), hold(3)]);
  assert.deepEqual(seen, ['in 1', 'out 1', 'in 2', 'out 2', 'in 3', 'out 3']);
  assert.equal(results[1]!.status, 'rejected');
  assert.deepEqual(
    [results[0], results[2]].map((r) => r!.status === 'fulfilled' && r.value),
    [1, 3],
  );
});

test('a holder in another process is waited for, and its death by SIGKILL frees the lock at once', async () => {
  const name = lockName('kill');
  const { child, held } = holderProcess(name);
  try {
    await held;
    let entered = 0;
    const waiting = new NetnsLock(name).run(async () => void (entered = Date.now()));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(entered, 0, 'the lock is not taken while the other process holds it');
    const killed = Date.now();
    child.kill('SIGKILL');
    await waiting;
    assert.ok(entered >= killed, 'taken after the holder died');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a holder in this process is waited for by another process', async () => {
  const name = lockName('release');
  const lock = new NetnsLock(name);
  let released = 0;
  let other: ReturnType<typeof holderProcess> | undefined;
  try {
    await lock.run(async () => {
      other = holderProcess(name);
      // Not held by the other process while this one holds it (it exits at once if it fails).
      const early = await Promise.race([
        other.held.then(() => 'held'),
        new Promise((r) => setTimeout(r, 300, 'waiting')),
      ]);
      assert.equal(early, 'waiting');
      released = Date.now();
    });
    await other!.held;
    assert.ok(Date.now() >= released);
  } finally {
    other?.child.kill('SIGKILL');
  }
});

test('a name bound by something that never lets go is waited for at most timeoutMs, then the lock is gone without, with a warning', async () => {
  const name = lockName('stray');
  const stray = createServer(() => {});
  await new Promise<void>((r) => stray.listen({ path: `\0${name}` }, r));
  try {
    const warnings: string[] = [];
    const t0 = Date.now();
    const got = await new NetnsLock(name, { timeoutMs: 200, warn: (m) => warnings.push(m) }).run(async () => 'ran');
    assert.equal(got, 'ran');
    assert.ok(Date.now() - t0 >= 200);
    assert.match(warnings.join('\n'), /another process held it for 0\.2 s; going on without it/);
  } finally {
    stray.close();
  }
});
