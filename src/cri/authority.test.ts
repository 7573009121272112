import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as http2Connect, createServer as createH2Server, type IncomingHttpHeaders } from 'node:http2';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hpack from 'hpack.js';
import { AuthorityRewriter, encodeLiterals, fixAuthority, headerFrames } from './authority.ts';

test("an :authority nghttp2 refuses (a socket's path) becomes localhost; valid ones and other fields stay", () => {
  assert.deepEqual(
    fixAuthority([
      { name: ':authority', value: '/run/berth/cri.sock' },
      { name: ':path', value: '/runtime.v1.RuntimeService/Version' },
    ]),
    [
      { name: ':authority', value: 'localhost' },
      { name: ':path', value: '/runtime.v1.RuntimeService/Version' },
    ],
  );
  assert.deepEqual(fixAuthority([{ name: ':authority', value: 'localhost:0' }]), [
    { name: ':authority', value: 'localhost:0' },
  ]);
});

test('re-encoded fields decode to the same fields, and a big block is split into CONTINUATION frames', () => {
  const fields = [
    { name: ':method', value: 'POST' },
    { name: 'x-big', value: 'v'.repeat(40_000) },
  ];
  const block = encodeLiterals(fields);
  const d = hpack.decompressor.create({ table: { maxSize: 4096 } });
  d.write(block);
  d.execute();
  assert.deepEqual(
    [d.read(), d.read()].map((f) => f && { name: f.name, value: f.value }),
    fields,
  );
  const frames = headerFrames(3, 0x1, undefined, block);
  const types: number[] = [];
  for (let i = 0; i < frames.length;) {
    const len = frames.readUIntBE(i, 3);
    assert.ok(len <= 16_384);
    types.push(frames[i + 3]!, frames[i + 4]!);
    i += 9 + len;
  }
  // HEADERS with END_STREAM, two CONTINUATIONs, the last with END_HEADERS.
  assert.deepEqual(types, [0x1, 0x1, 0x9, 0x0, 0x9, 0x4]);
});

test("a real HTTP/2 client's requests reach the server through the rewriter: authority fixed, headers and bodies intact, over many requests", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-authority-'));
  const path = join(dir, 's.sock');
  const seen: IncomingHttpHeaders[] = [];
  const h2 = createH2Server();
  h2.on('stream', (stream, headers) => {
    seen.push(headers);
    const body: Buffer[] = [];
    stream.on('data', (c: Buffer) => body.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(`got ${Buffer.concat(body).length}`);
    });
  });
  const listener = createServer((sock) => h2.emit('connection', new AuthorityRewriter(sock)));
  await new Promise<void>((r) => listener.listen(path, r));
  const client = http2Connect('http://localhost', { createConnection: () => connect(path) });
  try {
    const ask = (extra: Record<string, string>, body: string) =>
      new Promise<string>((resolve, reject) => {
        const req = client.request({ ':method': 'POST', ':path': '/x', ':authority': path, ...extra });
        let out = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (out += c));
        req.on('end', () => resolve(out));
        req.on('error', reject);
        req.end(body);
      });
    for (let i = 0; i < 3; i++) assert.equal(await ask({ 'x-n': String(i) }, 'a'.repeat(i * 1000)), `got ${i * 1000}`);
    assert.equal(await ask({ 'x-big': 'b'.repeat(20_000) }, 'body'), 'got 4');
    assert.deepEqual(
      seen.map((h) => [h[':authority'], h['x-n'] ?? h['x-big']?.length]),
      [
        ['localhost', '0'],
        ['localhost', '1'],
        ['localhost', '2'],
        ['localhost', 20_000],
      ],
    );
  } finally {
    client.close();
    listener.close();
    h2.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
