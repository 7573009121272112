/**
 * The runtime suite: one set of tests of the role contracts of roles.ts that every runtime
 * driver runs (containerd's `SnapshotterSuite(t, name, fn)`): the runc/crun driver against runc
 * and against crun (integration/runtime-suite.test.ts, as root), the fake runtime of fake.ts
 * (fake.test.ts) — so that what the services' unit tests learn from the fake holds for the
 * real ones — and later runsc and the micro-VM runtime.
 *
 * A driver is tested through a fixture that makes tasks of a few shapes (`TaskShape`): each
 * fixture turns a shape into a bundle its runtime runs (busybox commands for the real ones, a
 * script for the fake).
 *
 * @example
 *   runtimeSuite('crun', async () => openRuncFixture('/usr/bin/crun'), { skip: !root && 'needs root' });
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { categoryOf } from '../errdefs/index.ts';
import type { LogLine } from './logs.ts';
import type { CreateOptions, Exit, RuntimeDriver } from './roles.ts';

/** The processes the suite needs. */
export type TaskShape =
  /** Prints `lines` on stdout, then exits with `code`. */
  | { kind: 'exits'; code: number; lines?: string[] }
  /** Runs until a signal ends it; SIGTERM does. */
  | { kind: 'runs' }
  /** Runs until SIGKILL: it ignores SIGTERM. */
  | { kind: 'ignoresTerm' }
  /** Its command does not exist: `create` fails. */
  | { kind: 'missing'; command: string };

export interface RuntimeFixture {
  runtime: RuntimeDriver;
  /** Create options for a new task of this shape, under a new ID. */
  task(shape: TaskShape): Promise<CreateOptions>;
  /** The OCI process of an exec of this shape in task `id` (created by `task`). */
  execProcess(id: string, shape: TaskShape): Promise<unknown>;
  /** A directory for an exec session's files. */
  execDir(): Promise<string>;
  /** Removes what the fixture made (tasks left over are force-deleted by the suite first). */
  close(): Promise<void>;
}

/** A new task ID, hex like a container's. */
export function taskId(): string {
  return randomBytes(32).toString('hex');
}

export function runtimeSuite(
  name: string,
  open: () => Promise<RuntimeFixture>,
  o: { skip?: string | false; timeoutMs?: number } = {},
): void {
  describe(`runtime suite: ${name}`, { skip: o.skip ?? false }, () => {
    let fx: RuntimeFixture;
    let rt: RuntimeDriver;
    const made: string[] = [];
    const limit = o.timeoutMs ?? 20_000;

    before(async () => {
      fx = await open();
      rt = fx.runtime;
    });
    after(async () => {
      if (!fx) return;
      for (const id of made) await rt.delete(id, true).catch(() => {});
      await rt.close();
      await fx.close();
    });

    const task = async (shape: TaskShape) => {
      const opts = await fx.task(shape);
      made.push(opts.id);
      return opts;
    };
    const nextExit = (id: string): Promise<Exit> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`no exit of ${id} within ${limit} ms`));
        }, limit);
        const off = rt.onExit((e) => {
          if (e.id !== id) return;
          clearTimeout(timer);
          off();
          resolve(e);
        });
      });
    // `start` lets the process go; it runs its command a moment later, and a signal sent in
    // between reaches the runtime's init instead (see TaskLifecycle.start).
    const started = async (id: string) => {
      await rt.start(id);
      await new Promise((r) => setTimeout(r, 200));
    };
    const lines = async (it: AsyncIterable<LogLine>) => {
      const out: string[] = [];
      for await (const l of it) out.push(`${l.stream}:${l.line.toString()}`);
      return out;
    };

    test('a task is created waiting, runs when started, and its exit is reported once, with its code and output', async () => {
      const c = await task({ kind: 'exits', code: 3, lines: ['out'] });
      const seen: Exit[] = [];
      const off = rt.onExit((e) => e.id === c.id && seen.push(e));
      const exit = nextExit(c.id);
      const { pid } = await rt.create(c);
      assert.ok(pid > 0);
      assert.equal(await rt.exists(c.id), true);
      assert.equal(await rt.isAlive(c.id), true, 'created is alive');
      await rt.start(c.id);
      const e = await exit;
      assert.equal(e.exitCode, 3);
      assert.ok(Math.abs(e.exitedAt.getTime() - Date.now()) < 60_000);
      assert.equal(await rt.isAlive(c.id), false);
      assert.equal((await rt.readExit(c.id))?.exitCode, 3);
      assert.deepEqual(await lines(rt.readLogs(c.logPath, { follow: false })), ['stdout:out\n']);
      await new Promise((r) => setTimeout(r, 100));
      off();
      assert.equal(seen.length, 1, 'one report of one exit');
      await rt.delete(c.id);
      assert.equal(await rt.exists(c.id), false);
      await rt.delete(c.id);
    });

    test('SIGTERM ends a running task with 143; a signal to a task that has ended is NotFound', async () => {
      const c = await task({ kind: 'runs' });
      const exit = nextExit(c.id);
      await rt.create(c);
      await started(c.id);
      await rt.kill(c.id, 'SIGTERM');
      assert.equal((await exit).exitCode, 143);
      await assert.rejects(rt.kill(c.id, 'SIGTERM'), (err: Error) => categoryOf(err) === 'NotFound');
      await rt.delete(c.id);
    });

    test('a task that ignores SIGTERM lives on; SIGKILL ends it with 137', async () => {
      const c = await task({ kind: 'ignoresTerm' });
      const exit = nextExit(c.id);
      await rt.create(c);
      await started(c.id);
      await rt.kill(c.id, 'TERM');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await rt.isAlive(c.id), true);
      await rt.kill(c.id, 'SIGKILL', true);
      assert.equal((await exit).exitCode, 137);
      await rt.delete(c.id);
    });

    test('deleting a live task is a Conflict without force; with force it is gone', async () => {
      const c = await task({ kind: 'runs' });
      await rt.create(c);
      await rt.start(c.id);
      await assert.rejects(rt.delete(c.id), (err: Error) => categoryOf(err) === 'Conflict');
      await rt.delete(c.id, true);
      assert.equal(await rt.exists(c.id), false);
      assert.equal(await rt.isAlive(c.id), false);
    });

    test('a created task that is never started goes with a forced delete', async () => {
      const c = await task({ kind: 'runs' });
      await rt.create(c);
      await rt.delete(c.id, true);
      assert.equal(await rt.exists(c.id), false);
    });

    test('a paused task stays alive; a signal sent while it is paused ends it once it resumes', async () => {
      const c = await task({ kind: 'runs' });
      const exit = nextExit(c.id);
      await rt.create(c);
      await started(c.id);
      await rt.pause(c.id);
      assert.equal(await rt.isAlive(c.id), true);
      await rt.resume(c.id);
      await rt.pause(c.id);
      await rt.kill(c.id, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await rt.isAlive(c.id), true, 'frozen, it has not handled the signal');
      await rt.resume(c.id);
      assert.equal((await exit).exitCode, 143);
      await rt.delete(c.id);
    });

    test('SIGKILL ends a paused task once it resumes, or at once (runc thaws it itself)', async () => {
      const c = await task({ kind: 'ignoresTerm' });
      const exit = nextExit(c.id);
      await rt.create(c);
      await started(c.id);
      await rt.pause(c.id);
      await rt.kill(c.id, 'SIGKILL');
      await rt.resume(c.id).catch(() => {});
      assert.equal((await exit).exitCode, 137);
      await rt.delete(c.id);
    });

    test('ps lists the task init; stats reads its cgroups while it runs', async () => {
      const c = await task({ kind: 'runs' });
      const { pid } = await rt.create(c);
      await rt.start(c.id);
      assert.ok((await rt.ps(c.id)).includes(pid));
      const st = await rt.stats(c.id);
      assert.ok((st.pids_stats.current ?? 0) >= 1, JSON.stringify(st.pids_stats));
      await rt.delete(c.id, true);
    });

    test("a command that does not exist fails the create with the runtime's reason, and leaves no task", async () => {
      const c = await task({ kind: 'missing', command: 'berth-no-such-command' });
      await assert.rejects(rt.create(c), /berth-no-such-command/);
      await rt.delete(c.id, true).catch(() => {});
      assert.equal(await rt.exists(c.id), false);
    });

    test('an exec runs in a running task with its own exit code; a missing command fails its start', async () => {
      const c = await task({ kind: 'runs' });
      await rt.create(c);
      await rt.start(c.id);
      const dir = await fx.execDir();
      const sessionId = randomBytes(16).toString('hex');
      const { pid, exit } = await rt.exec({
        id: c.id,
        sessionId,
        dir,
        process: await fx.execProcess(c.id, { kind: 'exits', code: 5 }),
        logPath: `${dir}/exec.log`,
        terminal: false,
        stdin: false,
      });
      assert.ok(pid > 0);
      assert.equal(await exit, 5);
      const failDir = await fx.execDir();
      await assert.rejects(
        rt.exec({
          id: c.id,
          sessionId: randomBytes(16).toString('hex'),
          dir: failDir,
          process: await fx.execProcess(c.id, { kind: 'missing', command: 'berth-no-such-command' }),
          logPath: `${failDir}/exec.log`,
          terminal: false,
          stdin: false,
        }),
        /berth-no-such-command/,
      );
      assert.equal(await rt.isAlive(c.id), true, 'a failed exec leaves the task running');
      await rt.delete(c.id, true);
    });

    test('what the runtime never saw: not there, not alive, no exit, and a listener that left hears nothing', async () => {
      const id = taskId();
      assert.equal(await rt.exists(id), false);
      assert.equal(await rt.isAlive(id), false);
      assert.equal(await rt.readExit(id), undefined);
      await rt.delete(id);
      let heard = 0;
      const off = rt.onExit(() => heard++);
      off();
      const c = await task({ kind: 'exits', code: 0 });
      const exit = nextExit(c.id);
      await rt.create(c);
      await rt.start(c.id);
      await exit;
      assert.equal(heard, 0);
      await rt.delete(c.id);
    });
  });
}
