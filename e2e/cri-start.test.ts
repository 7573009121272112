/**
 * berthd's CRI socket at start: served at once, while gRPC and the CRI's handlers load only when
 * a caller first connects (src/daemon/cri.ts), through the gRPC client built from Berth's
 * definitions, as kubelet would call it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criDefinitions } from '../src/cri/index.ts';
import { startDaemon, cleanup } from './harness.ts';

function call<T = any>(client: grpc.Client, method: string, request: object = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

test('the CRI socket is served from the start, but gRPC and the handlers load at the first call, once for calls that arrive together', async () => {
  const other = await startDaemon();
  const sock = join(other.root, 'run', 'cri.sock');
  const options = { 'grpc.default_authority': sock };
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  const rt = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), options);
  const im = new pkg.runtime.v1.ImageService(`unix://${sock}`, grpc.credentials.createInsecure(), options);
  try {
    for (let i = 0; i < 300 && !/CRI listen on/.test(other.log()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(statSync(sock).isSocket(), true);
    // Nobody has called: the daemon has not loaded the CRI server (its log says when it does).
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(other.log(), /CRI server loaded/);
    // Two connections while it loads: both wait for it and are answered.
    const [version, images] = await Promise.all([call(rt, 'Version', {}), call(im, 'ListImages', {})]);
    assert.equal(version.runtime_name, 'berth');
    assert.deepEqual(images.images, []);
    assert.equal(other.log().match(/CRI server loaded/g)?.length, 1);
  } finally {
    rt.close();
    im.close();
    await cleanup(other);
  }
});
