/**
 * Exec, Attach, PortForward and ExecSync through the CRI socket: the call answers a URL of the streaming
 * server, which is then used. The runtime behind it is the streaming module's fake (its `cat`,
 * `exit N`... commands), since CRI containers do not exist yet. With CRICTL=<crictl> the real
 * client — crictl 1.26, whose exec, attach and port-forward are client-go's SPDY ones, as
 * kubelet's — is run against it too; without it those tests are skipped.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { StreamingServer } from '../streaming/index.ts';
import { fakeStreamingRuntime } from '../streaming/testing.ts';
import { CriServer } from './server.ts';
import { criDefinitions } from './proto.ts';
import { streamingHandlers } from './streaming.ts';
import { runtimeHandlers } from './runtime.ts';
import { execSyncHandlers } from './execsync.ts';

const CRICTL = process.env.CRICTL;
const quiet = { debug() {}, warn() {}, error() {} };
let dir: string;
let sock: string;
let cri: CriServer;
let streaming: StreamingServer;
let client: grpc.Client;
let echo: Server;
let echoPort: number;
const runtime = fakeStreamingRuntime();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-cri-streaming-'));
  sock = join(dir, 'cri.sock');
  streaming = new StreamingServer({ runtime, log: quiet });
  await streaming.listen();
  cri = new CriServer({
    runtime: {
      ...runtimeHandlers({ version: 'test', config: () => ({}) }),
      ...streamingHandlers(streaming),
      ...execSyncHandlers(runtime),
    },
    images: {},
    log: quiet,
  });
  await cri.listen(sock);
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  client = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': sock,
  });
  echo = createServer((c) => c.pipe(c));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
});

after(async () => {
  client?.close();
  await cri?.close();
  await streaming?.close();
  echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

function call<T = any>(method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

function crictl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(CRICTL!, ['--runtime-endpoint', `unix://${sock}`, '--timeout', '10s', ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    if (input !== undefined) p.stdin.end(input);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('Exec, Attach and PortForward answer URLs of the streaming server, each with its own token', async () => {
  const a = await call('Exec', { container_id: 'c1', cmd: ['cat'], stdin: true, stdout: true });
  const b = await call('Exec', { container_id: 'c1', cmd: ['cat'], stdin: true, stdout: true });
  assert.match(a.url, new RegExp(`^${streaming.url}/exec/[A-Za-z0-9_-]{11}$`));
  assert.notEqual(a.url, b.url);
  assert.match((await call('Attach', { container_id: 'c1', stdout: true })).url, /\/attach\//);
  assert.match((await call('PortForward', { pod_sandbox_id: 'p1', port: [80] })).url, /\/portforward\//);
});

test("a request the streaming server could not serve is INVALID_ARGUMENT, with kubelet's words", async () => {
  await assert.rejects(call('Exec', { container_id: 'c1', cmd: ['sh'], tty: true, stdout: true, stderr: true }), {
    code: grpc.status.INVALID_ARGUMENT,
    details: 'tty and stderr cannot both be true',
  });
  await assert.rejects(call('Exec', { container_id: 'c1', cmd: ['sh'] }), {
    code: grpc.status.INVALID_ARGUMENT,
    details: 'one of stdin, stdout, or stderr must be set',
  });
  await assert.rejects(call('Exec', { container_id: '', cmd: ['sh'], stdout: true }), {
    code: grpc.status.INVALID_ARGUMENT,
  });
  await assert.rejects(call('PortForward', { pod_sandbox_id: 'p1', port: [70000] }), {
    code: grpc.status.INVALID_ARGUMENT,
  });
});

test(
  'crictl exec: stdin reaches the command, stdout and the exit code come back',
  { skip: CRICTL ? false : 'CRICTL is not set (cri-tools cannot be fetched in CI)' },
  async () => {
    const cat = await crictl(['exec', '-i', 'c1', 'cat'], 'hello through spdy\n');
    assert.equal(cat.stdout, 'hello through spdy\n', cat.stderr);
    assert.equal(cat.code, 0);
    const echoed = await crictl(['exec', 'c1', 'echo', 'a', 'b']);
    assert.equal(echoed.stdout, 'a b\n');
    assert.equal(echoed.stderr, 'err\n');
    // crictl 1.26 reports the code client-go decoded from the v4 status, and exits 1 itself.
    const failed = await crictl(['exec', 'c1', 'exit', '3']);
    assert.match(failed.stderr, /command terminated with exit code 3/);
    assert.equal(failed.code, 1);
    const missing = await crictl(['exec', 'c1', 'nosuch']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /executable file not found/);
  },
);

test(
  "crictl attach: the container's output and stdin",
  { skip: CRICTL ? false : 'CRICTL is not set (cri-tools cannot be fetched in CI)' },
  async () => {
    const r = await crictl(['attach', '-i', 'c1'], 'typed\n');
    assert.equal(r.stdout, 'attached\ntyped\n', r.stderr);
    assert.equal(r.code, 0);
  },
);

test(
  "crictl port-forward: a local port reaches the pod's, both ways",
  { skip: CRICTL ? false : 'CRICTL is not set (cri-tools cannot be fetched in CI)' },
  async () => {
    const p = spawn(CRICTL!, ['--runtime-endpoint', `unix://${sock}`, 'port-forward', 'p1', `0:${echoPort}`]);
    try {
      let out = '';
      const local = await new Promise<number>((resolve, reject) => {
        p.stdout.on('data', (c) => {
          out += c;
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        p.once('close', () => reject(new Error(`crictl port-forward ended: ${out}`)));
      });
      for (const msg of ['first connection', 'second connection']) {
        const c = connect(local, '127.0.0.1');
        c.end(msg);
        let got = '';
        for await (const chunk of c) got += chunk;
        assert.equal(got, msg);
      }
      assert.ok(runtime.calls.includes(`portforward p1 ${echoPort}`));
    } finally {
      p.kill('SIGINT');
    }
  },
);

test('ExecSync through the socket: output as bytes, the exit code; a timeout is DEADLINE_EXCEEDED', async () => {
  const r = await call('ExecSync', { container_id: 'c1', cmd: ['echo', 'sync'], timeout: 5 });
  assert.deepEqual(r, { stdout: Buffer.from('sync\n'), stderr: Buffer.from('err\n'), exit_code: 0 });
  await assert.rejects(call('ExecSync', { container_id: 'c1', cmd: ['sleep', '30'], timeout: 1 }), {
    code: grpc.status.DEADLINE_EXCEEDED,
  });
});

test(
  'crictl exec --sync: output and exit code; its --timeout kills the command',
  { skip: CRICTL ? false : 'CRICTL is not set (cri-tools cannot be fetched in CI)' },
  async () => {
    // crictl 1.26 prints the command's stdout, then its stderr, each with a newline of its own.
    const r = await crictl(['exec', '-s', 'c1', 'echo', 'probe']);
    assert.equal(r.stdout, 'probe\n\nerr\n\n', r.stderr);
    assert.equal(r.code, 0);
    const slow = await crictl(['exec', '-s', '--timeout', '1', 'c1', 'sleep', '30']);
    assert.notEqual(slow.code, 0);
    assert.match(slow.stderr, /DeadlineExceeded|deadline exceeded/);
  },
);
