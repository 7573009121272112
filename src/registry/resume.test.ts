import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { RegistryClient, RegistryServer, RegistryStorage, silentLogger } from './index.ts';
import type { Digest } from '../spec/index.ts';

/**
 * A TCP relay to the registry that cuts the connection carrying the first PATCH after
 * `cutAfter` bytes of it have passed: a dropped connection in the middle of a chunk.
 */
async function flakyRelay(target: number, cutAfter: number): Promise<{ port: number; cuts: number; close(): void }> {
  const state = { cuts: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let seen = 0;
    let patching = false;
    client.on('data', (c: Buffer) => {
      if (!patching && state.cuts === 0 && c.toString('latin1').startsWith('PATCH ')) patching = true;
      if (patching) {
        seen += c.length;
        if (seen > cutAfter) {
          state.cuts++;
          patching = false;
          client.destroy();
          upstream.destroy();
          return;
        }
      }
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => client.write(c));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    get cuts() {
      return state.cuts;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('a resumable upload whose connection drops in the middle of a chunk resumes where the registry stands', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-resume-'));
  const server = new RegistryServer(await RegistryStorage.open(join(dir, 'root')), { log: silentLogger });
  const { port } = await server.listen(0);
  const relay = await flakyRelay(port, 3 * 1024 * 1024);
  try {
    const blob = randomBytes(10 * 1024 * 1024);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}` as Digest;
    const client = new RegistryClient({
      name: `127.0.0.1:${relay.port}`,
      base: `http://127.0.0.1:${relay.port}`,
      mirror: false,
    });
    const opened: Array<[number, number]> = [];
    let counted = 0;
    await client.pushBlobResumable(
      't/big',
      { digest, size: blob.length },
      (start, end) => {
        opened.push([start, end]);
        return Readable.from([blob.subarray(start, end + 1)]);
      },
      { chunkBytes: 4 * 1024 * 1024, onBytes: (n) => (counted += n) },
    );
    assert.equal(relay.cuts, 1);
    // The first chunk was cut off, sent again whole, and the rest followed.
    assert.deepEqual(opened, [
      [0, 4194303],
      [0, 4194303],
      [4194304, 8388607],
      [8388608, 10485759],
    ]);
    assert.equal(counted, blob.length, 'progress ends at the size, the lost bytes taken back');
    assert.equal(await client.statBlob('t/big', digest), blob.length);
  } finally {
    relay.close();
    await server.close(200);
    await rm(dir, { recursive: true, force: true });
  }
});
