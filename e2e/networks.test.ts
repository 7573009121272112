/**
 * User-defined networks through the real `docker` CLI: create/ls/inspect/rm/prune, containers
 * resolving each other by name and alias through the embedded DNS, isolation between networks,
 * connect/disconnect of a running container, --ip, --internal, --link on the default bridge,
 * network events, and a live-restored daemon answering names again. Traffic goes only to
 * containers this daemon made.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  startDaemon,
  stopDaemon,
  cleanup,
  eventually,
  docker,
  dockerOk,
  bootstrapBusybox,
  startDaemonWithBusybox,
  type Daemon,
} from './harness.ts';

const BRIDGE = `bnw${process.pid % 100000}`;
let d: Daemon;
const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });
const inspectNet = async (n: string) => JSON.parse(await dockerOk(d, ['network', 'inspect', n]))[0];
const ipOn = async (c: string, n: string) =>
  (await dockerOk(d, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${n}").IPAddress}}`, c])).trim();
// Subnets of this test's own (the pid keeps concurrent runs apart).
const octet = 100 + (process.pid % 100);

before(async () => (d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--live-restore'])));
after(async () => {
  if (d) {
    await docker(d, ['rm', '-f', 'aa', 'cc', 'web', 'q6']);
    for (const n of ['n1', 'n2', 'n3', 'inner', 'quiet6']) await docker(d, ['network', 'rm', n]);
  }
  await cleanup(d);
});

test("network create/ls/inspect in Docker's shape; a name taken or reserved is refused", async () => {
  const id = (
    await dockerOk(d, [
      'network',
      'create',
      '--subnet',
      `10.${octet}.7.0/24`,
      '--gateway',
      `10.${octet}.7.254`,
      '--label',
      'team=net',
      'n1',
    ])
  ).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const n = await inspectNet('n1');
  assert.equal(n.Id, id);
  assert.equal(n.Driver, 'bridge');
  assert.equal(n.Scope, 'local');
  assert.deepEqual(n.IPAM.Config, [{ Subnet: `10.${octet}.7.0/24`, Gateway: `10.${octet}.7.254` }]);
  assert.deepEqual(n.Labels, { team: 'net' });
  assert.equal(n.Internal, false);
  const bridgeIf = `bn-${id.slice(0, 12)}`;
  assert.match(sh('ip', ['-4', 'addr', 'show', 'dev', bridgeIf]).stdout, new RegExp(`inet 10\\.${octet}\\.7\\.254/24`));
  const ls = await dockerOk(d, ['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
  for (const line of ['bridge bridge', 'host host', 'none null', 'n1 bridge'])
    assert.ok(ls.split('\n').includes(line), ls);
  assert.match((await docker(d, ['network', 'create', 'n1'])).stderr, /network with name n1 already exists/);
  assert.match((await docker(d, ['network', 'create', 'host'])).stderr, /pre-defined network/);
  assert.match(
    (await docker(d, ['network', 'rm', 'bridge'])).stderr,
    /bridge is a pre-defined network and cannot be removed/,
  );
  // A subnet of its own, clashing with nothing routed.
  await dockerOk(d, ['network', 'create', 'n2']);
  const sub2 = (await inspectNet('n2')).IPAM.Config[0].Subnet as string;
  assert.notEqual(sub2, `10.${octet}.7.0/24`);
  // As dockerd: a network that is not there fails the start, not the create (whose 404 the
  // CLI would answer with a pull of the image); with --rm nothing is left.
  const before = await dockerOk(d, ['ps', '-aq']);
  const r = await docker(d, ['run', '--rm', '--network', 'nosuch', 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /^docker: Error response from daemon: network nosuch not found/m);
  assert.doesNotMatch(r.stderr, /Unable to find image|Error waiting/);
  await eventually(async () => (await dockerOk(d, ['ps', '-aq'])) === before);
  assert.equal(await dockerOk(d, ['ps', '-aq']), before, '--rm removed the container');
  // Made after the create, the network is the one the start finds.
  const early = (await dockerOk(d, ['create', '--network', 'made-later', 'busybox', 'echo', 'found it'])).trim();
  const created = await docker(d, ['start', early]);
  assert.match(created.stderr, /network made-later not found/);
  await dockerOk(d, ['network', 'create', 'made-later']);
  assert.equal(await dockerOk(d, ['start', '-a', early]), 'found it\n');
  await dockerOk(d, ['rm', early]);
  await dockerOk(d, ['network', 'rm', 'made-later']);
});

test('containers on a user network resolve each other by name and alias; other networks cannot reach them', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'aa',
    '--network',
    'n1',
    '--network-alias',
    'alpha',
    'busybox',
    'sleep',
    '300',
  ]);
  const ipA = await ipOn('aa', 'n1');
  assert.match(ipA, new RegExp(`^10\\.${octet}\\.7\\.`));
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--network',
    'n1',
    'busybox',
    'sh',
    '-c',
    'cat /etc/resolv.conf; ping -c 1 -W 3 aa && ping -c 1 -W 3 alpha && nslookup alpha',
  ]);
  assert.match(out, new RegExp(`nameserver 10\\.${octet}\\.7\\.254`));
  assert.match(out, new RegExp(`PING aa \\(${ipA.replace(/\./g, '\\.')}\\)`));
  assert.match(out, new RegExp(`PING alpha \\(${ipA.replace(/\./g, '\\.')}\\)`));
  // --dns on a user network: the embedded DNS stays the nameserver (and forwards to --dns).
  // (Loopback as the --dns server: nothing the test makes leaves the host.)
  const withDns = (
    await docker(d, [
      'run',
      '--rm',
      '--network',
      'n1',
      '--dns',
      '127.0.0.1',
      '--dns-option',
      'ndots:0',
      '--dns-search',
      'example.test',
      'busybox',
      'sh',
      '-c',
      'cat /etc/resolv.conf; ping -c 1 -W 3 alpha >/dev/null && echo reached',
    ])
  ).stdout;
  assert.match(withDns, new RegExp(`^nameserver 10\\.${octet}\\.7\\.254$`, 'm'));
  assert.doesNotMatch(withDns, /nameserver 127\.0\.0\.1/);
  assert.match(withDns, /^options ndots:0$/m);
  assert.match(withDns, /^search example\.test$/m);
  assert.match(withDns, /reached/);
  // An alias two containers share (a Compose service scaled to 2) answers with both addresses.
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'ab',
    '--network',
    'n1',
    '--network-alias',
    'alpha',
    'busybox',
    'sleep',
    '300',
  ]);
  const ipB = await ipOn('ab', 'n1');
  const both = await dockerOk(d, ['run', '--rm', '--network', 'n1', 'busybox', 'nslookup', 'alpha']);
  const answered = [...both.matchAll(/^Address: (\S+)$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(answered, [ipA, ipB].sort(), both);
  await dockerOk(d, ['rm', '-f', 'ab']);
  const n = await inspectNet('n1');
  const [cid] = Object.keys(n.Containers);
  assert.equal(n.Containers[cid!].Name, 'aa');
  assert.equal(n.Containers[cid!].IPv4Address, `${ipA}/24`);
  // From another network: neither the name nor the address.
  const other = await docker(d, [
    'run',
    '--rm',
    '--network',
    'n2',
    'busybox',
    'sh',
    '-c',
    `ping -c 1 -W 2 ${ipA} >/dev/null && echo reached; nslookup aa >/dev/null 2>&1 && echo resolved; true`,
  ]);
  assert.doesNotMatch(other.stdout, /reached|resolved/);
  const fromBridge = await docker(d, [
    'run',
    '--rm',
    'busybox',
    'sh',
    '-c',
    `ping -c 1 -W 2 ${ipA} >/dev/null && echo reached; true`,
  ]);
  assert.doesNotMatch(fromBridge.stdout, /reached/);
});

test('--ip takes the asked address; network connect/disconnect of a running container', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'cc', '--network', 'n2', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['network', 'connect', '--alias', 'gamma', 'n1', 'cc']);
  const nets = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'cc']));
  assert.deepEqual(Object.keys(nets).sort(), ['n1', 'n2']);
  assert.match(
    await dockerOk(d, ['exec', 'cc', 'ip', '-o', '-4', 'addr', 'show', 'eth1']),
    new RegExp(`inet 10\\.${octet}\\.7\\.`),
  );
  assert.match(await dockerOk(d, ['exec', 'cc', 'ping', '-c', '1', '-W', '3', 'aa']), /1 packets received/);
  assert.match(await dockerOk(d, ['exec', 'aa', 'ping', '-c', '1', '-W', '3', 'gamma']), /1 packets received/);
  assert.match((await docker(d, ['network', 'rm', 'n1'])).stderr, /has active endpoints/);
  await dockerOk(d, ['network', 'disconnect', 'n1', 'cc']);
  assert.notEqual((await docker(d, ['exec', 'cc', 'ip', 'link', 'show', 'eth1'])).code, 0, 'eth1 gone');
  assert.deepEqual(
    Object.keys(JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'cc']))),
    ['n2'],
  );
  const fixed = `10.${octet}.7.77`;
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--network',
    'n1',
    '--ip',
    fixed,
    'busybox',
    'ip',
    '-o',
    '-4',
    'addr',
    'show',
    'eth0',
  ]);
  assert.match(out, new RegExp(`inet ${fixed.replace(/\./g, '\\.')}/24`));
  await dockerOk(d, ['rm', '-f', 'cc']);
});

test('--internal gets no NAT and is cut off from other bridges; --link on the default bridge', async () => {
  const id = (await dockerOk(d, ['network', 'create', '--internal', 'inner'])).trim();
  assert.equal((await inspectNet('inner')).Internal, true);
  const table = sh('nft', ['list', 'table', 'ip', `berth_${BRIDGE}_nets`]).stdout;
  const br = `bn-${id.slice(0, 12)}`;
  assert.match(table, new RegExp(`iifname "${br}" oifname != "${br}" drop`));
  assert.doesNotMatch(table, new RegExp(`oifname != "${br}" masquerade`));
  await dockerOk(d, ['network', 'rm', 'inner']);
  assert.notEqual(sh('ip', ['link', 'show', br]).status, 0, 'bridge removed with the network');

  await dockerOk(d, ['run', '-d', '--name', 'web', '--expose', '80', '-e', 'ROLE=server', 'busybox', 'sleep', '300']);
  const ipWeb = (await dockerOk(d, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web'])).trim();
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--name',
    'client',
    '--link',
    'web:db',
    'busybox',
    'sh',
    '-c',
    'cat /etc/hosts; env; ping -c 1 -W 3 db >/dev/null && echo reached-db',
  ]);
  assert.match(out, new RegExp(`^${ipWeb.replace(/\./g, '\\.')}\\tdb\\b.*\\bweb\\b`, 'm'));
  assert.match(out, new RegExp(`^DB_PORT_80_TCP_ADDR=${ipWeb.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(out, /^DB_NAME=\/client\/db$/m);
  assert.match(out, /^DB_ENV_ROLE=server$/m);
  assert.match(out, /reached-db/);
  await dockerOk(d, ['rm', '-f', 'web']);
});

test('docker rm --link removes a legacy link: gone from the config and from the next start', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'linked', 'busybox', 'sleep', '300']);
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'parent',
    '--link',
    'linked:alias1',
    '--link',
    'linked',
    'busybox',
    'sleep',
    '300',
  ]);
  try {
    assert.match(await dockerOk(d, ['exec', 'parent', 'cat', '/etc/hosts']), /\talias1\b/);
    const links = async () =>
      (JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .HostConfig.Links}}', 'parent'])) as string[]).sort();
    assert.deepEqual(await links(), ['/linked:/parent/alias1', '/linked:/parent/linked'], "dockerd's full paths");
    assert.equal((await dockerOk(d, ['rm', '--link', '/parent/alias1'])).trim(), '/parent/alias1');
    assert.deepEqual(await links(), ['/linked:/parent/linked']);
    await dockerOk(d, ['restart', '-t', '0', 'parent']);
    const hosts = await dockerOk(d, ['exec', 'parent', 'cat', '/etc/hosts']);
    assert.doesNotMatch(hosts, /alias1/);
    assert.match(hosts, /\tlinked\b/, 'the other link stays');
    // dockerd's answers: a link the parent does not have, and a container's own name.
    assert.match((await docker(d, ['rm', '--link', '/parent/nosuch'])).stderr, /No such container: parent\/nosuch/);
    const own = await docker(d, ['rm', '--link', 'linked']);
    assert.match(own.stderr, /Conflict, cannot remove the default link name of the container/);
    assert.match(await dockerOk(d, ['ps', '--filter', 'name=linked', '--format', '{{.Status}}']), /^Up /);
  } finally {
    await docker(d, ['rm', '-f', 'parent', 'linked']);
  }
});

test('a live-restored daemon answers names again; prune removes unused networks; events', async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  await stopDaemon(d);
  d = await startDaemon(d.extraArgs, d.root);
  assert.match(
    await dockerOk(d, ['run', '--rm', '--network', 'n1', 'busybox', 'ping', '-c', '1', '-W', '3', 'alpha']),
    /1 packets received/,
  );
  await dockerOk(d, ['network', 'create', 'n3']);
  await dockerOk(d, ['rm', '-f', 'aa']);
  const ids = await Promise.all(['n1', 'n2', 'n3'].map(async (n) => (await inspectNet(n)).Id as string));
  const pruned = await dockerOk(d, ['network', 'prune', '-f']);
  for (const n of ['n1', 'n2', 'n3']) assert.match(pruned, new RegExp(`^${n}$`, 'm'));
  assert.doesNotMatch(await dockerOk(d, ['network', 'ls', '--format', '{{.Name}}']), /^n[123]$/m);
  const ev = await dockerOk(d, [
    'events',
    '--since',
    since,
    '--until',
    String(Math.floor(Date.now() / 1000) + 1),
    '--filter',
    'type=network',
    '--format',
    '{{.Action}} {{.Actor.Attributes.name}}',
  ]);
  assert.match(ev, /^create n3$/m);
  assert.match(ev, /^destroy n1$/m);
  // Nothing of the user networks is left on the host.
  const links = sh('ip', ['-o', 'link', 'show']).stdout;
  for (const id of ids) assert.ok(!links.includes(`bn-${id.slice(0, 12)}`), `bridge of ${id.slice(0, 12)} removed`);
  assert.notEqual(
    sh('nft', ['list', 'table', 'ip', `berth_${BRIDGE}_nets`]).status,
    0,
    'the table goes with the last network',
  );
});

test('--mac-address on the default bridge and on a user network', async () => {
  const mac = '02:42:ac:11:00:99';
  assert.match(
    await dockerOk(d, ['run', '--rm', '--mac-address', mac, 'busybox', 'ip', 'link', 'show', 'eth0']),
    new RegExp(`link/ether ${mac}`),
  );
  await dockerOk(d, ['network', 'create', 'n3']);
  assert.match(
    await dockerOk(d, [
      'run',
      '--rm',
      '--network',
      'n3',
      '--mac-address',
      '02:42:ac:11:00:98',
      'busybox',
      'ip',
      'link',
      'show',
      'eth0',
    ]),
    /link\/ether 02:42:ac:11:00:98/,
  );
  await dockerOk(d, ['network', 'rm', 'n3']);
});

/** The ports of `bridge` as `bridge -d link show` prints them: name and whether isolated. */
function bridgePorts(bridge: string): Array<{ port: string; isolated: boolean }> {
  const out = sh('bridge', ['-d', 'link', 'show']).stdout;
  // One port per line, its details on the lines after it, indented.
  return out
    .split(/\n(?=\d+: )/)
    .filter((p) => new RegExp(`\\bmaster ${bridge}\\b`).test(p))
    .map((p) => ({ port: /^\d+: ([^@:]+)/.exec(p)![1]!, isolated: /\bisolated on\b/.test(p) }));
}

test('--icc=false: containers on the default bridge cannot reach each other; nor on a user network with enable_icc=false', async () => {
  const defaultBridge = `bni${process.pid % 100000}`;
  const d2 = await startDaemon(['--bridge', defaultBridge, '--icc=false']);
  try {
    await bootstrapBusybox(d2);
    await dockerOk(d2, ['run', '-d', '--name', 'x1', 'busybox', 'sleep', '300']);
    const ip = (await dockerOk(d2, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'x1'])).trim();
    const r = await docker(d2, [
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      `ping -c 1 -W 2 ${ip} >/dev/null && echo reached; true`,
    ]);
    assert.doesNotMatch(r.stdout, /reached/);
    await dockerOk(d2, ['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', 'quiet']);
    await dockerOk(d2, ['run', '-d', '--name', 'x2', '--network', 'quiet', 'busybox', 'sleep', '300']);
    const r2 = await docker(d2, [
      'run',
      '--rm',
      '--network',
      'quiet',
      'busybox',
      'sh',
      '-c',
      'ping -c 1 -W 2 x2 >/dev/null && echo reached; true',
    ]);
    assert.doesNotMatch(r2.stdout, /reached/);
    // x1's port on the default bridge is isolated as it starts (endpoints' attach: the launcher's
    // BRPORT, ip without it); a running container connected to the quiet network gets an isolated
    // port there too (`docker network connect`), and reaches no one through it.
    await dockerOk(d2, ['network', 'connect', 'quiet', 'x1']);
    const quietId = (await dockerOk(d2, ['network', 'inspect', '-f', '{{.Id}}', 'quiet'])).trim();
    for (const [bridge, n] of [
      [defaultBridge, 1],
      [`bn-${quietId.slice(0, 12)}`, 2],
    ] as const) {
      const ports = bridgePorts(bridge);
      // (A warm pool's sandbox may have a port of its own there too, isolated as well.)
      assert.ok(ports.length >= n, `${bridge}'s ports: ${JSON.stringify(ports)}`);
      assert.ok(
        ports.every((p) => p.isolated),
        `${bridge}: every port isolated on: ${JSON.stringify(ports)}`,
      );
    }
    const x2Quiet = (
      await dockerOk(d2, ['inspect', '-f', '{{(index .NetworkSettings.Networks "quiet").IPAddress}}', 'x2'])
    ).trim();
    const r3 = await docker(d2, [
      'exec',
      'x1',
      'sh',
      '-c',
      `ping -c 1 -W 2 ${x2Quiet} >/dev/null && echo reached; true`,
    ]);
    assert.doesNotMatch(r3.stdout, /reached/);
    // With icc, the same ping works (the test can fail).
    await dockerOk(d2, ['network', 'create', 'loud']);
    await dockerOk(d2, ['run', '-d', '--name', 'x3', '--network', 'loud', 'busybox', 'sleep', '300']);
    assert.match(
      await dockerOk(d2, [
        'run',
        '--rm',
        '--network',
        'loud',
        'busybox',
        'sh',
        '-c',
        'ping -c 1 -W 2 x3 >/dev/null && echo reached',
      ]),
      /reached/,
    );
    await dockerOk(d2, ['rm', '-f', 'x1', 'x2', 'x3']);
    await dockerOk(d2, ['network', 'rm', 'quiet', 'loud']);
  } finally {
    await cleanup(d2);
  }
});

test('two --network flags give eth0 and eth1; a stopped container connected gets the network at its next start', async () => {
  await dockerOk(d, ['network', 'create', 'm1']);
  await dockerOk(d, ['network', 'create', 'm2']);
  try {
    const out = await dockerOk(d, [
      'run',
      '--rm',
      '--network',
      'm1',
      '--network',
      'm2',
      'busybox',
      'sh',
      '-c',
      'ip -o -4 addr show | grep -c "eth[01]"',
    ]);
    assert.equal(out.trim(), '2');
    await dockerOk(d, ['create', '--name', 'later', '--network', 'm1', 'busybox', 'sleep', '300']);
    await dockerOk(d, ['network', 'connect', 'm2', 'later']);
    const nets = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'later']));
    assert.deepEqual(Object.keys(nets).sort(), ['m1', 'm2']);
    await dockerOk(d, ['start', 'later']);
    const m2 = (await inspectNet('m2')).IPAM.Config[0].Subnet.split('.').slice(0, 2).join('.');
    assert.match(
      await dockerOk(d, ['exec', 'later', 'ip', '-o', '-4', 'addr', 'show', 'eth1']),
      new RegExp(`inet ${m2.replace(/\./g, '\\.')}\\.`),
    );
    await dockerOk(d, ['rm', '-f', 'later']);
  } finally {
    await docker(d, ['rm', '-f', 'later']);
    await docker(d, ['network', 'rm', 'm1', 'm2']);
  }
});

test("on a network without IPv6 (a user network, the default bridge) neither end of a container's veth has an IPv6 address, so nothing is flooded to the others", async () => {
  await dockerOk(d, ['network', 'create', 'quiet6']);
  const bridgeIf = `bn-${(await inspectNet('quiet6')).Id.slice(0, 12)}`;
  const q6 = (
    await dockerOk(d, ['run', '-d', '--name', 'q6', '--network', 'quiet6', 'busybox', 'sleep', '300'])
  ).trim();
  // The kernel lists every IPv6 address there is, per interface, in /proc/net/if_inet6.
  const inside = await dockerOk(d, ['exec', 'q6', 'cat', '/proc/net/if_inet6']);
  assert.doesNotMatch(inside, /\beth0$/m, 'no link-local address on eth0');
  assert.match(
    await dockerOk(d, ['exec', 'q6', 'ip', 'addr', 'show', 'dev', 'eth0']),
    /inet 10\.|inet 172\.|inet 192\./,
  );
  // The container's port (user.ts names it); the warm pool's sandboxes may have theirs there too.
  const ports = sh('ip', ['-o', 'link', 'show', 'master', bridgeIf])
    .stdout.split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1].split('@')[0]);
  const port = `vu${q6.slice(0, 7)}${bridgeIf.slice(3, 9)}`;
  assert.ok(ports.includes(port), `${port} among ${ports.join(' ')}`);
  // None of them has an IPv6 address, the sandboxes' included.
  for (const p of ports) assert.doesNotMatch(sh('cat', ['/proc/net/if_inet6']).stdout, new RegExp(`\\b${p}$`, 'm'));
  // IPv4 as before: its own name through the embedded DNS, one ping away.
  assert.match(await dockerOk(d, ['exec', 'q6', 'ping', '-c', '1', '-W', '3', 'q6']), /1 packets received/);
  await dockerOk(d, ['rm', '-f', 'q6']);
  await dockerOk(d, ['network', 'rm', 'quiet6']);
  // The default bridge (no --ipv6 here) the same.
  await dockerOk(d, ['run', '-d', '--name', 'q6b', 'busybox', 'sleep', '300']);
  try {
    assert.doesNotMatch(await dockerOk(d, ['exec', 'q6b', 'cat', '/proc/net/if_inet6']), /\beth0$/m);
    assert.match(await dockerOk(d, ['exec', 'q6b', 'ip', 'addr', 'show', 'dev', 'eth0']), /inet \d+\./);
  } finally {
    await docker(d, ['rm', '-f', 'q6b']);
  }
});

test("a network's bridge keeps its MAC as ports come and go: a container still reaches the DNS after the port whose MAC the bridge had is gone", async () => {
  // A Linux bridge made without a MAC takes the lowest of its ports' and follows them: a
  // container that learnt the gateway's MAC while a port (a warm pool's sandbox, another
  // container) lent it would lose its DNS queries once that port went, until its ARP entry
  // timed out. Made here on purpose: mx's port has the lowest MAC on the bridge when mc first
  // asks, then mx goes, and mc asks again.
  await dockerOk(d, ['network', 'create', '--subnet', `10.${octet}.9.0/24`, 'macs']);
  const bridgeIf = `bn-${(await inspectNet('macs')).Id.slice(0, 12)}`;
  const ports = () =>
    JSON.parse(sh('ip', ['-j', 'link', 'show', 'master', bridgeIf]).stdout || '[]') as Array<{
      ifindex: number;
      address: string;
    }>;
  const bridgeMac = () =>
    (JSON.parse(sh('ip', ['-j', 'link', 'show', bridgeIf]).stdout)[0] as { address: string }).address;
  // A container's port: the host end of its eth0 (the peer's index, from inside).
  const portOf = async (c: string) => {
    const index = Number((await dockerOk(d, ['exec', c, 'cat', '/sys/class/net/eth0/iflink'])).trim());
    return ports().find((p) => p.ifindex === index)!;
  };
  const made = bridgeMac();
  try {
    let lowest: { ifindex: number; address: string } | undefined;
    // The kernel gives veths random MACs: mx's is the lowest of the two about half the time.
    for (let i = 0; i < 24 && !lowest; i++) {
      await docker(d, ['rm', '-f', 'mx', 'mc']);
      await dockerOk(d, ['run', '-d', '--name', 'mx', '--network', 'macs', 'busybox', 'sleep', '300']);
      await dockerOk(d, ['run', '-d', '--name', 'mc', '--network', 'macs', 'busybox', 'sleep', '300']);
      const x = await portOf('mx');
      if (ports().every((p) => p.address >= x.address)) lowest = x;
    }
    assert.ok(lowest, "mx's port never had the lowest MAC");
    assert.equal(bridgeMac(), made, "the bridge does not take its lowest port's MAC");
    assert.match(await dockerOk(d, ['exec', 'mc', 'nslookup', 'mx']), new RegExp(`Name:\\s+mx`));
    const gone = lowest.ifindex;
    await dockerOk(d, ['rm', '-f', 'mx']);
    // The port goes with mx's namespace, which the kernel frees a moment later.
    for (let i = 0; i < 100 && ports().some((p) => p.ifindex === gone); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(bridgeMac(), made);
    // Well within the 10 s a lost query costs busybox's resolver before it says "bad address".
    const r = await docker(d, ['exec', 'mc', 'timeout', '3', 'nslookup', 'mc']);
    assert.equal(r.code, 0, `mc's query after mx went: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /Name:\s+mc/);
  } finally {
    await docker(d, ['rm', '-f', 'mx', 'mc']);
    await docker(d, ['network', 'rm', 'macs']);
  }
});
