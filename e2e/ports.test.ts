/**
 * Published ports through the real `docker` CLI: -p host:container, an address, a random port,
 * /udp, ranges, -P over exposed ports, `docker port`, Docker's error for a taken port, clean-up
 * after rm, and a live-restored daemon listening again. Traffic goes only to loopback.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  startDaemon,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  eventually,
  startDaemonWithBusybox,
  type Daemon,
} from './harness.ts';

const BRIDGE = `bpt${process.pid % 100000}`;
let d: Daemon;
// Host ports unlikely to be used by anything else on the machine.
const base = 20000 + (process.pid % 20000);

const curl = (url: string) => spawnSync('curl', ['-s', '--max-time', '3', url], { encoding: 'utf8' });
/** The page at the URL once it answers ('' if it never does). */
const page = (url: string) =>
  eventually(() => {
    const r = curl(url);
    return r.status === 0 ? r.stdout : '';
  });
const httpd = [
  'sh',
  '-c',
  'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www',
];

before(async () => (d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--live-restore'])));
after(() => cleanup(d));

test("-p host:80 serves the container's web server on loopback; docker port and inspect show it", async () => {
  await dockerOk(d, ['run', '-d', '--name', 'web', '--hostname', 'web1', '-p', `${base}:80`, 'busybox', ...httpd]);
  const body = await page(`http://127.0.0.1:${base}/`);
  assert.equal(body.trim(), 'hello from web1');
  // No host address: IPv4 and IPv6 on the same port, as dockerd's proxy pair.
  assert.equal((await dockerOk(d, ['port', 'web'])).trim(), `80/tcp -> 0.0.0.0:${base}\n80/tcp -> [::]:${base}`);
  const ports = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web']));
  assert.deepEqual(ports, {
    '80/tcp': [
      { HostIp: '0.0.0.0', HostPort: String(base) },
      { HostIp: '::', HostPort: String(base) },
    ],
  });
  // The CLI writes the IPv6 wildcard as [::] (28.x) or :: (20.10's): the API's HostIp is "::" either way.
  assert.match(
    await dockerOk(d, ['ps', '--filter', 'name=web', '--format', '{{.Ports}}']),
    new RegExp(`^0\\.0\\.0\\.0:${base}->80/tcp, (\\[::\\]|::):${base}->80/tcp$`, 'm'),
  );
  assert.equal((await page(`http://[::1]:${base}/`)).trim(), 'hello from web1');
});

test("a port already allocated gets Docker's error and the container stays created", async () => {
  const r = await docker(d, ['run', '-d', '--name', 'web2', '-p', `${base}:80`, 'busybox', ...httpd]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${base} failed: port is already allocated`));
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', 'web2'])).trim(), 'created');
  await dockerOk(d, ['rm', 'web2']);
  // A port some other process holds: the bind's own error.
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(base + 50, '127.0.0.1', res));
  try {
    const r2 = await docker(d, ['run', '--rm', '-p', `127.0.0.1:${base + 50}:80`, 'busybox', 'true']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /address already in use/);
  } finally {
    srv.close();
  }
});

test("127.0.0.1::80 takes a random port on loopback only; -P publishes --expose'd ports; ranges", async () => {
  await dockerOk(d, ['run', '-d', '--name', 'lo', '-p', '127.0.0.1::80', 'busybox', ...httpd]);
  const m = /^80\/tcp -> 127\.0\.0\.1:(\d+)$/.exec((await dockerOk(d, ['port', 'lo'])).trim());
  assert.ok(m);
  const body = await page(`http://127.0.0.1:${m[1]}/`);
  assert.match(body, /hello from/);

  await dockerOk(d, ['run', '-d', '--name', 'pall', '--expose', '80', '--expose', '81', '-P', 'busybox', ...httpd]);
  const all = (await dockerOk(d, ['port', 'pall'])).trim().split('\n').sort();
  assert.equal(all.length, 4, all.join('\n'));
  assert.match(all[0]!, /^80\/tcp -> 0\.0\.0\.0:\d+$/);
  assert.match(all[1]!, /^80\/tcp -> \[::\]:\d+$/);
  assert.match(all[2]!, /^81\/tcp -> 0\.0\.0\.0:\d+$/);
  const p80 = /:(\d+)$/.exec(all[0]!)![1];
  assert.match(await page(`http://127.0.0.1:${p80}/`), /hello from/);

  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'rng',
    '-p',
    `${base + 10}-${base + 11}:80-81`,
    '-p',
    `127.0.0.1:${base + 12}:53/udp`,
    'busybox',
    'sleep',
    '300',
  ]);
  const rng = (await dockerOk(d, ['port', 'rng'])).trim().split('\n').sort();
  assert.deepEqual(rng, [
    `53/udp -> 127.0.0.1:${base + 12}`,
    `80/tcp -> 0.0.0.0:${base + 10}`,
    `80/tcp -> [::]:${base + 10}`,
    `81/tcp -> 0.0.0.0:${base + 11}`,
    `81/tcp -> [::]:${base + 11}`,
  ]);
  assert.match(
    spawnSync('ss', ['-Hlun', `sport = :${base + 12}`], { encoding: 'utf8' }).stdout,
    new RegExp(`127\\.0\\.0\\.1:${base + 12}`),
  );
  await dockerOk(d, ['rm', '-f', 'lo', 'pall', 'rng']);
});

test("-p 8081 takes a port from the kernel's ephemeral range on both families as dockerd's; -p 0.0.0.0::80 stays one line", async () => {
  await dockerOk(d, ['run', '-d', '--name', 'eph1', '-p', '8081', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['run', '-d', '--name', 'eph2', '-p', '8081', '-p', '0.0.0.0::80', 'busybox', 'sleep', '300']);
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const m = /^8081\/tcp -> 0\.0\.0\.0:(\d+)\n8081\/tcp -> \[::\]:(\d+)$/.exec(
      (await dockerOk(d, ['port', 'eph1'])).trim(),
    );
    assert.ok(m, 'two lines, IPv4 and IPv6');
    assert.equal(m[1], m[2], 'the same host port on both');
    const p1 = Number(m[1]);
    assert.ok(p1 >= lo! && p1 <= hi!, `${p1} in ${lo}-${hi}`);
    const two = (await dockerOk(d, ['port', 'eph2'])).trim().split('\n').sort();
    assert.equal(two.length, 3, two.join('\n'));
    assert.match(two[0]!, /^80\/tcp -> 0\.0\.0\.0:\d+$/, 'an address given: that address alone');
    const p2 = Number(/:(\d+)$/.exec(two[1]!)![1]);
    assert.ok(p2 > p1, `counts up from the last port given (${p1}, then ${p2})`);
    assert.match(
      await dockerOk(d, ['ps', '--filter', 'name=eph1', '--format', '{{.Ports}}']),
      new RegExp(`^0\\.0\\.0\\.0:${p1}->8081/tcp, (\\[::\\]|::):${p1}->8081/tcp$`, 'm'),
    );
    // Both listeners answer on loopback (nothing listens on 8081 inside: the proxy accepts, then closes).
    for (const host of ['127.0.0.1', '::1'])
      await new Promise<void>((res, rej) => net.connect({ host, port: p1 }, res).on('error', rej).unref());
  } finally {
    await dockerOk(d, ['rm', '-f', 'eph1', 'eph2']);
  }
});

test('a stopped container on a user network started again publishes its ports, and inspect and ps show them', async () => {
  await dockerOk(d, ['network', 'create', 'pubnet']);
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'again',
    '--network',
    'pubnet',
    '-p',
    `127.0.0.1:${base + 30}:80`,
    'busybox',
    ...httpd,
  ]);
  await dockerOk(d, ['stop', '-t', '0', 'again']);
  // Not prepared ahead as `docker run` is: the start itself allocates the endpoint.
  await dockerOk(d, ['start', 'again']);
  assert.match(await page(`http://127.0.0.1:${base + 30}/`), /hello from/);
  assert.equal((await dockerOk(d, ['port', 'again'])).trim(), `80/tcp -> 127.0.0.1:${base + 30}`);
  assert.deepEqual(JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'again'])), {
    '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(base + 30) }],
  });
  assert.match(await dockerOk(d, ['ps', '--filter', 'name=again']), new RegExp(`127\\.0\\.0\\.1:${base + 30}->80/tcp`));
  await dockerOk(d, ['rm', '-f', 'again']);
  await dockerOk(d, ['network', 'rm', 'pubnet']);
});

test('UDP datagrams reach the container through the published port and answers come back', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${base + 20}:5353/udp`, 'busybox', 'sleep', '300']);
  // busybox has no UDP server: an echo server of the test's own, inside the container's network namespace.
  const pid = (await dockerOk(d, ['inspect', '-f', '{{.State.Pid}}', 'udp'])).trim();
  const server = spawn(
    'nsenter',
    [
      '-t',
      pid,
      '-n',
      'timeout',
      '20',
      'python3',
      '-c',
      'import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",5353))\nprint("ready",flush=True)\nm,a=s.recvfrom(100)\ns.sendto(b"got-"+m,a)',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((res) => server.stdout.once('data', res));
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  try {
    const reply = await new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error('no reply')), 5000);
      s.once('message', (m) => {
        clearTimeout(t);
        res(m.toString());
      });
      s.send('ping', base + 20, '127.0.0.1');
    });
    assert.equal(reply, 'got-ping');
  } finally {
    s.close();
    if (server.exitCode === null) server.kill();
    await dockerOk(d, ['rm', '-f', 'udp']);
  }
});

test('a live-restored daemon serves the published port again; rm frees it', async () => {
  await stopDaemon(d);
  d = await startDaemon(d.extraArgs, d.root);
  const body = await page(`http://127.0.0.1:${base}/`);
  assert.equal(body.trim(), 'hello from web1');
  await dockerOk(d, ['rm', '-f', 'web']);
  assert.notEqual(curl(`http://127.0.0.1:${base}/`).status, 0, 'nothing listens after rm');
  // The port is free for the next container.
  await dockerOk(d, ['run', '-d', '--name', 'web3', '-p', `${base}:80`, 'busybox', ...httpd]);
  assert.match(await page(`http://127.0.0.1:${base}/`), /hello from/);
  await dockerOk(d, ['rm', '-f', 'web3']);
});

test('docker ps filters by network, published and exposed port, and is-task, as dockerd', async () => {
  const names = async (...filters: string[]) =>
    (await dockerOk(d, ['ps', ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Names}}']))
      .split('\n')
      .filter(Boolean)
      .sort();
  await dockerOk(d, ['network', 'create', 'psnet']);
  await dockerOk(d, ['run', '-d', '--name', 'ps-pub', '-p', `127.0.0.1:${base + 60}:80`, 'busybox', 'sleep', '600']);
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'ps-user',
    '--network',
    'psnet',
    '--expose',
    '53/udp',
    '--expose',
    '8080',
    'busybox',
    'sleep',
    '600',
  ]);
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'ps-none',
    '--network',
    'none',
    '--expose',
    '90',
    'busybox',
    'sleep',
    '600',
  ]);
  try {
    const netId = (await dockerOk(d, ['network', 'inspect', '-f', '{{.Id}}', 'psnet'])).trim();
    assert.deepEqual(await names('network=psnet'), ['ps-user']);
    assert.deepEqual(await names(`network=${netId.slice(0, 6)}`), ['ps-user'], 'a prefix of the ID');
    assert.deepEqual(await names('network=none'), ['ps-none']);
    assert.deepEqual(await names('network=nosuch'), []);
    assert.deepEqual(await names(`publish=${base + 60}`), ['ps-pub']);
    assert.deepEqual(await names(`publish=${base + 60}/udp`), []);
    assert.deepEqual(await names('expose=80'), ['ps-pub']);
    assert.deepEqual(await names('expose=8080/tcp'), ['ps-user']);
    assert.deepEqual(await names('expose=50-60/udp'), ['ps-user'], 'a range');
    assert.deepEqual(await names('expose=53'), [], 'TCP when no protocol is given');
    // Without a network of its own a container shows no ports, exposed or not (as dockerd's).
    assert.deepEqual(await names('expose=90'), []);
    assert.equal(await dockerOk(d, ['ps', '--filter', 'name=ps-none', '--format', '{{.Ports}}']), '\n');
    assert.deepEqual(await names('is-task=true'), [], 'no swarm tasks here');
    assert.ok((await names('is-task=false')).includes('ps-none'));
    const colon = await docker(d, ['ps', '--filter', 'expose=a:b']);
    assert.match(colon.stderr, /filter for 'expose' should not contain ':': a:b/);
  } finally {
    await dockerOk(d, ['rm', '-f', 'ps-pub', 'ps-user', 'ps-none']);
    await dockerOk(d, ['network', 'rm', 'psnet']);
  }
});
