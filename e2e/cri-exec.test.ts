/**
 * The CRI's Exec and ExecSync against a private berthd, on a container `docker run` started:
 * the CRI speaks of Berth's containers by their IDs, as cri-dockerd does of dockerd's. ExecSync
 * through the gRPC client built from Berth's definitions; Exec's URL through Node's WebSocket
 * client (v5.channel.k8s.io), the way `kubectl exec` reaches a node since Kubernetes 1.30.
 * With CRICTL=<crictl>, crictl's SPDY exec and exec --sync run too (skipped without it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criDefinitions } from '../src/cri/index.ts';
import { cleanup, dockerOk, startDaemonWithBusybox, type Daemon } from './harness.ts';

const CRICTL = process.env.CRICTL;
let d: Daemon;
let sock: string;
let client: grpc.Client;
let id: string;

before(async () => {
  d = await startDaemonWithBusybox();
  sock = join(d.root, 'run', 'cri.sock');
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  client = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': sock,
  });
  id = (await dockerOk(d, ['run', '-d', '--name', 'crix', 'busybox', 'sleep', '1000'])).trim();
});

after(async () => {
  client?.close();
  await cleanup(d);
});

function call<T = any>(method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

test('ExecSync runs in a docker container by its ID: its output and exit code', async () => {
  const r = await call('ExecSync', {
    container_id: id,
    cmd: ['sh', '-c', 'echo out; echo err >&2; exit 4'],
    timeout: 10,
  });
  assert.deepEqual(r, { stdout: Buffer.from('out\n'), stderr: Buffer.from('err\n'), exit_code: 4 });
});

test('ExecSync past its timeout: DEADLINE_EXCEEDED, and the command is killed', async () => {
  await assert.rejects(call('ExecSync', { container_id: id, cmd: ['sleep', '777'], timeout: 1 }), {
    code: grpc.status.DEADLINE_EXCEEDED,
  });
  const ps = await call('ExecSync', { container_id: id, cmd: ['ps', '-o', 'args'], timeout: 10 });
  assert.doesNotMatch(ps.stdout.toString(), /sleep 777/);
});

test('ExecSync of an unknown container is NOT_FOUND; of a stopped one FAILED_PRECONDITION', async () => {
  await assert.rejects(call('ExecSync', { container_id: 'nosuch', cmd: ['true'], timeout: 0 }), {
    code: grpc.status.NOT_FOUND,
  });
  const stopped = (await dockerOk(d, ['create', 'busybox', 'true'])).trim();
  await assert.rejects(call('ExecSync', { container_id: stopped, cmd: ['true'], timeout: 0 }), {
    code: grpc.status.FAILED_PRECONDITION,
  });
});

test("Exec's URL over a v5 WebSocket: stdin in, stdout back, the exit code in the status", async () => {
  const { url } = await call('Exec', { container_id: id, cmd: ['sh', '-c', 'cat; exit 3'], stdin: true, stdout: true });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\//);
  const messages: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const w = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
    w.binaryType = 'arraybuffer';
    w.onopen = () => {
      w.send(Buffer.concat([Buffer.from([0]), Buffer.from('typed into the container\n')]));
      w.send(Buffer.from([255, 0]));
    };
    w.onmessage = (e) => messages.push(Buffer.from(e.data as ArrayBuffer));
    w.onerror = () => reject(new Error('websocket error'));
    w.onclose = () => resolve();
  });
  const on = (ch: number) => Buffer.concat(messages.filter((m) => m[0] === ch).map((m) => m.subarray(1))).toString();
  assert.equal(on(1), 'typed into the container\n');
  const status = JSON.parse(on(3));
  assert.equal(status.reason, 'NonZeroExitCode');
  assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
});

test(
  'Exec in a terminal has no detach keys: ctrl-p ctrl-q reach the process, as with containerd',
  { timeout: 30_000 },
  async () => {
    const { url } = await call('Exec', {
      container_id: id,
      // Raw mode first (else the terminal itself takes ctrl-q, XON), then the bytes as hex.
      cmd: ['sh', '-c', 'stty raw -echo; echo ready; head -c 3 | od -An -tx1'],
      tty: true,
      stdin: true,
      stdout: true,
    });
    const messages: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const w = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
      w.binaryType = 'arraybuffer';
      let sent = false;
      w.onmessage = (e) => {
        messages.push(Buffer.from(e.data as ArrayBuffer));
        if (!sent && Buffer.concat(messages.filter((m) => m[0] === 1).map((m) => m.subarray(1))).includes('ready')) {
          sent = true;
          w.send(Buffer.from([0, 0x10, 0x11, 0x7a]));
        }
      };
      w.onerror = () => reject(new Error('websocket error'));
      w.onclose = () => resolve();
    });
    const out = Buffer.concat(messages.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString();
    assert.match(out, /10 11 7a/);
    assert.equal(
      JSON.parse(Buffer.concat(messages.filter((m) => m[0] === 3).map((m) => m.subarray(1))).toString()).status,
      'Success',
    );
  },
);

function crictl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(CRICTL!, ['--runtime-endpoint', `unix://${sock}`, ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    if (input !== undefined) p.stdin.end(input);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test(
  'crictl exec -i and exec --sync in a docker container',
  { skip: CRICTL ? false : 'CRICTL is not set (cri-tools cannot be fetched in CI)' },
  async () => {
    const r = await crictl(['exec', '-i', id, 'sh', '-c', 'tr a-z A-Z'], 'shout\n');
    assert.equal(r.stdout, 'SHOUT\n', r.stderr);
    assert.equal(r.code, 0);
    const s = await crictl(['exec', '-s', id, 'cat', '/etc/hostname']);
    assert.equal(s.stdout.trim(), id.slice(0, 12), s.stderr);
  },
);
