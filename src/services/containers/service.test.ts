/**
 * The container service's own logic over the fake runtime: how it orders exits, stops, kills
 * and restarts, and what it keeps of a task created ahead of its start. Real runc and the
 * docker CLI are the e2e tests' business.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestService, until } from './testing.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("an exit during a stop: the stop ends with the exit, no SIGKILL, the exit code is the process's own", async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  s.runtime.program = () => ({ ignore: ['SIGTERM'] });
  const id = await s.create(['stubborn']);
  await s.svc.start(id);
  const stopped = s.svc.stop(id, { timeout: 10 });
  await until('the SIGTERM', () => s.runtime.calls.some((c) => c.op === 'kill'));
  s.runtime.exitNow(id, 3);
  const t0 = Date.now();
  await stopped;
  assert.ok(Date.now() - t0 < 2000, 'the stop did not wait out its timeout');
  const st = s.svc.get(id).State;
  assert.equal(st.Running, false);
  assert.equal(st.Status, 'exited');
  assert.equal(st.ExitCode, 3);
  assert.deepEqual(
    s.runtime.calls.filter((c) => c.op === 'kill').map((c) => (c.args as { signal: string }).signal),
    ['SIGTERM'],
  );
  assert.deepEqual(s.actions(id), ['create', 'start', 'kill', 'die', 'stop']);
});

test('a stop of a process that ignores SIGTERM sends SIGKILL after the timeout and records 137', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  s.runtime.program = () => ({ ignore: ['SIGTERM'] });
  const id = await s.create(['stubborn']);
  await s.svc.start(id);
  await s.svc.stop(id, { timeout: 0 });
  assert.equal(s.svc.get(id).State.ExitCode, 137);
  assert.deepEqual(s.actions(id), ['create', 'start', 'kill', 'kill', 'die', 'stop']);
});

test('restart back-off: each policy restart waits twice as long as the one before', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  s.runtime.program = () => ({ exitAfterMs: 0, exitCode: 1 });
  const id = await s.create(['crash'], { HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } });
  const starts: number[] = [];
  s.events.subscribe((e) => {
    if (e.Actor.ID === id && e.Action === 'start') starts.push(Date.now());
  });
  await s.svc.start(id);
  await until('three restarts', () => s.svc.get(id).RestartCount === 3 && !s.svc.get(id).State.Running, 10_000);
  const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
  assert.equal(gaps.length, 3, `starts: ${starts.length}`);
  // The delays the monitor chose double; each wait was at least its delay. The gaps themselves
  // need not grow: the machine's own delays are in them (528, 320, 458 ms under load).
  const delays = s.debug.flatMap((l) => /^restart \w+ in (\d+) ms/.exec(l)?.[1] ?? []).map(Number);
  assert.deepEqual(delays, [100, 200, 400]);
  assert.ok(gaps[0]! >= 100 && gaps[1]! >= 200 && gaps[2]! >= 400, `gaps ${gaps.join(', ')} ms`);
  const st = s.svc.get(id).State;
  assert.equal(st.Status, 'exited', 'the retry budget is spent: no fourth restart');
  assert.equal(st.ExitCode, 1);
});

test('a stop during a restart back-off calls the restart off: the container stays exited', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  s.runtime.program = () => ({ exitAfterMs: 0, exitCode: 1 });
  const id = await s.create(['crash'], { HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } });
  await s.svc.start(id);
  await until('the first exit', () => s.svc.get(id).State.Restarting);
  await s.svc.stop(id);
  const creates = s.runtime.calls.filter((c) => c.op === 'create').length;
  await sleep(300);
  assert.equal(s.svc.get(id).State.Status, 'exited');
  assert.equal(s.runtime.calls.filter((c) => c.op === 'create').length, creates, 'no start after the stop');
});

test('a start soon after create uses the task created ahead: one runtime create', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  const id = await s.create(['sleep', '100']);
  await until('the task created ahead', () => s.runtime.tasks.has(id));
  await s.svc.start(id);
  assert.equal(s.svc.get(id).State.Running, true);
  assert.deepEqual(
    s.runtime.calls.filter((c) => c.id === id).map((c) => c.op),
    ['create', 'start'],
  );
});

test('a shutdown while a task is being created ahead waits for that create, then takes the task down', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  // The runtime's create held until the shutdown has begun.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let created: Promise<{ pid: number }> | undefined;
  const create = s.runtime.create.bind(s.runtime);
  s.runtime.create = (o) => (created = gate.then(() => create(o)));
  const id = await s.create(['sleep', '100']);
  await until('the task being created ahead', () => created !== undefined);
  const shutdown = s.svc.shutdown();
  release();
  await Promise.all([shutdown, created]);
  assert.equal(s.runtime.tasks.has(id), false, 'no task created ahead outlives the shutdown');
});

test('a start that the runtime refuses records exit 127 and leaves no task behind', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  s.runtime.program = () => ({ createError: 'exec: "nope": executable file not found in $PATH' });
  const id = await s.create(['nope']);
  await assert.rejects(s.svc.start(id), (e: Error) => /executable file not found/.test(e.message));
  const st = s.svc.get(id).State;
  assert.equal(st.Running, false);
  assert.equal(st.ExitCode, 127);
  assert.equal(st.Status, 'created', "dockerd's: a container that never ran stays created");
  assert.equal(st.FinishedAt, '0001-01-01T00:00:00Z');
  assert.match(st.Error, /executable file not found/);
  assert.equal(s.runtime.tasks.has(id), false);
});

test('a task created ahead of its start is taken down when no start comes in time, and a later start makes it anew', async (t) => {
  const s = await openTestService({ precreateTtlMs: 50 });
  t.after(() => s.close());
  const id = await s.create(['sleep', '100']);
  await until('the task created ahead', () => s.runtime.tasks.has(id));
  assert.equal(s.runtime.task(id).status, 'created');
  await until('the task taken down', () => !s.runtime.tasks.has(id), 2000);
  assert.equal(s.svc.get(id).State.Status, 'created', 'the container itself stays created');
  await s.svc.start(id);
  assert.equal(s.runtime.task(id).status, 'running');
  assert.equal(s.runtime.calls.filter((c) => c.op === 'create').length, 2);
});

test('a late exit of a task a forced delete took down does not end the run started after it', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  s.runtime.exitLatencyMs = 30;
  const id = await s.create(['sleep', '100']);
  await until('the task created ahead', () => s.runtime.tasks.has(id));
  // An update takes the task created ahead down (it has the old limits); the start makes another.
  await s.svc.update(id, { Memory: 64 * 1024 * 1024 });
  await s.svc.start(id);
  await sleep(100);
  const st = s.svc.get(id).State;
  assert.equal(st.Running, true, `state ${st.Status} ${st.ExitCode}`);
  assert.equal(s.runtime.task(id).status, 'running');
  assert.deepEqual(s.actions(id), ['create', 'update', 'start']);
});

test('kill then inspect: a SIGKILL returns with the exit recorded, never Running:false with ExitCode 0', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  s.runtime.exitLatencyMs = 30;
  const id = await s.create(['sleep', '100']);
  await s.svc.start(id);
  await s.svc.kill(id, 'SIGKILL');
  const st = s.svc.get(id).State;
  assert.equal(st.Running, false);
  assert.equal(st.Status, 'exited');
  assert.equal(st.ExitCode, 137);
  assert.deepEqual(s.actions(id), ['create', 'start', 'kill', 'die']);
});

test('kill with another signal returns once it is sent: the container runs until it exits', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  s.runtime.exitLatencyMs = 30;
  const id = await s.create(['sleep', '100']);
  await s.svc.start(id);
  await s.svc.kill(id, 'TERM');
  assert.equal(s.svc.get(id).State.Running, true, 'the exit is not reported yet');
  await until('the exit', () => !s.svc.get(id).State.Running);
  assert.equal(s.svc.get(id).State.ExitCode, 143);
});

test('a container runs on the runtime its HostConfig.Runtime names; its exits count only from there', async (t) => {
  const s = await openTestService({ otherRuntimes: ['other'] });
  t.after(() => s.close());
  const other = s.runtimes.of({ HostConfig: { Runtime: 'other' } });
  const id = await s.create(['sleep', '100'], { HostConfig: { Runtime: 'other' } });
  await s.svc.start(id);
  assert.equal(s.svc.get(id).HostConfig.Runtime, 'other');
  assert.equal(other.task(id).status, 'running');
  assert.equal(s.runtime.tasks.has(id), false, 'nothing of it on the default runtime');
  // Another runtime's news of the same ID is not this container's exit.
  s.runtime.tasks.set(id, { ...other.task(id) });
  s.runtime.exitNow(id, 9);
  await sleep(50);
  assert.equal(s.svc.get(id).State.Running, true);
  await s.svc.kill(id, 'SIGKILL');
  assert.equal(s.svc.get(id).State.ExitCode, 137);
  assert.deepEqual(
    other.calls.filter((c) => c.id === id).map((c) => c.op),
    ['create', 'start', 'kill', 'delete'],
  );
});

test('a runtime the daemon does not offer is refused at create; a create without one gets the default', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  await assert.rejects(
    s.create(['true'], { HostConfig: { Runtime: 'nosuch' } }),
    /unknown or invalid runtime name: nosuch/,
  );
  const id = await s.create(['true']);
  assert.equal(s.svc.get(id).HostConfig.Runtime, 'fake');
});

test('a kill of a paused container resumes it after the signal, as dockerd does, so the signal is handled', async (t) => {
  const s = await openTestService();
  t.after(() => s.close());
  const id = await s.create(['sleep', '100']);
  await s.svc.start(id);
  await s.svc.pause(id);
  await s.svc.kill(id, 'TERM');
  await until('the exit', () => !s.svc.get(id).State.Running);
  assert.equal(s.svc.get(id).State.ExitCode, 143);
  assert.equal(s.svc.get(id).State.Paused, false);
  const other = await s.create(['sleep', '100']);
  await s.svc.start(other);
  await s.svc.pause(other);
  await s.svc.kill(other, 'KILL');
  assert.equal(s.svc.get(other).State.ExitCode, 137, 'a SIGKILL returns with the exit recorded, paused or not');
  assert.deepEqual(s.actions(other), ['create', 'start', 'pause', 'kill', 'unpause', 'die']);
});
