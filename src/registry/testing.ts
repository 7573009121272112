/**
 * Test helpers: a registry on a random loopback port over a temporary root, a raw HTTP
 * client that sends paths exactly as given (fetch would resolve `..` and `%2e%2e` itself,
 * hiding exactly what the traversal tests want to send), and the in-memory fake registry
 * (`fakeregistry.ts`) the client's and pull's tests run against.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../spec/index.ts';
import { RegistryServer, type RegistryServerOptions } from './server.ts';
import { RegistryStorage, type StorageOptions } from './storage.ts';

export { startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from './fakeregistry.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  header(name: string): string | undefined;
  json(): any;
}

export interface CallOptions {
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}

export function call(port: number, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined && headers['Content-Length'] === undefined)
      headers['Content-Length'] = Buffer.byteLength(options.body);
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          header: (name) => {
            const v = res.headers[name.toLowerCase()];
            return Array.isArray(v) ? v.join(', ') : v;
          },
          json: () => JSON.parse(body.toString('utf8')),
        });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function digestOf(data: string | Buffer): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface TestRegistry {
  port: number;
  root: string;
  storage: RegistryStorage;
  server: RegistryServer;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Uploads a blob in one request; asserts nothing. */
  pushBlob(name: string, data: string | Buffer): Promise<Digest>;
  close(): Promise<void>;
}

export async function startTestRegistry(
  options: { storage?: StorageOptions; server?: RegistryServerOptions } = {},
): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const root = join(dir, 'root');
  const storage = await RegistryStorage.open(root, options.storage);
  const server = new RegistryServer(storage, options.server);
  const { port } = await server.listen(0);
  const reg: TestRegistry = {
    port,
    root,
    storage,
    server,
    call: (method, path, o) => call(port, method, path, o),
    async pushBlob(name, data) {
      const digest = digestOf(data);
      const r = await call(port, 'POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, { body: data });
      if (r.status !== 201) throw new Error(`push blob: ${r.status} ${r.body}`);
      return digest;
    },
    async close() {
      await server.close(200);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return reg;
}

/** A schema2 image manifest over a config and layers already pushed. */
export function schema2Manifest(
  config: { digest: Digest; size: number },
  layers: { digest: Digest; size: number }[],
): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', ...l })),
  });
}
