import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeStreamingRuntime } from '../streaming/testing.ts';
import { CappedBuffer, execSyncHandlers } from './execsync.ts';

const runtime = fakeStreamingRuntime();
const { ExecSync } = execSyncHandlers(runtime, 1024);
const live = new AbortController().signal;

test('ExecSync answers the whole stdout and stderr and the exit code', async () => {
  const r: any = await ExecSync!({ container_id: 'c1', cmd: ['echo', 'probe', 'ok'], timeout: '0' }, live);
  assert.deepEqual(r, { stdout: Buffer.from('probe ok\n'), stderr: Buffer.from('err\n'), exit_code: 0 });
  const failed: any = await ExecSync!({ container_id: 'c1', cmd: ['exit', '7'], timeout: '5' }, live);
  assert.equal(failed.exit_code, 7);
});

test('output past the limit is dropped, not waited on', async () => {
  const r: any = await ExecSync!({ container_id: 'c1', cmd: ['flood', '5000'], timeout: '0' }, live);
  assert.equal(r.stdout.length, 1024);
  const b = new CappedBuffer(4);
  b.write('abc');
  b.write('def');
  await new Promise((r) => b.end(r));
  assert.equal(b.bytes.toString(), 'abcd');
  assert.equal(b.truncated, true);
});

test("a command past its timeout is killed, and the call fails DEADLINE_EXCEEDED in containerd's words", async () => {
  const started = Date.now();
  await assert.rejects(ExecSync!({ container_id: 'slow', cmd: ['sleep', '30'], timeout: '1' }, live), (e: any) => {
    assert.equal(e.category, 'DeadlineExceeded');
    assert.match(e.message, /timeout 1s exceeded: context deadline exceeded/);
    return true;
  });
  assert.ok(Date.now() - started < 5000);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(runtime.killed, ['slow']);
});

test('a caller that leaves kills the command too; a request without a command is refused', async () => {
  const ac = new AbortController();
  const p = ExecSync!({ container_id: 'gone', cmd: ['sleep', '30'], timeout: '0' }, ac.signal);
  setTimeout(() => ac.abort(new Error('the caller went away')), 50);
  await assert.rejects(p, /the caller went away/);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(runtime.killed.includes('gone'));
  await assert.rejects(ExecSync!({ container_id: 'c1', cmd: [], timeout: '0' }, live), /missing required cmd/);
});
