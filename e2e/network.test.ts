/**
 * Networking on the default bridge through the real `docker` CLI: a bridge on a free subnet,
 * a veth and an address per container, /etc/hosts, outbound NAT, inspect's NetworkSettings,
 * the none/host/container modes, IPAM across restarts, and clean-up of everything on the host.
 * Traffic goes only to containers this daemon made and to the sanctioned Debian mirror.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startDaemon, stopDaemon, cleanup, dockerOk, bootstrapBusybox, type Daemon } from './harness.ts';

// A bridge of this test's own, so it never meets berth0 or another test's daemon.
const BRIDGE = `bnt${process.pid % 100000}`;
const TABLE = `berth_${BRIDGE}`;
let d: Daemon;

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });
const bridgeAddr = () => {
  const j = JSON.parse(sh('ip', ['-j', '-4', 'addr', 'show', 'dev', BRIDGE]).stdout || '[]') as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  return j[0]?.addr_info[0];
};
const ipOf = async (name: string) => (await dockerOk(d, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', name])).trim();

before(async () => {
  d = await startDaemon(['--bridge', BRIDGE, '--live-restore']);
  await bootstrapBusybox(d);
});
after(async () => {
  if (d) await cleanup(d);
});

test('the bridge gets a subnet no other route uses, and outbound NAT in its own nft table', () => {
  const a = bridgeAddr();
  assert.ok(a, `bridge ${BRIDGE} exists with an address`);
  const routes = sh('ip', ['-4', 'route', 'show']).stdout.split('\n').filter((l) => l && !l.includes(`dev ${BRIDGE}`) && !l.startsWith('default'));
  const octets = `${a.local.split('.').slice(0, 2).join('.')}.`;
  assert.ok(!routes.some((r) => r.startsWith(octets)), `no other route in ${a.local}/${a.prefixlen}: ${routes.join('; ')}`);
  const table = sh('nft', ['list', 'table', 'ip', TABLE]).stdout;
  assert.match(table, /masquerade/);
  assert.match(table, new RegExp(`oifname != "${BRIDGE}"`));
});

test('a container gets eth0 on the bridge, a default route, its address in /etc/hosts, the host resolver', async () => {
  const a = bridgeAddr()!;
  const out = await dockerOk(d, ['run', '--rm', '--hostname', 'box1', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; ip route; cat /etc/hosts; echo ---; cat /etc/resolv.conf']);
  const ip = /inet ([\d.]+)\/(\d+)/.exec(out);
  assert.ok(ip, out);
  assert.equal(Number(ip[2]), a.prefixlen);
  assert.match(out, new RegExp(`default via ${a.local.replace(/\./g, '\\.')} dev eth0`));
  assert.match(out, new RegExp(`^${ip[1]!.replace(/\./g, '\\.')}\\tbox1$`, 'm'));
  const resolv = out.split('---')[1]!;
  assert.match(resolv, /nameserver/);
  assert.doesNotMatch(resolv, /nameserver 127\./);
});

test('inspect shows NetworkSettings in Docker\'s shape; containers reach each other; addresses differ', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'net-a', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['run', '-d', '--name', 'net-b', 'busybox', 'sleep', '300']);
  const ns = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings}}', 'net-a']));
  const a = bridgeAddr()!;
  assert.equal(ns.Gateway, a.local);
  assert.equal(ns.IPPrefixLen, a.prefixlen);
  assert.match(ns.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
  assert.match(ns.MacAddress, /^02:42(:[0-9a-f]{2}){4}$/);
  const br = ns.Networks.bridge;
  assert.equal(br.IPAddress, ns.IPAddress);
  assert.equal(br.Gateway, a.local);
  assert.equal(br.MacAddress, ns.MacAddress);
  assert.match(br.NetworkID, /^[0-9a-f]{64}$/);
  assert.match(br.EndpointID, /^[0-9a-f]{64}$/);
  const ipB = await ipOf('net-b');
  assert.notEqual(ipB, ns.IPAddress);
  await dockerOk(d, ['exec', 'net-a', 'ping', '-c', '1', '-W', '3', ipB]);
  assert.equal((await dockerOk(d, ['ps', '--filter', 'name=net-a', '--format', '{{.Networks}}'])).trim(), 'bridge');
});

test('outbound NAT: a container fetches from the Debian mirror', async () => {
  const out = await dockerOk(d, ['run', '--rm', 'busybox', 'sh', '-c', 'wget -S -O /dev/null http://deb.debian.org/debian/ 2>&1']);
  assert.match(out, /HTTP\/1\.1 200/);
});

test('--network none, host and container:<name> keep their meaning', async () => {
  const none = await dockerOk(d, ['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']);
  assert.deepEqual(none.trim().split('\n').map((l) => l.split(':')[1]!.trim()), ['lo']);
  const hostLinks = await dockerOk(d, ['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']);
  assert.match(hostLinks, new RegExp(`: ${BRIDGE}:`));
  const ipA = await ipOf('net-a');
  const joined = await dockerOk(d, ['run', '--rm', '--network', 'container:net-a', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
  assert.match(joined, new RegExp(`inet ${ipA.replace(/\./g, '\\.')}/`));
  const ns = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings}}', (await dockerOk(d, ['create', '--network', 'none', 'busybox'])).trim()]));
  assert.equal(ns.IPAddress, '');
});

test('a removed container leaves no veth and its address goes back to the pool', async () => {
  const id = (await dockerOk(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
  const veth = `vb${id.slice(0, 12)}`;
  assert.equal(sh('ip', ['link', 'show', veth]).status, 0, 'the host side of the veth exists');
  await dockerOk(d, ['rm', '-f', id]);
  for (let i = 0; i < 50 && sh('ip', ['link', 'show', veth]).status === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.notEqual(sh('ip', ['link', 'show', veth]).status, 0, 'the veth is gone');
  const stopped = (await dockerOk(d, ['run', '-d', 'busybox', 'true'])).trim();
  await dockerOk(d, ['wait', stopped]);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', stopped])).trim(), '');
});

test('IPAM survives a daemon restart: a live-restored container keeps its address and no one else gets it', async () => {
  const ipA = await ipOf('net-a');
  await stopDaemon(d);
  d = await startDaemon(d.extraArgs, d.root);
  assert.equal(await ipOf('net-a'), ipA);
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const out = await dockerOk(d, ['run', '--rm', 'busybox', 'sh', '-c', `ip -o -4 addr show eth0; ping -c 1 -W 3 ${ipA} >/dev/null && echo reached`]);
    const ip = /inet ([\d.]+)/.exec(out)![1]!;
    assert.notEqual(ip, ipA);
    assert.ok(!seen.has(ip), `round robin: ${ip} not handed out again at once`);
    seen.add(ip);
    assert.match(out, /reached/);
  }
  // The NAT table was replaced, not doubled.
  assert.equal(sh('nft', ['list', 'table', 'ip', TABLE]).stdout.match(/masquerade/g)?.length, 1);
});

test('without live restore, stopping the daemon removes the bridge and its nft table', async () => {
  await dockerOk(d, ['rm', '-f', 'net-a', 'net-b']);
  await stopDaemon(d);
  d = await startDaemon([...d.extraArgs.filter((a) => a !== '--live-restore')], d.root);
  assert.ok(bridgeAddr());
  await stopDaemon(d);
  assert.notEqual(sh('ip', ['link', 'show', BRIDGE]).status, 0, 'bridge removed');
  assert.notEqual(sh('nft', ['list', 'table', 'ip', TABLE]).status, 0, 'table removed');
});
