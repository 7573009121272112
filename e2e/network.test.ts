/**
 * Networking on the default bridge through the real `docker` CLI: a bridge on a free subnet,
 * a veth and an address per container, /etc/hosts, outbound NAT, inspect's NetworkSettings,
 * the none/host/container modes, IPAM across restarts, and clean-up of everything on the host.
 * Traffic goes only to containers this daemon made and to the sanctioned Debian mirror.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  startDaemon,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  startDaemonWithBusybox,
  freePort,
  type Daemon,
} from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

// A bridge of this test's own, so it never meets berth0 or another test's daemon.
const BRIDGE = `bnt${process.pid % 100000}`;
const TABLE = `berth_${BRIDGE}`;
let d: Daemon;
const dd = () => d;
const setD = (x: Daemon) => {
  d = x;
};

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });
const bridgeAddr = () => {
  const j = JSON.parse(sh('ip', ['-j', '-4', 'addr', 'show', 'dev', BRIDGE]).stdout || '[]') as Array<{
    addr_info: Array<{ local: string; prefixlen: number }>;
  }>;
  return j[0]?.addr_info[0];
};
const ipOf = async (name: string) =>
  (await dockerOk(d, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', name])).trim();

before(async () => (d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--live-restore'])));
after(() => cleanup(d));

test('the bridge gets a subnet no other route uses, and outbound NAT in its own nft table', () => {
  const a = bridgeAddr();
  assert.ok(a, `bridge ${BRIDGE} exists with an address`);
  const routes = sh('ip', ['-4', 'route', 'show'])
    .stdout.split('\n')
    .filter((l) => l && !l.includes(`dev ${BRIDGE}`) && !l.startsWith('default'));
  const octets = `${a.local.split('.').slice(0, 2).join('.')}.`;
  assert.ok(
    !routes.some((r) => r.startsWith(octets)),
    `no other route in ${a.local}/${a.prefixlen}: ${routes.join('; ')}`,
  );
  const table = sh('nft', ['list', 'table', 'ip', TABLE]).stdout;
  assert.match(table, /masquerade/);
  assert.match(table, new RegExp(`oifname != "${BRIDGE}"`));
});

test('a container gets eth0 on the bridge, a default route, its address in /etc/hosts, the host resolver', async () => {
  const a = bridgeAddr()!;
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--hostname',
    'box1',
    'busybox',
    'sh',
    '-c',
    'ip -o -4 addr show eth0; ip route; cat /etc/hosts; echo ---; cat /etc/resolv.conf',
  ]);
  const ip = /inet ([\d.]+)\/(\d+)/.exec(out);
  assert.ok(ip, out);
  assert.equal(Number(ip[2]), a.prefixlen);
  assert.match(out, new RegExp(`default via ${a.local.replace(/\./g, '\\.')} dev eth0`));
  assert.match(out, new RegExp(`^${ip[1]!.replace(/\./g, '\\.')}\\tbox1$`, 'm'));
  const resolv = out.split('---')[1]!;
  assert.match(resolv, /nameserver/);
  assert.doesNotMatch(resolv, /nameserver 127\./);
  // --domainname: the UTS domain, and the address answers for the full name too (as Docker writes it).
  const fq = await dockerOk(d, [
    'run',
    '--rm',
    '--hostname',
    'box2',
    '--domainname',
    'example.test',
    'busybox',
    'sh',
    '-c',
    'cat /proc/sys/kernel/domainname; hostname -f; tail -1 /etc/hosts',
  ]);
  assert.match(fq, /^example\.test\nbox2\.example\.test\n[\d.]+\tbox2\.example\.test box2\n$/);
});

test("inspect shows NetworkSettings in Docker's shape; containers reach each other; addresses differ", async () => {
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

test('outbound NAT: a container reaches a server off the bridge, which sees the host as the client', async () => {
  // "Elsewhere" is a network namespace of the test's own behind a veth pair: test traffic never
  // leaves the machine. The server answers with the address it sees the request come from.
  const ns = `bnnat${process.pid % 100000}`;
  const hv = `bnnh${process.pid % 100000}`;
  const net = await reserveSubnet();
  let server: ReturnType<typeof spawn> | undefined;
  try {
    for (const cmd of [
      ['netns', 'add', ns],
      ['link', 'add', hv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns],
      ['addr', 'add', `${net}.1/30`, 'dev', hv],
      ['link', 'set', hv, 'up'],
      ['-n', ns, 'addr', 'add', `${net}.2/30`, 'dev', 'eth0'],
      ['-n', ns, 'link', 'set', 'eth0', 'up'],
    ]) {
      const r = sh('ip', cmd);
      assert.equal(r.status, 0, `ip ${cmd.join(' ')}: ${r.stderr}`);
    }
    server = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        `require('http').createServer((q, r) => r.end(q.socket.remoteAddress)).listen(8081, '${net}.2', () => console.log('up'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const started = server;
    await new Promise<void>((res, rej) => {
      started.stdout!.once('data', () => res());
      started.once('exit', (code) => rej(new Error(`the test's server exited with ${code}`)));
    });
    const seen = await dockerOk(d, ['run', '--rm', 'busybox', 'wget', '-q', '-O', '-', `http://${net}.2:8081/`]);
    assert.equal(seen, `${net}.1`, 'the request arrives from the host, masqueraded, not from the container');
  } finally {
    server?.kill();
    sh('ip', ['link', 'del', hv]);
    sh('ip', ['netns', 'del', ns]);
  }
});

test('--network none, host and container:<name> keep their meaning', async () => {
  const none = await dockerOk(d, ['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']);
  assert.deepEqual(
    none
      .trim()
      .split('\n')
      .map((l) => l.split(':')[1]!.trim()),
    ['lo'],
  );
  const hostLinks = await dockerOk(d, ['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']);
  assert.match(hostLinks, new RegExp(`: ${BRIDGE}:`));
  const ipA = await ipOf('net-a');
  const joined = await dockerOk(d, [
    'run',
    '--rm',
    '--network',
    'container:net-a',
    'busybox',
    'ip',
    '-o',
    '-4',
    'addr',
    'show',
    'eth0',
  ]);
  assert.match(joined, new RegExp(`inet ${ipA.replace(/\./g, '\\.')}/`));
  const ns = JSON.parse(
    await dockerOk(d, [
      'inspect',
      '-f',
      '{{json .NetworkSettings}}',
      (await dockerOk(d, ['create', '--network', 'none', 'busybox'])).trim(),
    ]),
  );
  assert.equal(ns.IPAddress, '');
});

test('a removed container leaves no veth and its address goes back to the pool', async () => {
  const id = (await dockerOk(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
  const veth = `vb${id.slice(0, 12)}`;
  assert.equal(sh('ip', ['link', 'show', veth]).status, 0, 'the host side of the veth exists');
  await dockerOk(d, ['rm', '-f', id]);
  for (let i = 0; i < 50 && sh('ip', ['link', 'show', veth]).status === 0; i++)
    await new Promise((r) => setTimeout(r, 100));
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
    const out = await dockerOk(d, [
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      `ip -o -4 addr show eth0; ping -c 1 -W 3 ${ipA} >/dev/null && echo reached`,
    ]);
    const ip = /inet ([\d.]+)/.exec(out)![1]!;
    assert.notEqual(ip, ipA);
    assert.ok(!seen.has(ip), `round robin: ${ip} not handed out again at once`);
    seen.add(ip);
    assert.match(out, /reached/);
  }
  // The NAT table was replaced, not doubled.
  assert.equal(sh('nft', ['list', 'table', 'ip', TABLE]).stdout.match(/masquerade/g)?.length, 1);
});

// ---- published ports ----

/** An HTTP GET, tried again while the connection fails: `run -d` returns before httpd listens. */
const get = async (port: number, path = '/hostname', host = '127.0.0.1', patienceMs = 10_000): Promise<string> => {
  for (const until = Date.now() + patienceMs; ; await new Promise((r) => setTimeout(r, 100))) {
    try {
      return await (await fetch(`http://${host}:${port}${path}`)).text();
    } catch (e) {
      if (Date.now() > until) throw e;
    }
  }
};
const HTTPD = ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'];

test('published ports: -p H:80 and -p 127.0.0.1:H:80 answer on loopback; inspect, ps and docker port show them', async () => {
  const d = dd();
  const [p1, p2] = [await freePort(), await freePort()];
  const id = (
    await dockerOk(d, ['run', '-d', '--name', 'web', '-p', `${p1}:80`, '-p', `127.0.0.1:${p2}:80`, ...HTTPD])
  ).trim();
  assert.equal((await get(p1)).trim(), id.slice(0, 12));
  assert.equal((await get(p2)).trim(), id.slice(0, 12));
  const ports = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web']));
  // -p H:80 has no address: dockerd's pair, 0.0.0.0 and [::] on the same port.
  assert.deepEqual(ports['80/tcp'], [
    { HostIp: '0.0.0.0', HostPort: String(p1) },
    { HostIp: '::', HostPort: String(p1) },
    { HostIp: '127.0.0.1', HostPort: String(p2) },
  ]);
  assert.deepEqual((await dockerOk(d, ['port', 'web'])).trim().split('\n'), [
    `80/tcp -> 0.0.0.0:${p1}`,
    `80/tcp -> 127.0.0.1:${p2}`,
    `80/tcp -> [::]:${p1}`,
  ]);
  assert.equal((await dockerOk(d, ['port', 'web', '80'])).trim().split('\n')[0], `0.0.0.0:${p1}`);
  assert.equal(
    (await dockerOk(d, ['ps', '--filter', 'name=web', '--format', '{{.Ports}}'])).trim(),
    `0.0.0.0:${p1}->80/tcp, 127.0.0.1:${p2}->80/tcp, [::]:${p1}->80/tcp`,
  );
});

test("a host port already taken gets Docker's error and the container stays created", async () => {
  const d = dd();
  const p1 = Number(
    JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web']))['80/tcp'][0].HostPort,
  );
  const r = await docker(d, ['run', '--name', 'web2', '-p', `${p1}:80`, 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(
    r.stderr,
    new RegExp(
      `driver failed programming external connectivity on endpoint web2 \\([0-9a-f]+\\): Bind for 0.0.0.0:${p1} failed: port is already allocated`,
    ),
  );
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', 'web2'])).trim(), 'created');
  // A port some other program holds on the host.
  const net = await import('node:net');
  const holder = net.createServer();
  const held = await new Promise<number>((res) =>
    holder.listen(0, '127.0.0.1', () => res((holder.address() as { port: number }).port)),
  );
  try {
    const r2 = await docker(d, ['run', '--rm', '-p', `127.0.0.1:${held}:80`, 'busybox', 'true']);
    assert.equal(r2.code, 125);
    assert.match(
      r2.stderr,
      new RegExp(`Error starting userland proxy: listen tcp4 127.0.0.1:${held}: bind: address already in use`),
    );
  } finally {
    holder.close();
  }
  await dockerOk(d, ['rm', 'web2']);
});

test('a host port range takes the first free port; -P publishes the exposed ports on random ones; udp', async () => {
  const d = dd();
  const base = await freePort();
  const taken = Number(
    JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web']))['80/tcp'][0].HostPort,
  );
  const id = (await dockerOk(d, ['run', '-d', '--name', 'ranged', '-p', `${taken}-${taken + 1}:80`, ...HTTPD])).trim();
  assert.equal((await dockerOk(d, ['port', 'ranged', '80/tcp'])).trim(), `0.0.0.0:${taken + 1}\n[::]:${taken + 1}`);
  assert.equal((await get(taken + 1)).trim(), id.slice(0, 12));
  // (UDP forwarding itself is tested in src/network/ports.test.ts: busybox has no UDP server.)
  await dockerOk(d, ['run', '-d', '--name', 'all', '--expose', '80', '--expose', '5353/udp', '-P', ...HTTPD]);
  const ports = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'all']));
  const tcp = Number(ports['80/tcp'][0].HostPort);
  const udp = Number(ports['5353/udp'][0].HostPort);
  assert.ok(tcp > 1024 && udp > 1024, JSON.stringify(ports));
  assert.match(await get(tcp), /^[0-9a-f]{12}/);
  assert.equal((await dockerOk(d, ['port', 'all', '5353/udp'])).trim(), `0.0.0.0:${udp}\n[::]:${udp}`);
  const fixed = (
    await dockerOk(d, ['run', '-d', '--name', 'udp1', '-p', `127.0.0.1:${base}:53/udp`, 'busybox', 'sleep', '60'])
  ).trim();
  assert.equal(
    (await dockerOk(d, ['ps', '--filter', `id=${fixed}`, '--format', '{{.Ports}}'])).trim(),
    `127.0.0.1:${base}->53/udp`,
  );
  await dockerOk(d, ['rm', '-f', 'ranged', 'all', 'udp1']);
});

test('published ports keep answering after a live-restore daemon restart, and go with the container', async () => {
  let d = dd();
  const p1 = Number(
    JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web']))['80/tcp'][0].HostPort,
  );
  await stopDaemon(d);
  d = await startDaemon(d.extraArgs, d.root);
  setD(d);
  assert.match(await get(p1), /^[0-9a-f]{12}/);
  await dockerOk(d, ['rm', '-f', 'web']);
  await assert.rejects(get(p1, '/hostname', '127.0.0.1', 0));
});

test('from outside the host a container answers only on what it publishes', async () => {
  // "Outside": a network namespace of the test's own, routed to the host over a veth pair.
  const ns = `bnout${process.pid % 100000}`;
  const hv = `bnoh${process.pid % 100000}`;
  const net = await reserveSubnet();
  const ipn = (...a: string[]) => sh('ip', ['netns', 'exec', ns, ...a]);
  const id = (
    await dockerOk(d, ['run', '-d', '-p', '0.0.0.0::80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])
  ).trim();
  try {
    const ip = (await dockerOk(d, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', id])).trim();
    const port = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', id]))['80/tcp'][0]
      .HostPort;
    for (const cmd of [
      ['netns', 'add', ns],
      ['link', 'add', hv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns],
      ['addr', 'add', `${net}.1/30`, 'dev', hv],
      ['link', 'set', hv, 'up'],
      ['-n', ns, 'addr', 'add', `${net}.2/30`, 'dev', 'eth0'],
      ['-n', ns, 'link', 'set', 'eth0', 'up'],
      ['-n', ns, 'link', 'set', 'lo', 'up'],
      ['-n', ns, 'route', 'add', `${ip}/32`, 'via', `${net}.1`],
    ]) {
      const r = sh('ip', cmd);
      assert.equal(r.status, 0, `ip ${cmd.join(' ')}: ${r.stderr}`);
    }
    const published = ipn('curl', '-s', '-m', '5', `http://${net}.1:${port}/hostname`);
    assert.equal(
      published.stdout.trim(),
      id.slice(0, 12),
      `the published port answers from outside: ${published.stderr}`,
    );
    const direct = ipn('curl', '-s', '-m', '3', `http://${ip}:80/hostname`);
    assert.notEqual(direct.status, 0, 'the private address does not');
    // While from the host itself it does (as with Docker).
    assert.equal((await get(80, '/hostname', ip)).trim(), id.slice(0, 12));
  } finally {
    sh('ip', ['link', 'del', hv]);
    sh('ip', ['netns', 'del', ns]);
    await dockerOk(d, ['rm', '-f', id]);
  }
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
