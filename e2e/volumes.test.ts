/**
 * Volumes and mounts through the real `docker` CLI: `docker volume` create/ls/inspect/rm/prune,
 * and containers mounting volumes, host directories and tmpfs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, cleanup, docker, dockerOk, bootstrapBusybox, api, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await bootstrapBusybox(d);
});
after(async () => {
  if (d) await cleanup(d);
});

const volumesDir = () => join(d.root, 'data', 'volumes');

test('docker volume create/inspect: local driver, labels, options, mountpoint under the data root', async () => {
  assert.equal((await dockerOk(d, ['volume', 'create', '--label', 'team=web', '--label', 'tier', 'data1'])).trim(), 'data1');
  const [v] = JSON.parse(await dockerOk(d, ['volume', 'inspect', 'data1']));
  assert.equal(v.Name, 'data1');
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.deepEqual(v.Labels, { team: 'web', tier: '' });
  assert.equal(v.Options, null);
  assert.equal(v.Mountpoint, join(volumesDir(), 'data1', '_data'));
  assert.ok(statSync(v.Mountpoint).isDirectory());
  assert.ok(Math.abs(Date.parse(v.CreatedAt) - Date.now()) < 60_000, v.CreatedAt);
  assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // Creating it again is not an error and changes nothing.
  assert.equal((await dockerOk(d, ['volume', 'create', 'data1'])).trim(), 'data1');
  const meta = JSON.parse(readFileSync(join(volumesDir(), 'data1', 'volume.json'), 'utf8'));
  assert.equal(meta.Name, 'data1');

  await dockerOk(d, ['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'o=size=8m', 'scratch']);
  assert.equal((await dockerOk(d, ['volume', 'inspect', '-f', '{{json .Options}}', 'scratch'])).trim(), '{"o":"size=8m","type":"tmpfs"}');
  await dockerOk(d, ['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', '--opt', `device=${d.root}`, 'hostdir']);
  assert.equal((await dockerOk(d, ['volume', 'inspect', '-f', '{{.Options.device}}', 'hostdir'])).trim(), d.root);

  const anon = (await dockerOk(d, ['volume', 'create'])).trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  assert.equal((await dockerOk(d, ['volume', 'inspect', '-f', '{{json .Labels}}', anon])).trim(), '{"com.docker.volume.anonymous":""}');
});

test('malformed volume names and options are refused with Docker\'s errors', async () => {
  let r = await docker(d, ['volume', 'create', 'bad/name']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /create bad\/name: "bad\/name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/);
  r = await docker(d, ['volume', 'create', 'x']);
  assert.match(r.stderr, /includes invalid characters/);
  r = await docker(d, ['volume', 'create', '--opt', 'foo=bar', 'v2']);
  assert.match(r.stderr, /create v2: invalid option: "foo"/);
  r = await docker(d, ['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', 'v3']);
  assert.match(r.stderr, /create v3: missing required option: "device"/);
  r = await docker(d, ['volume', 'create', '--driver', 'nfs-plugin', 'v4']);
  assert.notEqual(r.code, 0);
  r = await docker(d, ['volume', 'inspect', 'nope']);
  assert.match(r.stderr, /get nope: no such volume/);
  r = await docker(d, ['volume', 'rm', 'nope']);
  assert.match(r.stderr, /get nope: no such volume/);
  assert.equal((await docker(d, ['volume', 'rm', '-f', 'nope'])).code, 0);
  assert.equal(existsSync(join(volumesDir(), 'v2')), false);
});

test('docker volume ls with name, label and dangling filters', async () => {
  await dockerOk(d, ['volume', 'create', '--label', 'team=db', 'lsdb']);
  const names = async (...args: string[]) => (await dockerOk(d, ['volume', 'ls', '-q', ...args])).trim().split('\n').filter(Boolean).sort();
  const all = await names();
  assert.ok(all.includes('lsdb') && all.includes('data1'), all.join(' '));
  assert.deepEqual(await names('-f', 'name=lsd'), ['lsdb']);
  assert.deepEqual(await names('-f', 'label=team=db'), ['lsdb']);
  assert.deepEqual(await names('-f', 'label=team'), ['data1', 'lsdb']);
  assert.ok((await names('-f', 'dangling=true')).includes('lsdb'));
  const table = await dockerOk(d, ['volume', 'ls', '-f', 'name=lsdb']);
  assert.match(table, /DRIVER\s+VOLUME NAME\nlocal\s+lsdb\n/);
  const r = await docker(d, ['volume', 'ls', '-f', 'colour=red']);
  assert.notEqual(r.code, 0);
});

test('docker volume rm and prune: anonymous only by default, --all for named; events', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await dockerOk(d, ['volume', 'create', 'gone1']);
  await dockerOk(d, ['volume', 'rm', 'gone1']);
  assert.equal(existsSync(join(volumesDir(), 'gone1')), false);
  const anon = (await dockerOk(d, ['volume', 'create'])).trim();
  await dockerOk(d, ['volume', 'create', 'keepme']);
  const out = await dockerOk(d, ['volume', 'prune', '-f']);
  assert.match(out, new RegExp(anon));
  assert.doesNotMatch(out, /keepme/);
  assert.equal((await docker(d, ['volume', 'inspect', anon])).code, 1);
  assert.equal((await docker(d, ['volume', 'inspect', 'keepme'])).code, 0);
  const all = await dockerOk(d, ['volume', 'prune', '-f', '--all', '--filter', 'label!=team']);
  assert.match(all, /keepme/);
  assert.doesNotMatch(all, /lsdb/);
  assert.equal((await docker(d, ['volume', 'inspect', 'lsdb'])).code, 0);
  const events = await dockerOk(d, ['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=volume', '--format', '{{.Action}} {{.Actor.ID}}']);
  assert.match(events, /create gone1\ndestroy gone1\n/);
  assert.match(events, /destroy keepme/);
});

test('the volume API answers in Docker\'s shape', async () => {
  const r = await api(d, 'POST', '/v1.45/volumes/create', JSON.stringify({ Name: 'apivol', Labels: { a: 'b' } }), { 'Content-Type': 'application/json' });
  assert.equal(r.status, 201);
  assert.equal(JSON.parse(r.body).Name, 'apivol');
  const list = JSON.parse((await api(d, 'GET', '/v1.45/volumes')).body);
  assert.ok(Array.isArray(list.Volumes) && list.Volumes.some((v: { Name: string }) => v.Name === 'apivol'));
  assert.equal((await api(d, 'DELETE', '/v1.45/volumes/apivol')).status, 204);
  assert.equal((await api(d, 'GET', '/v1.45/volumes/apivol')).status, 404);
});
