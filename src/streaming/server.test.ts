/**
 * The streaming server end to end on loopback, with two independent clients' framing: SPDY as
 * crictl 1.26 sent it (recorded bytes, testing.ts) and WebSocket through Node's own WebSocket
 * client (undici), behind the fake runtime's commands.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { StreamingServer } from './server.ts';
import { CRICTL_SPDY, fakeStreamingRuntime, readSpdyFrames, spdyUpgradeRequest } from './testing.ts';

const quiet = { debug() {}, warn() {} };
const fake = fakeStreamingRuntime();
let echo: Server;
let echoPort: number;
let s: StreamingServer;
/** The pod's port, whatever port the client named: the recorded port forward says 18081. */
const runtime = {
  ...fake,
  portForward: (sandbox: string, _port: number, stream: Duplex, signal: AbortSignal) =>
    fake.portForward(sandbox, echoPort, stream, signal),
};

before(async () => {
  echo = createServer((c) => c.pipe(c));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
  s = new StreamingServer({ runtime, log: quiet });
  await s.listen();
});

after(async () => {
  await s.close();
  echo.close();
});

/**
 * Sends raw bytes to a URL's host; resolves with everything it answers, at its close. `last`,
 * if given, goes only once what came back satisfies `when`.
 */
function raw(url: string, parts: Buffer[], last?: { bytes: Buffer; when: (got: Buffer) => boolean }): Promise<Buffer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const c = connect(Number(u.port), u.hostname);
    const got: Buffer[] = [];
    let sent = false;
    c.on('data', (d) => {
      got.push(d);
      if (last && !sent && last.when(Buffer.concat(got))) {
        sent = true;
        c.write(last.bytes);
      }
    });
    c.on('error', reject);
    c.on('close', () => resolve(Buffer.concat(got)));
    c.once('connect', () => {
      for (const p of parts) c.write(p);
    });
  });
}

function splitHead(b: Buffer): { head: string; body: Buffer } {
  const i = b.indexOf('\r\n\r\n');
  return { head: b.subarray(0, i).toString(), body: b.subarray(i + 4) };
}

const pathOf = (url: string) => new URL(url).pathname;

test("crictl's SPDY exec in a terminal: v4 agreed, every stream answered, the size it sent printed, Success", async () => {
  const url = s.exec({ containerId: 'c1', cmd: ['size'], stdin: true, stdout: true, stderr: false, tty: true });
  const protocols = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
  const out = await raw(url, [Buffer.from(spdyUpgradeRequest(pathOf(url), protocols)), CRICTL_SPDY.EXEC_TTY]);
  const { head, body } = splitHead(out);
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(head, /\r\nUpgrade: SPDY\/3\.1/);
  assert.match(head, /\r\nX-Stream-Protocol-Version: v4\.channel\.k8s\.io/);
  const frames = await readSpdyFrames(body);
  const replies = frames.filter((f) => f.type === 'syn_reply').map((f) => 'streamId' in f && f.streamId);
  assert.deepEqual(replies, [1, 3, 5, 7]);
  const on = (id: number) => frames.filter((f) => f.type === 'data' && f.streamId === id);
  assert.equal(Buffer.concat(on(5).map((f) => (f.type === 'data' ? f.data : Buffer.alloc(0)))).toString(), '100x30\n');
  const last = on(5).at(-1);
  assert.equal(last?.type === 'data' && last.fin, true);
  const status = on(1)
    .map((f) => (f.type === 'data' ? f.data.toString() : ''))
    .join('');
  assert.deepEqual(JSON.parse(status), { metadata: {}, status: 'Success' });
  assert.equal(frames.at(-1)?.type, 'goaway');
});

test("crictl's SPDY exec of a command that exits 3: the v4 status carries ExitCode 3; stdout and stderr end first", async () => {
  const url = s.exec({ containerId: 'c1', cmd: ['exit', '3'], stdin: false, stdout: true, stderr: true, tty: false });
  const out = await raw(url, [
    Buffer.from(spdyUpgradeRequest(pathOf(url), ['v4.channel.k8s.io'])),
    CRICTL_SPDY.EXEC_EXIT,
  ]);
  const frames = await readSpdyFrames(splitHead(out).body);
  const data = frames.filter((f) => f.type === 'data');
  // stdout (3) and stderr (5) end, then the error stream (1) says how the command ended.
  assert.deepEqual(
    data.map((f) => f.type === 'data' && [f.streamId, f.fin]),
    [
      [3, true],
      [5, true],
      [1, false],
      [1, true],
    ],
  );
  const status = JSON.parse(data[2]!.type === 'data' ? data[2]!.data.toString() : '');
  assert.equal(status.reason, 'NonZeroExitCode');
  assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
});

test('crictl\'s SPDY port forward: its error and data streams are paired, and its "ping" comes back from the pod', async () => {
  const url = s.portForward({ podSandboxId: 'p1', ports: [18081] });
  const all = CRICTL_SPDY.PORT_FORWARD;
  const goaway = all.subarray(all.length - 16);
  // The client's GOAWAY goes once the pod's answer is back, as crictl sent it.
  const out = await raw(
    url,
    [Buffer.from(spdyUpgradeRequest(pathOf(url), ['portforward.k8s.io'])), all.subarray(0, all.length - 16)],
    { bytes: goaway, when: (got) => got.includes('ping') },
  );
  const { head, body } = splitHead(out);
  assert.match(head, /\r\nX-Stream-Protocol-Version: portforward\.k8s\.io/);
  const frames = await readSpdyFrames(body);
  const data = frames.filter((f) => f.type === 'data');
  assert.deepEqual(
    data.map((f) => f.type === 'data' && [f.streamId, f.data.toString(), f.fin]),
    [
      [3, 'ping', false],
      [3, '', true],
      [1, '', true],
    ],
  );
  assert.ok(fake.calls.includes(`portforward p1 ${echoPort}`));
});

test('a client with no common protocol is refused with 403 and the versions the server accepts', async () => {
  const url = s.exec({ containerId: 'c1', cmd: ['cat'], stdin: true, stdout: true, stderr: false, tty: false });
  const out = await raw(url, [Buffer.from(spdyUpgradeRequest(pathOf(url), ['v9.channel.k8s.io']))]);
  const { head, body } = splitHead(out);
  assert.match(head, /^HTTP\/1\.1 403 Forbidden/);
  assert.match(head, /X-Accepted-Stream-Protocol-Versions: v4\.channel\.k8s\.io, v3/);
  assert.match(body.toString(), /unable to negotiate protocol/);
});

test('a token is used once: the second upgrade with it, or a made-up one, is 404; a plain request is 400', async () => {
  const url = s.exec({ containerId: 'c1', cmd: ['exit', '0'], stdin: false, stdout: true, stderr: false, tty: false });
  const up = Buffer.from(spdyUpgradeRequest(pathOf(url), ['v4.channel.k8s.io']));
  await raw(url, [up, CRICTL_SPDY.EXEC_EXIT]);
  assert.match(splitHead(await raw(url, [up])).head, /^HTTP\/1\.1 404 Not Found/);
  const attach = s.attach({ containerId: 'c1', stdin: false, stdout: true, stderr: false, tty: false });
  // A token of another kind does not open this one.
  const wrong = Buffer.from(spdyUpgradeRequest(pathOf(attach).replace('/attach/', '/exec/'), ['v4.channel.k8s.io']));
  assert.match(splitHead(await raw(url, [wrong])).head, /^HTTP\/1\.1 404 Not Found/);
  const plain = await fetch(url, { method: 'POST' });
  assert.equal(plain.status, 400);
  assert.match(await plain.text(), /unable to upgrade: missing upgrade headers/);
});

/** Opens a WebSocket and collects its messages until the server closes it. */
function ws(
  url: string,
  protocols: string[],
  onOpen: (w: WebSocket) => void,
  onMessage?: (w: WebSocket, m: Buffer | string) => void,
): Promise<{ protocol: string; messages: Array<Buffer | string>; code: number }> {
  return new Promise((resolve, reject) => {
    const w = new WebSocket(url.replace(/^http/, 'ws'), protocols);
    w.binaryType = 'arraybuffer';
    const messages: Array<Buffer | string> = [];
    w.onopen = () => onOpen(w);
    w.onmessage = (e) => {
      const m = typeof e.data === 'string' ? e.data : Buffer.from(e.data as ArrayBuffer);
      messages.push(m);
      onMessage?.(w, m);
    };
    w.onerror = (e) => reject(new Error(`websocket error: ${(e as ErrorEvent).message ?? e.type}`));
    w.onclose = (e) => resolve({ protocol: w.protocol, messages, code: e.code });
  });
}

const bytes = (...parts: Array<number | string | Buffer>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p))));

test('WebSocket v5 exec: stdin on channel 0, its end as [255, 0], stdout back on 1, Success on 3, then a clean close', async () => {
  const url = s.exec({ containerId: 'c1', cmd: ['cat'], stdin: true, stdout: true, stderr: false, tty: false });
  const r = await ws(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], (w) => {
    w.send(bytes(0, 'hi over websocket\n'));
    w.send(bytes(255, 0));
  });
  assert.equal(r.protocol, 'v5.channel.k8s.io');
  assert.equal(r.code, 1000);
  assert.deepEqual(r.messages, [
    bytes(1),
    bytes(1, 'hi over websocket\n'),
    bytes(3, JSON.stringify({ metadata: {}, status: 'Success' })),
  ]);
});

test('WebSocket v4 base64 exec: text messages, the channel as a digit and the data in base64', async () => {
  const url = s.exec({ containerId: 'c1', cmd: ['echo', 'a'], stdin: false, stdout: true, stderr: true, tty: false });
  const r = await ws(url, ['v4.base64.channel.k8s.io'], () => {});
  assert.equal(r.protocol, 'v4.base64.channel.k8s.io');
  const b64 = (x: string) => Buffer.from(x).toString('base64');
  assert.deepEqual(r.messages, [
    '1',
    `1${b64('a\n')}`,
    `2${b64('err\n')}`,
    `3${b64('{"metadata":{},"status":"Success"}')}`,
  ]);
});

test('WebSocket exec in a terminal: a size on channel 4 reaches the command', async () => {
  const url = s.exec({ containerId: 'c1', cmd: ['size'], stdin: true, stdout: true, stderr: false, tty: true });
  const r = await ws(url, ['v5.channel.k8s.io'], (w) => w.send(bytes(4, '{"Width":132,"Height":43}')));
  assert.deepEqual(r.messages.slice(1, 2), [bytes(1, '132x43\n')]);
});

test("WebSocket port forward: each channel opens with the port, data goes to the pod's port and back", async () => {
  const url = s.portForward({ podSandboxId: 'p2', ports: [8080] });
  const port = Buffer.alloc(2);
  port.writeUInt16LE(8080);
  const r = await ws(
    url,
    ['v4.channel.k8s.io'],
    () => {},
    (w, m) => {
      if (Buffer.isBuffer(m) && m[0] === 1) w.send(bytes(0, 'ping over websocket'));
      if (Buffer.isBuffer(m) && m[0] === 0 && m.length > 3) w.close();
    },
  );
  assert.deepEqual(r.messages, [bytes(0, port), bytes(1, port), bytes(0, 'ping over websocket')]);
});

test('a WebSocket asking only for protocols the server lacks is refused', async () => {
  const url = s.exec({ containerId: 'c1', cmd: ['cat'], stdin: true, stdout: true, stderr: false, tty: false });
  await assert.rejects(
    ws(url, ['v9.channel.k8s.io'], () => {}),
    /websocket error/,
  );
});
