/**
 * Many clients at once (issue 15, target 4): `docker run -d` issued ten at a time loses no
 * container and hands out nothing twice — names, addresses on a user network, published host
 * ports — and where two requests want the same thing (a name, a fixed address, a host port)
 * exactly one gets it and the others get Docker's error. Traffic goes only to loopback.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, cleanup, docker, dockerOk, freePort, startDaemonWithBusybox, type Daemon } from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

let d: Daemon;
const NET = 'par';
// A subnet of its own: other test files' networks may exist at the same time.
const prefix = await reserveSubnet();
const SUBNET = `${prefix}.0/24`;

before(async () => {
  d = await startDaemonWithBusybox();
  await dockerOk(d, ['network', 'create', '--subnet', SUBNET, NET]);
});
after(async () => {
  if (d) await docker(d, ['rm', '-f', ...(await dockerOk(d, ['ps', '-aq'])).split('\n').filter(Boolean)]);
  if (d) await docker(d, ['network', 'rm', NET]);
  await cleanup(d);
});

/** Runs `fn(i)` for i in 0..n-1, `width` at a time; the results in order. */
async function inWaves<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += width)
    out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => fn(i + k)))));
  return out;
}

async function removeAll(): Promise<void> {
  const ids = (await dockerOk(d, ['ps', '-aq'])).split('\n').filter(Boolean);
  if (ids.length) await dockerOk(d, ['rm', '-f', ...ids]);
}

test('forty runs ten at a time on a user network: forty running, forty names, addresses and host ports', async () => {
  const n = 40;
  const runs = await inWaves(n, 10, (i) =>
    docker(d, [
      'run',
      '-d',
      ...(i % 2 ? ['--name', `p${i}`] : []),
      '--network',
      NET,
      '-p',
      '127.0.0.1::80',
      'busybox',
      'sleep',
      '300',
    ]),
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const ids = (await dockerOk(d, ['ps', '-q', '--no-trunc'])).split('\n').filter(Boolean);
  assert.equal(ids.length, n);
  const seen = JSON.parse(await dockerOk(d, ['inspect', ...ids])) as Array<{
    Name: string;
    NetworkSettings: {
      Networks: Record<string, { IPAddress: string }>;
      Ports: Record<string, Array<{ HostPort: string }>>;
    };
  }>;
  const names = new Set(seen.map((c) => c.Name));
  const ips = new Set(seen.map((c) => c.NetworkSettings.Networks[NET]!.IPAddress));
  const ports = new Set(seen.map((c) => c.NetworkSettings.Ports['80/tcp']![0]!.HostPort));
  assert.equal(names.size, n);
  assert.equal(ips.size, n);
  assert.equal(ports.size, n);
  for (const ip of ips) assert.ok(ip.startsWith(`${prefix}.`), ip);
  await removeAll();
});

test('ten creates of one name at once: one is made, nine are told the name is in use, and nothing else is left', async () => {
  const body = JSON.stringify({ Image: 'busybox', Cmd: ['true'] });
  const replies = await Promise.all(
    Array.from({ length: 10 }, () => api(d, 'POST', '/containers/create?name=twin', body)),
  );
  const made = replies.filter((r) => r.status === 201);
  const refused = replies.filter((r) => r.status === 409);
  assert.equal(made.length, 1, JSON.stringify(replies));
  assert.equal(refused.length, 9, JSON.stringify(replies));
  for (const r of refused)
    assert.match((JSON.parse(r.body) as { message: string }).message, /The container name "\/twin" is already in use/);
  assert.equal((await dockerOk(d, ['ps', '-aq'])).split('\n').filter(Boolean).length, 1);
  await removeAll();
});

test('ten runs asking for one address at once: one runs with it, nine are refused and left created', async () => {
  const ip = `${prefix}.200`;
  const runs = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      docker(d, ['run', '-d', '--name', `ip${i}`, '--network', NET, '--ip', ip, 'busybox', 'sleep', '300']),
    ),
  );
  assert.equal(runs.filter((r) => r.code === 0).length, 1, runs.map((r) => r.stderr).join(''));
  for (const r of runs.filter((x) => x.code !== 0)) assert.match(r.stderr, /Address already in use/);
  const running = (await dockerOk(d, ['ps', '-q'])).split('\n').filter(Boolean);
  assert.equal(running.length, 1);
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', `{{.NetworkSettings.Networks.${NET}.IPAddress}}`, running[0]!])).trim(),
    ip,
  );
  await removeAll();
});

test('ten runs publishing one host port at once: one holds it, nine get "port is already allocated"', async () => {
  const port = await freePort();
  const runs = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      docker(d, [
        'run',
        '-d',
        '--name',
        `port${i}`,
        '--network',
        NET,
        '-p',
        `127.0.0.1:${port}:80`,
        'busybox',
        'sleep',
        '300',
      ]),
    ),
  );
  assert.equal(runs.filter((r) => r.code === 0).length, 1, runs.map((r) => r.stderr).join(''));
  for (const r of runs.filter((x) => x.code !== 0))
    assert.match(r.stderr, /port is already allocated|address already in use/);
  assert.equal((await dockerOk(d, ['ps', '-q'])).split('\n').filter(Boolean).length, 1);
  // The winner's port is the one asked for, and rm gives it back: a new container takes it.
  await removeAll();
  await dockerOk(d, ['run', '-d', '--network', NET, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '300']);
  await removeAll();
});
