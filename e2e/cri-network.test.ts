/**
 * The CRI's NetworkReady against a private berthd: `--cni-default-network` writes Berth's pod
 * network into an empty CNI directory, Status then reports the network ready (Debian's plugins
 * are in /usr/lib/cni), and not ready, with the reason, once the directory holds none. The
 * directory is read at each Status, as kubelet polls it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { criDefinitions } from '../src/cri/index.ts';
import { startDaemon, cleanup, type Daemon } from './harness.ts';

const plugins = ['bridge', 'host-local', 'portmap', 'loopback'].every((p) => existsSync(join('/usr/lib/cni', p)));
let d: Daemon | undefined;
let scratch: string;
let client: grpc.Client;

function call<T = any>(method: string, request: object = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

async function networkReady(): Promise<{ status: boolean; reason: string; message: string }> {
  const s = await call('Status', {});
  return s.status.conditions.find((c: { type: string }) => c.type === 'NetworkReady');
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-e2e-cni-'));
  d = await startDaemon([
    '--cni-conf-dir',
    join(scratch, 'net.d'),
    '--cni-bin-dir',
    '/usr/lib/cni',
    '--cni-default-network',
  ]);
  const pkg = grpc.loadPackageDefinition(criDefinitions()) as any;
  const sock = join(d.root, 'run', 'cri.sock');
  // berthd answers on its Engine API socket before the CRI one is bound.
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  client = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': sock,
  });
});

after(async () => {
  client?.close();
  await cleanup(d);
  rmSync(scratch, { recursive: true, force: true });
});

test(
  '--cni-default-network writes 10-berth-cni0.conflist into an empty directory and Status reports the network ready',
  { skip: !plugins && 'needs containernetworking-plugins' },
  async () => {
    const conf = JSON.parse(readFileSync(join(scratch, 'net.d', '10-berth-cni0.conflist'), 'utf8'));
    assert.equal(conf.plugins[0].bridge, 'berth-cni0');
    assert.deepEqual(conf.plugins[0].ipam.ranges, [[{ subnet: '10.231.0.0/16' }]]);
    assert.deepEqual(await networkReady(), { type: 'NetworkReady', status: true, reason: '', message: '' });
  },
);

test('without a network in the directory, NetworkReady is false and says why', async () => {
  rmSync(join(scratch, 'net.d', '10-berth-cni0.conflist'), { force: true });
  const n = await networkReady();
  assert.equal(n.status, false);
  assert.equal(n.reason, 'NetworkPluginNotReady');
  assert.equal(n.message, `cni config uninitialized: no valid network in ${join(scratch, 'net.d')}`);
});
