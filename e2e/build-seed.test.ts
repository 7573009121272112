/**
 * The seed example end to end: debian:bookworm (bootstrapped from the sanctioned Debian
 * mirror), `apt-get update` and `apt-get install -y nginx` in RUN steps on the default bridge
 * (outbound NAT to that mirror), then the image served on a published loopback port and
 * fetched with curl. A fully cached rebuild follows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, cleanup, docker, dockerOk, api, eventually, run, type Daemon } from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

let d: Daemon;
before(async () => {
  d = await startDaemon(['--bridge', `bsd${process.pid % 100000}`, '--bip', `${await reserveSubnet()}.1/24`]);
  const r = await api(d, 'POST', '/berth/v1/images/bootstrap?image=debian:bookworm');
  if (r.status !== 200 || /"error"/.test(r.body))
    throw new Error(`bootstrap debian: ${r.status} ${r.body.slice(-500)}`);
});
after(() => cleanup(d));

test('the seed Dockerfile builds nginx from the Debian mirror, the image serves, a rebuild is all cache', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-seed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'Dockerfile'),
    'FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y nginx\nCMD ["nginx", "-g", "daemon off;"]\n',
  );
  const env = { DOCKER_BUILDKIT: '0' };
  const r = await docker(d, ['build', '-t', 'seed', dir], { env, timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
  assert.match(r.stdout, /Step 3\/4 : RUN apt-get install -y nginx\n ---> Running in [0-9a-f]{12}\n/);
  assert.match(r.stdout, /Successfully tagged seed:latest\n/);
  await dockerOk(d, ['run', '-d', '--name', 'web', '-p', '127.0.0.1::80', 'seed']);
  const published = (await dockerOk(d, ['port', 'web', '80/tcp'])).trim();
  assert.match(published, /^127\.0\.0\.1:\d+$/);
  const page = await eventually(
    async () => {
      const c = await run('curl', ['-s', '-m', '5', `http://${published}/`]);
      return c.code === 0 && c.stdout.includes('Welcome to nginx!') ? c.stdout : undefined;
    },
    20_000,
    250,
  );
  assert.match(page ?? '', /<title>Welcome to nginx!<\/title>/);
  await dockerOk(d, ['rm', '-f', 'web']);
  const again = await docker(d, ['build', '-t', 'seed', dir], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.match(/ ---> Using cache\n/g)?.length, 3, again.stdout);
  const rows = (await dockerOk(d, ['history', '--format', '{{.CreatedBy}}', '--no-trunc', 'seed'])).trim().split('\n');
  assert.deepEqual(rows.slice(0, 3), [
    '/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]',
    '/bin/sh -c apt-get install -y nginx',
    '/bin/sh -c apt-get update',
  ]);
});
