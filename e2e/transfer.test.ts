/**
 * Compression choices through the CLIs: `berth push --compression zstd` sends zstd layers under
 * an OCI manifest that pulls back and runs; `berth save --compression` writes an archive
 * `docker load` takes. Only loopback is contacted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startDaemon,
  startRegistry,
  cleanup,
  berth,
  dockerOk,
  bootstrapBusybox,
  run,
  type Daemon,
  type RegistryProcess,
} from './harness.ts';

let d: Daemon;
let reg: string;
let registry: RegistryProcess | undefined;
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-e2e-transfer-'));
  process.env.DOCKER_CONFIG = join(scratch, 'docker');
  process.env.BERTH_CONFIG = join(scratch, 'berth');
  registry = await startRegistry(join(scratch, 'registry'));
  reg = registry.host;
  d = await startDaemon();
  await bootstrapBusybox(d);
});

after(async () => {
  if (d) await cleanup(d);
  registry?.proc.kill('SIGTERM');
  // Gone before its root is removed: a registry still writing an upload there fails the removal half-way.
  await registry?.exited;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('berth push --compression zstd:9 sends zstd layers under an OCI manifest; docker pulls and runs it', async () => {
  await dockerOk(d, ['tag', 'busybox', `${reg}/z/busybox:1`]);
  const pushed = await berth(d, ['push', '--compression', 'zstd:9', `${reg}/z/busybox:1`]);
  assert.equal(pushed.code, 0, pushed.stderr);
  const r = await fetch(`http://${reg}/v2/z/busybox/manifests/1`, {
    headers: {
      Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  const m = (await r.json()) as { mediaType: string; layers: Array<{ mediaType: string }> };
  assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.deepEqual(
    m.layers.map((l) => l.mediaType),
    ['application/vnd.oci.image.layer.v1.tar+zstd'],
  );
  await dockerOk(d, ['rmi', `${reg}/z/busybox:1`, 'busybox']);
  await dockerOk(d, ['pull', `${reg}/z/busybox:1`]);
  assert.equal((await dockerOk(d, ['run', '--rm', `${reg}/z/busybox:1`, 'echo', 'zstd ok'])).trim(), 'zstd ok');
  await dockerOk(d, ['tag', `${reg}/z/busybox:1`, 'busybox']);

  const bad = await berth(d, ['push', '--compression', 'xz', `${reg}/z/busybox:1`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid compression "xz": use gzip or zstd/);
});

test('berth save --compression gzip writes gzip layers; docker load takes the archive back', async () => {
  const out = join(scratch, 'busybox-gz.tar');
  const saved = await berth(d, ['save', '--compression', 'gzip', '-o', out, 'busybox']);
  assert.equal(saved.code, 0, saved.stderr);
  const list = await run('tar', ['-xOf', out, 'manifest.json']);
  const layers = (JSON.parse(list.stdout) as Array<{ Layers: string[] }>)[0]!.Layers;
  const first = await run('/bin/sh', ['-c', `tar -xOf '${out}' '${layers[0]}' | head -c 2 | od -An -tx1`]);
  assert.equal(first.stdout.trim(), '1f 8b', 'a gzip member');
  const id = (await dockerOk(d, ['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  await dockerOk(d, ['rmi', 'busybox']);
  const loaded = await dockerOk(d, ['load', '-i', out]);
  assert.match(loaded, /Loaded image: busybox:latest/);
  assert.equal((await dockerOk(d, ['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim(), id);
  assert.ok(readFileSync(out).length > 0);
});
