/**
 * Test support for registries: a berth-registry on a random loopback port over a temporary
 * root, raw HTTP calls (`rawcall.ts`), the in-memory fake registry the client's and pull's
 * tests run against (`fakeregistry.ts`), and the distribution suite both must pass
 * (`conformance.ts`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../spec/index.ts';
import { RegistryServer, type RegistryServerOptions } from './server.ts';
import { RegistryStorage, type StorageOptions } from './storage.ts';
import { call, digestOf, type CallOptions, type Reply } from './rawcall.ts';

export { call, digestOf, schema2Manifest, type CallOptions, type Reply } from './rawcall.ts';
export { distributionSuite, type SuiteRegistry, type SuiteRegistryOptions } from './conformance.ts';
export { startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from './fakeregistry.ts';

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
