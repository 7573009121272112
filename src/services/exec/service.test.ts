/**
 * The exec service's own rules over the fake runtime: which containers take an exec, what a
 * start that fails says and records, and that every error it throws has a category (an
 * untyped one would reach the client as a 500).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { categoryOf, httpStatus } from '../../errdefs/index.ts';
import { openTestService, type TestService } from '../containers/testing.ts';
import { ExecService } from './service.ts';

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<TestService & { execs: ExecService }> {
  const s = await openTestService();
  t.after(() => s.close());
  return { ...s, execs: new ExecService({ containers: s.svc, runtimes: s.runtimes, events: s.events }) };
}

async function running(s: TestService): Promise<string> {
  const id = await s.create(['sleep', '100']);
  await s.svc.start(id);
  return id;
}

test('an exec in a container that is not running, or paused, is a conflict', async (t) => {
  const s = await setup(t);
  const created = await s.create(['sleep', '100']);
  assert.throws(
    () => s.execs.create(created, { Cmd: ['true'] }),
    (e: Error) => httpStatus(e) === 409 && /is not running/.test(e.message),
  );
  const id = await running(s);
  await s.svc.pause(id);
  assert.throws(
    () => s.execs.create(id, { Cmd: ['true'] }),
    (e: Error) => httpStatus(e) === 409 && /is paused, unpause the container before exec/.test(e.message),
  );
  assert.throws(
    () => s.execs.create('nosuch', { Cmd: ['true'] }),
    (e: Error) => httpStatus(e) === 404,
  );
});

test('an exec of a missing command fails its start with a 400 in runc words and records exit code 126', async (t) => {
  const s = await setup(t);
  s.runtime.program = (args) =>
    args[0] === 'nope' ? { startError: 'executable file `nope` not found in $PATH: No such file or directory' } : {};
  const id = await running(s);
  const { Id } = s.execs.create(id, { Cmd: ['nope'] });
  await assert.rejects(s.execs.start(Id), (e: Error) => {
    assert.equal(categoryOf(e), 'InvalidArgument');
    assert.equal(httpStatus(e), 400);
    assert.equal(e.message, 'exec: "nope": executable file not found in $PATH');
    return true;
  });
  const inspect = s.execs.inspect(Id);
  assert.equal(inspect.Running, false);
  assert.equal(inspect.ExitCode, 126);
});

test('a start that fails for another reason is an internal error, still with a category', async (t) => {
  const s = await setup(t);
  s.runtime.program = (args) => (args[0] === 'broken' ? { startError: 'cgroup: no space left on device' } : {});
  const id = await running(s);
  const { Id } = s.execs.create(id, { Cmd: ['broken'] });
  await assert.rejects(s.execs.start(Id), (e: Error) => categoryOf(e) === 'Internal' && e instanceof Error);
});

test('an exec runs once: its output and exit code are kept, a second start is a conflict', async (t) => {
  const s = await setup(t);
  s.runtime.program = (args) => (args[0] === 'hello' ? { output: ['hello'], exitCode: 3, exitAfterMs: 10 } : {});
  const id = await running(s);
  const { Id } = s.execs.create(id, { Cmd: ['hello'], AttachStdout: true });
  const e = await s.execs.start(Id);
  assert.equal(s.execs.inspect(Id).Running, true);
  const lines: string[] = [];
  for await (const l of s.execs.output(e, new AbortController().signal)) lines.push(l.line.toString());
  assert.deepEqual(lines, ['hello\n']);
  assert.equal(await e.exit, 3);
  assert.equal(s.execs.inspect(Id).ExitCode, 3);
  await assert.rejects(
    s.execs.start(Id),
    (err: Error) => httpStatus(err) === 409 && /has already run/.test(err.message),
  );
  assert.deepEqual(
    s.actions(id).filter((a) => a.startsWith('exec_')),
    ['exec_create: hello ', 'exec_start: hello ', 'exec_die'],
  );
});

test('resizing an exec that is not running is a conflict; an unknown exec is not found', async (t) => {
  const s = await setup(t);
  const id = await running(s);
  const { Id } = s.execs.create(id, { Cmd: ['true'], Tty: true });
  await assert.rejects(s.execs.resize(Id, 24, 80), (e: Error) => httpStatus(e) === 409);
  await assert.rejects(s.execs.resize('nosuch', 24, 80), (e: Error) => httpStatus(e) === 404);
  assert.throws(
    () => s.execs.inspect('nosuch'),
    (e: Error) => httpStatus(e) === 404,
  );
});

test('an exec config of the wrong shape is refused before anything runs', async (t) => {
  const s = await setup(t);
  const id = await running(s);
  assert.throws(() => s.execs.create(id, { Cmd: [] }), /No exec command specified/);
  assert.throws(
    () => s.execs.create(id, { Cmd: ['true'], Env: ['=x'] }),
    (e: Error) => httpStatus(e) === 400 && /invalid environment variable/.test(e.message),
  );
  assert.equal(
    s.runtime.calls.some((c) => c.op === 'exec'),
    false,
  );
});
