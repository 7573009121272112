/**
 * `docker network connect bridge` and `docker network disconnect bridge`, as dockerd 20.10 does
 * them (checked side by side, bench/compat-networks.sh): a container of the default bridge taken
 * off it and given it back, running and stopped; a user network's container given a
 * default-bridge interface besides its own; the refusals' words. Traffic goes only between
 * containers on this daemon's bridges.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemonWithBusybox, cleanup, docker, dockerOk, type Daemon } from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

const BRIDGE = `bnb${process.pid % 100000}`;
let d: Daemon;
let user: string;
/** The names of the networks inspect shows for container `c`, sorted. */
const nets = async (c: string) =>
  (await dockerOk(d, ['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', c]))
    .trim()
    .split(' ')
    .filter(Boolean)
    .sort();
const ipOn = async (c: string, n: string) =>
  (await dockerOk(d, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${n}").IPAddress}}`, c])).trim();
/** The container's interfaces but lo, and its IPv4 addresses, as `ip` inside shows them. */
const inside = async (c: string) => {
  const links = (await dockerOk(d, ['exec', c, 'ip', '-o', 'link'])).match(/\beth\d+/g) ?? [];
  const addrs = (await dockerOk(d, ['exec', c, 'ip', '-o', '-4', 'addr'])).match(/inet [0-9.]+/g) ?? [];
  return { links: [...new Set(links)].sort(), addrs: addrs.map((a) => a.slice(5)).filter((a) => a !== '127.0.0.1') };
};
const onBridge = async () =>
  Object.values(JSON.parse(await dockerOk(d, ['network', 'inspect', 'bridge']))[0].Containers).map((m: any) => m.Name);

before(async () => {
  d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--bip', `${await reserveSubnet()}.1/24`]);
  user = await reserveSubnet();
  await dockerOk(d, ['network', 'create', '--subnet', `${user}.0/24`, 'un']);
});
after(async () => {
  if (d) {
    await docker(d, ['rm', '-f', 'b1', 'b2', 'u1', 'u2', 'peer']);
    await docker(d, ['network', 'rm', 'un']);
  }
  await cleanup(d);
});

test('a running container of the default bridge is taken off it and given it back', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'b1', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['network', 'disconnect', 'bridge', 'b1']);
  assert.deepEqual(await nets('b1'), [], 'inspect shows no network');
  assert.deepEqual(await inside('b1'), { links: [], addrs: [] }, 'eth0 is gone inside');
  assert.ok(!(await onBridge()).includes('b1'), 'nor is it among the bridge network’s containers');
  const again = await docker(d, ['network', 'disconnect', 'bridge', 'b1']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /container [0-9a-f]{64} is not connected to network bridge/);

  await dockerOk(d, ['network', 'connect', 'bridge', 'b1']);
  const ip = await ipOn('b1', 'bridge');
  assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  // dockerd's sandbox gives no name twice in a run: the interface given back is eth1.
  assert.deepEqual(await inside('b1'), { links: ['eth1'], addrs: [ip] });
  assert.match(
    await dockerOk(d, ['exec', 'b1', 'ip', 'route']),
    /^default via \S+ dev eth1/m,
    'with the default route again',
  );
  assert.ok((await onBridge()).includes('b1'));
  const twice = await docker(d, ['network', 'connect', 'bridge', 'b1']);
  assert.notEqual(twice.code, 0);
  assert.match(twice.stderr, /endpoint with name b1 already exists in network bridge/);
});

test('a stopped container of the default bridge starts with no network once taken off it, and with it once given it back', async () => {
  await dockerOk(d, ['create', '--name', 'b2', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['network', 'disconnect', 'bridge', 'b2']);
  assert.deepEqual(await nets('b2'), []);
  await dockerOk(d, ['start', 'b2']);
  assert.deepEqual(await inside('b2'), { links: [], addrs: [] });
  await dockerOk(d, ['stop', '-t', '0', 'b2']);
  await dockerOk(d, ['network', 'connect', 'bridge', 'b2']);
  await dockerOk(d, ['start', 'b2']);
  assert.deepEqual(await nets('b2'), ['bridge']);
  assert.deepEqual(await inside('b2'), { links: ['eth0'], addrs: [await ipOn('b2', 'bridge')] });
});

test("a user network's container gets a default-bridge interface besides its own, running or at its next start", async () => {
  await dockerOk(d, ['run', '-d', '--name', 'u1', '--network', 'un', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['run', '-d', '--name', 'peer', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['network', 'connect', 'bridge', 'u1']);
  assert.deepEqual(await nets('u1'), ['bridge', 'un']);
  const ip = await ipOn('u1', 'bridge');
  const seen = await inside('u1');
  assert.deepEqual(seen.links, ['eth0', 'eth1']);
  assert.deepEqual(seen.addrs.sort(), [await ipOn('u1', 'un'), ip].sort());
  const routes = await dockerOk(d, ['exec', 'u1', 'ip', 'route']);
  assert.match(
    routes,
    new RegExp(`^default via ${user.replace(/\./g, '\\.')}\\.1 dev eth0`, 'm'),
    'its own network keeps the default route',
  );
  assert.equal(routes.match(/^default/gm)?.length, 1);
  assert.match(await dockerOk(d, ['exec', 'peer', 'ping', '-c', '1', '-W', '3', ip]), /1 packets received/);
  assert.ok((await onBridge()).includes('u1'));
  assert.match(await dockerOk(d, ['ps', '--filter', 'network=bridge', '--format', '{{.Names}}']), /^u1$/m);
  // Its user network's DNS still answers it.
  assert.match(await dockerOk(d, ['exec', 'u1', 'nslookup', 'u1']), /Name:\s+u1/);

  const alias = await docker(d, ['network', 'connect', '--alias', 'z', 'bridge', 'peer']);
  assert.match(alias.stderr, /network-scoped alias is supported only for containers in user defined networks/);

  await dockerOk(d, ['network', 'disconnect', 'bridge', 'u1']);
  assert.deepEqual(await nets('u1'), ['un']);
  assert.deepEqual((await inside('u1')).links, ['eth0']);

  // Stopped: the interface comes at the start.
  await dockerOk(d, ['create', '--name', 'u2', '--network', 'un', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['network', 'connect', 'bridge', 'u2']);
  assert.deepEqual(await nets('u2'), ['bridge', 'un']);
  await dockerOk(d, ['start', 'u2']);
  assert.deepEqual((await inside('u2')).links, ['eth0', 'eth1']);
  assert.match(
    await dockerOk(d, ['exec', 'peer', 'ping', '-c', '1', '-W', '3', await ipOn('u2', 'bridge')]),
    /1 packets received/,
  );
});
