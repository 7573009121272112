import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criDefinitions } from '../cri/index.ts';
import { FakePodNetworking } from '../cni/testing.ts';
import { EventBus } from '../events/index.ts';
import { defaultConfig } from './config.ts';
import { LazyCri } from './cri.ts';
import { Logger } from './log.ts';

/** A LazyCri over services that are never reached by what these tests ask (no pod exists). */
function lazyCri(networking = new FakePodNetworking()) {
  const log = new Logger('error');
  const none = { store: { find: () => undefined, all: () => [], list: () => [] }, list: () => [] };
  return new LazyCri({
    config: { ...defaultConfig(), dataRoot: '/nonexistent' },
    log,
    images: none as never,
    containers: none as never,
    pods: none as never,
    execs: {} as never,
    events: new EventBus(),
    networking,
  });
}

function call<T = any>(client: grpc.Client, method: string): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method]({}, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

test('at start, with no CNI network kept, reaping does not load the CRI', async () => {
  const cri = lazyCri();
  assert.deepEqual(await cri.reapNetworks(), []);
  assert.equal(cri.loaded, false);
  await cri.close();
});

test('at start, a network kept for a sandbox that is gone is torn down, the CRI loaded for it', async () => {
  const networking = new FakePodNetworking();
  await networking.setUp({
    containerId: 'gone',
    netnsPath: '/proc/1/ns/net',
    podName: 'p',
    podNamespace: 'n',
    podUid: 'u',
  });
  const cri = lazyCri(networking);
  try {
    assert.deepEqual(await cri.reapNetworks(), ['gone']);
    assert.equal(cri.loaded, true);
    assert.deepEqual(
      networking.calls.map((c) => `${c.op} ${c.containerId}`),
      ['setUp gone', 'tearDown gone'],
    );
  } finally {
    await cri.close();
  }
});

test('the socket listens before anything is loaded; callers that connect together are answered by one load', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-lazycri-'));
  const sock = join(dir, 'cri.sock');
  const cri = lazyCri();
  await cri.listen(sock);
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  const options = { 'grpc.default_authority': sock };
  const a = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), options);
  const b = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), options);
  try {
    assert.equal(cri.loaded, false);
    const [va, vb] = await Promise.all([call(a, 'Version'), call(b, 'Version')]);
    assert.equal(va.runtime_name, 'berth');
    assert.deepEqual(vb, va);
    assert.equal(cri.loaded, true);
  } finally {
    a.close();
    b.close();
    await cri.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
