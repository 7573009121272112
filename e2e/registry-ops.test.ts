/**
 * berth-registry's operations as an operator runs them, with the docker CLI pushing through
 * berthd: a distribution-style config.yml, webhook notifications to a small receiver on
 * loopback (queued on disk while it is down, delivered after a kill -9 and a restart), the
 * read-only mode, and `garbage-collect` removing a deleted image's blobs while keeping those
 * another image still uses. Only loopback is contacted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  REPO,
  bootstrapBusybox,
  cleanup,
  dockerOk,
  eventually,
  run,
  startDaemon,
  startRegistry,
  type Daemon,
  type RegistryProcess,
} from './harness.ts';

interface Delivered {
  contentType: string;
  events: {
    action: string;
    target: { repository: string; digest?: string; tag?: string; mediaType?: string };
    request: { useragent: string };
  }[];
}

let d: Daemon;
let scratch: string;
let receiver: Server;
let receiverUrl: string;
let receiverStatus = 200;
const delivered: Delivered[] = [];
let config: string;
let root: string;
let reg: RegistryProcess | undefined;

const events = () => delivered.flatMap((x) => x.events);

function writeConfig(readOnly: boolean): void {
  writeFileSync(
    config,
    [
      'version: 0.1',
      'storage:',
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    readonly:',
      `      enabled: ${readOnly}`,
      'notifications:',
      '  endpoints:',
      '    - name: receiver',
      `      url: ${receiverUrl}`,
      '      timeout: 1s',
      '      threshold: 2',
      '      backoff: 200ms',
      '      ignore:',
      '        actions: [pull]',
      '',
    ].join('\n'),
  );
}

async function startReg(): Promise<RegistryProcess> {
  reg = await startRegistry(root, ['--config', config]);
  return reg;
}

async function stopReg(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!reg) return;
  reg.proc.kill(signal);
  await reg.exited;
  reg = undefined;
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-e2e-regops-'));
  process.env.DOCKER_CONFIG = join(scratch, 'docker');
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (receiverStatus === 200)
        delivered.push({
          contentType: String(req.headers['content-type']),
          events: JSON.parse(Buffer.concat(chunks).toString()).events,
        });
      res.writeHead(receiverStatus).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
  config = join(scratch, 'config.yml');
  root = join(scratch, 'registry');
  writeConfig(false);
  d = await startDaemon();
  await bootstrapBusybox(d);
});

after(async () => {
  await stopReg('SIGKILL');
  if (d) await cleanup(d);
  await new Promise((r) => receiver?.close(r));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('a docker push is announced to the webhook receiver in distribution event shape', async () => {
  const r = await startReg();
  await dockerOk(d, ['tag', 'busybox', `${r.host}/tools/busybox:1`]);
  await dockerOk(d, ['push', `${r.host}/tools/busybox:1`]);
  assert.ok(await eventually(() => events().some((e) => e.action === 'push' && e.target.tag === '1')));
  assert.ok(delivered.every((x) => x.contentType === 'application/vnd.docker.distribution.events.v2+json'));
  const manifestPush = events().find((e) => e.target.tag === '1')!;
  assert.equal(manifestPush.target.repository, 'tools/busybox');
  assert.match(manifestPush.target.mediaType!, /manifest/);
  assert.ok(
    events().some((e) => e.action === 'push' && e.target.mediaType === 'application/octet-stream'),
    'blob pushes too',
  );
  // Pulls are ignored by this endpoint's config.
  await dockerOk(d, ['rmi', `${r.host}/tools/busybox:1`]);
  await dockerOk(d, ['pull', `${r.host}/tools/busybox:1`]);
  assert.ok(!events().some((e) => e.action === 'pull'));
});

test('events for a receiver that is down wait on disk through a kill -9 and arrive after the restart', async () => {
  receiverStatus = 503;
  const before = events().length;
  const r = reg ?? (await startReg());
  await dockerOk(d, ['tag', 'busybox', `${r.host}/tools/queued:1`]);
  await dockerOk(d, ['push', `${r.host}/tools/queued:1`]);
  assert.ok(await eventually(() => /endpoint receiver is down/.test(r.log())), r.log());
  await stopReg('SIGKILL');
  receiverStatus = 200;
  await startReg();
  assert.ok(
    await eventually(() =>
      events()
        .slice(before)
        .some((e) => e.target.tag === '1' && e.target.repository === 'tools/queued'),
    ),
  );
});

test('garbage-collect beside a read-only registry removes a deleted image blobs and keeps what another image uses', async () => {
  let r = reg ?? (await startReg());
  // An image of its own: busybox with one more layer.
  const id = await dockerOk(d, ['run', '-d', 'busybox', 'sh', '-c', 'echo only-here > /only-here']);
  await dockerOk(d, ['wait', id.trim()]);
  await dockerOk(d, ['commit', id.trim(), `${r.host}/tools/extra:1`]);
  await dockerOk(d, ['rm', id.trim()]);
  await dockerOk(d, ['push', `${r.host}/tools/extra:1`]);
  const head = await fetch(`http://${r.host}/v2/tools/extra/manifests/1`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  const digest = head.headers.get('docker-content-digest')!;
  const manifest = (await (
    await fetch(`http://${r.host}/v2/tools/extra/manifests/${digest}`, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    })
  ).json()) as { layers: { digest: string }[] };
  const own = manifest.layers.at(-1)!.digest;
  const shared = manifest.layers[0]!.digest;
  assert.equal((await fetch(`http://${r.host}/v2/tools/extra/manifests/${digest}`, { method: 'DELETE' })).status, 202);

  const gc = (args: string[]) => run(join(REPO, 'bin/berth-registry'), ['garbage-collect', '--root', root, ...args]);
  const refused = await gc(['--grace', '0s']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /accepts writes: stop it, or restart it with storage\.maintenance\.readonly/);

  await stopReg();
  writeConfig(true);
  r = await startReg();
  const push = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-X',
    'POST',
    `http://${r.host}/v2/x/blobs/uploads/`,
  ]);
  assert.equal(push.stdout, '405', 'read-only: writes refused');

  const dry = await gc(['--dry-run', '--grace', '0s']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`blob eligible for deletion: ${own}`));
  const done = await gc(['--grace', '0s']);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /removed [1-9]\d* blobs/);
  assert.equal((await fetch(`http://${r.host}/v2/tools/extra/blobs/${own}`, { method: 'HEAD' })).status, 404);
  assert.equal(
    (await fetch(`http://${r.host}/v2/tools/busybox/blobs/${shared}`, { method: 'HEAD' })).status,
    200,
    'a layer busybox:1 still references stays',
  );
  // busybox:1 is whole: its manifest, config and every layer are still served.
  const kept = (await (
    await fetch(`http://${r.host}/v2/tools/busybox/manifests/1`, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    })
  ).json()) as { config: { digest: string }; layers: { digest: string }[] };
  for (const b of [kept.config, ...kept.layers])
    assert.equal((await fetch(`http://${r.host}/v2/tools/busybox/blobs/${b.digest}`, { method: 'HEAD' })).status, 200);
});
