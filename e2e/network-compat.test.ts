/**
 * User networks as dockerd 20.10 makes them, through the real `docker` CLI: IPv6 (`--ipv6
 * --subnet`, `--ip6` on run and connect, addresses inside the container, AAAA answers from
 * the embedded DNS, the default bridge IPv4 unless berthd has `--ipv6`), `IPAM.Config` with
 * a range, a gateway and auxiliary addresses, the names dockerd takes, driver options, and
 * links on a user network resolving in the embedded DNS. Traffic goes only between containers
 * of this daemon (IPv6 from the documentation prefix, never routed out).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  startDaemon,
  cleanup,
  api,
  docker,
  dockerOk,
  bootstrapBusybox,
  eventsOf,
  eventually,
  sleep,
  type Daemon,
} from './harness.ts';

const BRIDGE = `bnc${process.pid % 100000}`;
// Subnets of this test's own (the pid keeps concurrent runs apart).
const octet = 100 + (process.pid % 100);
const v6 = `2001:db8:${(process.pid % 0xffff).toString(16)}`;
let d: Daemon;
const inspectNet = async (n: string) => JSON.parse(await dockerOk(d, ['network', 'inspect', '--', n]))[0];
const onNet = async (c: string, n: string) =>
  JSON.parse(await dockerOk(d, ['inspect', '-f', `{{json (index .NetworkSettings.Networks "${n}")}}`, c]));

before(async () => {
  d = await startDaemon(['--bridge', BRIDGE]);
  await bootstrapBusybox(d);
});
after(async () => {
  if (d) {
    await docker(d, ['rm', '-f', 'nb']);
    await docker(d, ['rm', '-f', 'cw1', 'cw2']);
    await docker(d, ['network', 'rm', 'named', 'ipamx', 'hgw', 'cw', 'pu', 'pu2', 'rv']);
    await docker(d, ['rm', '-f', ...['a6', 'b6', 'c6', 'r1', 'r2', 'r3', 'sp', 'l1', 'l2', 'l3', 'l4']]);
    for (const n of ['n6', 'rng', 'my net', 'opts', 'ln', 'ln2']) await docker(d, ['network', 'rm', n]);
    await cleanup(d);
  }
});

test('IPv6: --ipv6 --subnet, --ip6 on run and connect, addresses inside, AAAA from the embedded DNS', async () => {
  await dockerOk(d, ['network', 'create', '--ipv6', '--subnet', `${v6}::/64`, 'n6']);
  const n = await inspectNet('n6');
  assert.equal(n.EnableIPv6, true);
  assert.equal(n.IPAM.Config.length, 2);
  assert.deepEqual(n.IPAM.Config[1], { Subnet: `${v6}::/64` }, "dockerd's inspect shows the IPv6 subnet as given");
  assert.match(n.IPAM.Config[0].Subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/, 'and an IPv4 subnet picked for it');

  await dockerOk(d, ['run', '-d', '--name', 'a6', '--network', 'n6', '--ip6', `${v6}::10`, 'busybox', 'sleep', '300']);
  await dockerOk(d, ['run', '-d', '--name', 'b6', '--network', 'n6', 'busybox', 'sleep', '300']);
  const a = await onNet('a6', 'n6');
  assert.equal(a.GlobalIPv6Address, `${v6}::10`);
  assert.equal(a.GlobalIPv6PrefixLen, 64);
  assert.equal(a.IPv6Gateway, `${v6}::1`);
  assert.deepEqual(a.IPAMConfig, { IPv6Address: `${v6}::10` });
  const b = await onNet('b6', 'n6');
  assert.equal(b.GlobalIPv6Address, `${v6}::2`, "dockerd's first address after the gateway");
  assert.ok(b.IPAddress, 'and an IPv4 address too');

  assert.match(
    await dockerOk(d, ['exec', 'a6', 'ip', '-6', 'addr', 'show', 'eth0']),
    new RegExp(`inet6 ${v6}::10/64 scope global`),
  );
  assert.match(await dockerOk(d, ['exec', 'a6', 'ip', '-6', 'route']), new RegExp(`default via ${v6}::1 dev eth0`));
  assert.match(await dockerOk(d, ['exec', 'a6', 'cat', '/etc/hosts']), new RegExp(`^${v6}::10\\t`, 'm'));
  const aaaa = await dockerOk(d, ['exec', 'a6', 'nslookup', '-type=aaaa', 'b6']);
  assert.match(aaaa, new RegExp(`Address: ${v6}::2$`, 'm'));
  const both = await dockerOk(d, ['exec', 'a6', 'nslookup', 'b6']);
  assert.match(both, new RegExp(`Address: ${b.IPAddress.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(both, new RegExp(`Address: ${v6}::2$`, 'm'));
  assert.match(await dockerOk(d, ['exec', 'a6', 'ping', '-c', '1', '-W', '3', `${v6}::2`]), /1 packets received/);
  const members = (await inspectNet('n6')).Containers;
  assert.ok(Object.values(members).some((m: any) => m.Name === 'a6' && m.IPv6Address === `${v6}::10/64`));

  // connect --ip6: eth1 of a container on the default bridge.
  await dockerOk(d, ['run', '-d', '--name', 'c6', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['network', 'connect', '--ip6', `${v6}::77`, 'n6', 'c6']);
  assert.match(await dockerOk(d, ['exec', 'c6', 'ip', '-6', 'addr', 'show', 'eth1']), new RegExp(`inet6 ${v6}::77/64`));
  assert.equal((await onNet('c6', 'n6')).GlobalIPv6Address, `${v6}::77`);
  // dockerd's refusals: an address outside the subnet, one taken, --ip6 on an IPv4-only network.
  const outside = await docker(d, ['run', '--rm', '--network', 'n6', '--ip6', '2001:db9::5', 'busybox', 'true']);
  assert.match(outside.stderr, /Invalid address 2001:db9::5: It does not belong to any of this network's subnets/);
  const taken = await docker(d, ['run', '--rm', '--network', 'n6', '--ip6', `${v6}::10`, 'busybox', 'true']);
  // dockerd's words bare: the network refused it before any runtime ran.
  assert.match(taken.stderr, /^docker: Error response from daemon: Address already in use\.?$/m);
  const bad = await api(
    d,
    'POST',
    '/containers/create',
    JSON.stringify({
      Image: 'busybox',
      HostConfig: { NetworkMode: 'n6' },
      NetworkingConfig: { EndpointsConfig: { n6: { IPAMConfig: { IPv6Address: 'bogus' } } } },
    }),
  );
  assert.equal(bad.status, 400);
  assert.match(bad.body, /invalid IPv6 address: bogus/);
  // An IPv6 subnet without --ipv6: dockerd takes --ip6 there (the subnet is the user's) and
  // gives no IPv6 address, since the network has none.
  await dockerOk(d, ['network', 'create', '--subnet', 'fd42:18::/64', 'n6off']);
  assert.equal((await inspectNet('n6off')).EnableIPv6, false);
  const off = await dockerOk(d, ['run', '--rm', '--network', 'n6off', '--ip6', 'fd42:18::5', 'busybox', 'ip', 'addr']);
  assert.doesNotMatch(off, /fd42:18::5/);
  await dockerOk(d, ['network', 'rm', 'n6off']);

  // The default bridge stays IPv4: no global IPv6 address there.
  assert.equal((await inspectNet('bridge')).EnableIPv6, false);
  assert.doesNotMatch(await dockerOk(d, ['exec', 'c6', 'ip', '-6', 'addr', 'show', 'eth0']), /scope global/);
  const nft = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout;
  assert.match(nft, /table ip6 berth_bnc\d+_nets/, 'IPv6 networks are isolated by an ip6 table of their own');
});

test('IPAM.Config: a range gives the addresses, the gateway and auxiliary addresses are kept out, inspect shows it as given', async () => {
  const sub = `10.${octet}.9`;
  await dockerOk(d, [
    'network',
    'create',
    '--subnet',
    `${sub}.0/24`,
    '--ip-range',
    `${sub}.128/25`,
    '--gateway',
    `${sub}.1`,
    '--aux-address',
    `a=${sub}.130`,
    'rng',
  ]);
  assert.deepEqual((await inspectNet('rng')).IPAM.Config, [
    { Subnet: `${sub}.0/24`, IPRange: `${sub}.128/25`, Gateway: `${sub}.1`, AuxiliaryAddresses: { a: `${sub}.130` } },
  ]);
  const ips: string[] = [];
  for (const c of ['r1', 'r2', 'r3']) {
    await dockerOk(d, ['run', '-d', '--name', c, '--network', 'rng', 'busybox', 'sleep', '300']);
    ips.push((await onNet(c, 'rng')).IPAddress);
  }
  // From the range, never the gateway or the auxiliary address. Not necessarily .128, .129, .131 in
  // that order: after two starts on the network the warm pool makes a sandbox there, which holds
  // the next address while it is made — a start that comes meanwhile gets the one after (1 full
  // run of this file in 3 here, with or without anything else running).
  assert.equal(new Set(ips).size, 3, `three addresses: ${ips}`);
  for (const ip of ips) {
    const last = Number(ip.split('.')[3]);
    assert.ok(
      ip.startsWith(`${sub}.`) && last >= 128 && last !== 130,
      `${ip} is in ${sub}.128/25 and not the auxiliary .130`,
    );
  }
  assert.equal(ips[0], `${sub}.128`);
  assert.equal((await onNet('r1', 'rng')).Gateway, `${sub}.1`);
  const aux = await docker(d, ['run', '--rm', '--network', 'rng', '--ip', `${sub}.130`, 'busybox', 'true']);
  assert.match(aux.stderr, /Address already in use/);
  assert.match(
    await dockerOk(d, [
      'run',
      '--rm',
      '--network',
      'rng',
      '--ip',
      `${sub}.5`,
      'busybox',
      'ip',
      '-o',
      '-4',
      'addr',
      'show',
      'eth0',
    ]),
    new RegExp(`inet ${sub}\\.5/24`),
    'a requested address may lie outside the range',
  );
  // The daemon's words (to the API: the CLI checks some of these itself before sending).
  const refusals: Array<[object, RegExp]> = [
    [
      { IPAM: { Config: [{ Subnet: `10.${octet}.10.0/24` }, { Subnet: `10.${octet}.11.0/24` }] } },
      /bridge driver doesn't support multiple subnets/,
    ],
    [
      { IPAM: { Config: [{ Subnet: `10.${octet}.10.0/24`, Gateway: `10.${octet}.12.1` }] } },
      /failed to allocate gateway \(10\.\d+\.12\.1\): Requested address is out of range/,
    ],
    [
      { IPAM: { Config: [{ Subnet: `10.${octet}.10.0/24`, AuxiliaryAddresses: { x: `10.${octet}.12.3` } }] } },
      /auxiliary address: \(x:10\.\d+\.12\.3\) must belong to the master pool/,
    ],
    [{ IPAM: { Config: [{ Subnet: `${sub}.0/25` }] } }, /Pool overlaps with other one on this address space/],
    [{ EnableIPv6: true }, /could not find an available, non-overlapping IPv6 address pool among the defaults/],
  ];
  for (const [body, message] of refusals) {
    const r = await api(d, 'POST', '/networks/create', JSON.stringify({ Name: 'refused', ...body }));
    assert.ok(r.status >= 400, JSON.stringify(body));
    assert.match(JSON.parse(r.body).message, message, JSON.stringify(body));
  }
  assert.doesNotMatch(await dockerOk(d, ['network', 'ls', '--format', '{{.Name}}']), /^refused$/m);
});

test('names with spaces and the other characters dockerd takes; a blank one is refused', async () => {
  await dockerOk(d, ['network', 'create', 'my net']);
  assert.equal((await inspectNet('my net')).Name, 'my net');
  assert.match(await dockerOk(d, ['network', 'ls', '--format', '{{.Name}}']), /^my net$/m);
  await dockerOk(d, ['run', '-d', '--name', 'sp', '--network', 'my net', 'busybox', 'sleep', '300']);
  assert.ok((await onNet('sp', 'my net')).IPAddress);
  assert.match(
    await dockerOk(d, ['run', '--rm', '--network', 'my net', 'busybox', 'ping', '-c', '1', '-W', '3', 'sp']),
    /1 packets received/,
  );
  for (const name of ['-x', '_y.z', 'x:y', 'é~!@#', 'a/b', 'a/b/connect']) {
    await dockerOk(d, ['network', 'create', '--', name]);
    assert.equal((await inspectNet(name)).Name, name);
    await dockerOk(d, ['network', 'rm', '--', name]);
  }
  // The CLI puts a name with slashes in the path as it is: connect and disconnect find it too.
  await dockerOk(d, ['network', 'create', 'team/back end']);
  await dockerOk(d, ['network', 'connect', 'team/back end', 'sp']);
  assert.ok((await onNet('sp', 'team/back end')).IPAddress);
  await dockerOk(d, ['network', 'disconnect', 'team/back end', 'sp']);
  await dockerOk(d, ['network', 'rm', 'team/back end']);
  const blank = await api(d, 'POST', '/networks/create', JSON.stringify({ Name: ' ' }));
  assert.equal(blank.status, 400);
  assert.match(blank.body, /invalid name:  /);
  await dockerOk(d, ['rm', '-f', 'sp']);
  await dockerOk(d, ['network', 'rm', 'my net']);
});

test('driver and IPAM options are stored and shown; none is {} as dockerd shows it', async () => {
  await dockerOk(d, [
    'network',
    'create',
    '-o',
    'foo=bar',
    '-o',
    'com.docker.network.driver.mtu=1400',
    '--ipam-opt',
    'a=b',
    'opts',
  ]);
  const n = await inspectNet('opts');
  assert.deepEqual(n.Options, { foo: 'bar', 'com.docker.network.driver.mtu': '1400' });
  assert.deepEqual(n.IPAM.Options, { a: 'b' });
  await dockerOk(d, ['network', 'rm', 'opts']);
  await dockerOk(d, ['network', 'create', 'opts']);
  const plain = await inspectNet('opts');
  assert.deepEqual(plain.Options, {});
  assert.deepEqual(plain.IPAM.Options, {});
  const raw = await api(d, 'GET', '/networks/opts');
  assert.match(raw.body, /"Options":\{\}/);
});

test('an IPAM driver that is not the built-in one is refused as a missing plugin, and no network is made', async () => {
  const r = await docker(d, ['network', 'create', '--ipam-driver', 'nosuch', 'ipamx']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Error response from daemon: plugin "nosuch" not found/);
  assert.equal((await docker(d, ['network', 'inspect', 'ipamx'])).code, 1);
  await dockerOk(d, ['network', 'create', '--ipam-driver', 'default', 'ipamx']);
  await dockerOk(d, ['network', 'rm', 'ipamx']);
});

test('-o com.docker.network.bridge.name names the bridge on the host; a second network on it is refused; --attachable is shown', async () => {
  const br = `bnx${process.pid % 100000}`;
  await dockerOk(d, ['network', 'create', '--attachable', '-o', `com.docker.network.bridge.name=${br}`, 'named']);
  const n = await inspectNet('named');
  assert.equal(n.Attachable, true);
  assert.equal(n.Options['com.docker.network.bridge.name'], br);
  await dockerOk(d, ['run', '-d', '--name', 'nb', '--network', 'named', 'busybox', 'sleep', '300']);
  const link = spawnSync('ip', ['-o', 'link', 'show', 'master', br], { encoding: 'utf8' });
  assert.equal(link.status, 0, link.stderr);
  assert.match(link.stdout, /vu/, "the container's veth is on the bridge named so");
  const again = await docker(d, ['network', 'create', '-o', `com.docker.network.bridge.name=${br}`, 'named2']);
  assert.match(again.stderr, new RegExp(`conflicts with network named \\(${br}\\): networks have same bridge name`));
  const bad = await docker(d, [
    'network',
    'create',
    '-o',
    'com.docker.network.bridge.name=much-too-long-name',
    'named3',
  ]);
  assert.match(bad.stderr, /invalid bridge name/);
  await dockerOk(d, ['rm', '-f', 'nb']);
  await dockerOk(d, ['network', 'rm', 'named']);
  assert.notEqual(spawnSync('ip', ['link', 'show', br]).status, 0, 'the bridge goes with the network');
  assert.equal((await inspectNet('opts').catch(() => undefined))?.Attachable ?? false, false);
});

test("--add-host NAME:host-gateway is the default bridge's address in /etc/hosts, on the bridge and on a user network", async () => {
  const gw = (await inspectNet('bridge')).IPAM.Config[0].Gateway;
  assert.match(gw, /^\d+\.\d+\.\d+\.\d+$/);
  const hosts = await dockerOk(d, ['run', '--rm', '--add-host', 'gw:host-gateway', 'busybox', 'cat', '/etc/hosts']);
  assert.match(hosts, new RegExp(`^${gw.replace(/\./g, '\\.')}\tgw$`, 'm'));
  assert.doesNotMatch(hosts, /host-gateway/);
  await dockerOk(d, ['network', 'create', 'hgw']);
  const onUser = await dockerOk(d, [
    'run',
    '--rm',
    '--network',
    'hgw',
    '--add-host',
    'gw:host-gateway',
    'busybox',
    'cat',
    '/etc/hosts',
  ]);
  assert.match(onUser, new RegExp(`^${gw.replace(/\./g, '\\.')}\tgw$`, 'm'));
  await dockerOk(d, ['network', 'rm', 'hgw']);
});

test("connect and disconnect answer in dockerd's words: host and none (a missing container first), a stopped container connected twice, -f for a container that is gone", async () => {
  await dockerOk(d, ['network', 'create', 'cw']);
  await dockerOk(d, ['run', '-d', '--name', 'cw1', '--network', 'cw', 'busybox', 'sleep', '300']);
  const cases: Array<[string[], RegExp]> = [
    [['connect', 'host', 'cw1'], /container cannot be disconnected from host network or connected to host network/],
    [['disconnect', 'host', 'cw1'], /container [0-9a-f]{64} is not connected to network host/],
    [
      ['connect', 'none', 'cw1'],
      /container cannot be connected to multiple networks with one of the networks in private \(none\) mode/,
    ],
    [['disconnect', '-f', 'cw', 'nosuch'], /endpoint nosuch not found/],
    [['disconnect', 'cw', 'nosuch'], /No such container: nosuch/],
    [['connect', 'host', 'nosuch'], /No such container: nosuch/],
    [['connect', 'none', 'nosuch'], /No such container: nosuch/],
    [['connect', 'cw', 'cw1'], /endpoint with name cw1 already exists in network cw/],
  ];
  for (const [args, words] of cases) {
    const r = await docker(d, ['network', ...args]);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, words, args.join(' '));
  }
  // Stopped, a second connect takes the new settings, as dockerd's (no second endpoint is made).
  await dockerOk(d, ['create', '--name', 'cw2', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['network', 'connect', 'cw', 'cw2']);
  await dockerOk(d, ['network', 'connect', '--alias', 'again', 'cw', 'cw2']);
  await dockerOk(d, ['network', 'connect', 'bridge', 'cw2']);
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{json (index .NetworkSettings.Networks "cw").Aliases}}', 'cw2'])).trim(),
    '["again"]',
  );
  await dockerOk(d, ['start', 'cw2']);
  assert.match(await dockerOk(d, ['exec', 'cw1', 'nslookup', 'again']), /Name:\s+again/);
  await dockerOk(d, ['rm', '-f', 'cw1', 'cw2']);
  await dockerOk(d, ['network', 'rm', 'cw']);
});

test("every IPv4 address Berth gives has the subnet's broadcast address (brd), as dockerd's: the bridges, eth0 at create, eth1 of a connect", async () => {
  /** `inet A/L brd B` lines of `ip -o -4 addr` output, each with B checked against A/L. */
  const brdOf = (out: string, dev: string) => {
    const m = new RegExp(`inet (\\d+\\.\\d+\\.\\d+\\.\\d+)/(\\d+) brd (\\S+) scope global ${dev}`).exec(out);
    assert.ok(m, `${dev} has a broadcast address:\n${out}`);
    const a = m[1]!.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const host = 2 ** (32 - Number(m[2])) - 1;
    const b = a - (a % (host + 1)) + host;
    assert.equal(m[3], [24, 16, 8, 0].map((sh) => Math.floor(b / 2 ** sh) % 256).join('.'), dev);
  };
  await dockerOk(d, ['network', 'create', '--subnet', `10.${octet}.77.0/24`, 'bd']);
  try {
    await dockerOk(d, ['run', '-d', '--name', 'bd1', 'busybox', 'sleep', '300']);
    await dockerOk(d, ['run', '-d', '--name', 'bd2', '--network', 'bd', 'busybox', 'sleep', '300']);
    brdOf(await dockerOk(d, ['exec', 'bd1', 'ip', '-o', '-4', 'addr', 'show', 'eth0']), 'eth0');
    brdOf(await dockerOk(d, ['exec', 'bd2', 'ip', '-o', '-4', 'addr', 'show', 'eth0']), 'eth0');
    await dockerOk(d, ['network', 'connect', 'bd', 'bd1']);
    brdOf(await dockerOk(d, ['exec', 'bd1', 'ip', '-o', '-4', 'addr', 'show', 'eth1']), 'eth1');
    // A created container connected before its start: plugged at the start with the rest.
    await dockerOk(d, ['create', '--name', 'bd3', 'busybox', 'sleep', '300']);
    await dockerOk(d, ['network', 'connect', 'bd', 'bd3']);
    await dockerOk(d, ['start', 'bd3']);
    brdOf(await dockerOk(d, ['exec', 'bd3', 'ip', '-o', '-4', 'addr', 'show', 'eth1']), 'eth1');
    const bridge =
      (await inspectNet('bd')).Options['com.docker.network.bridge.name'] ??
      `bn-${(await inspectNet('bd')).Id.slice(0, 12)}`;
    for (const dev of [BRIDGE, bridge])
      brdOf(spawnSync('ip', ['-o', '-4', 'addr', 'show', 'dev', dev], { encoding: 'utf8' }).stdout, dev);
  } finally {
    await docker(d, ['rm', '-f', 'bd1', 'bd2', 'bd3']);
    await docker(d, ['network', 'rm', 'bd']);
  }
});

test("network events as dockerd logs them: connect before a start, disconnect after the die; a created container's connect at its start", async () => {
  await dockerOk(d, ['network', 'create', 'evn']);
  const seen = async (fn: () => Promise<unknown>) =>
    (await eventsOf(d, fn))
      .filter((e) => (e.Type === 'network' && e.Action !== 'create') || ['start', 'die', 'destroy'].includes(e.Action))
      // A network event names its container by ID: the test's own names stand for them.
      .map((e) =>
        e.Type === 'network'
          ? [e.Action, e.Actor.Attributes.name, ids.get(e.Actor.Attributes.container ?? '')].filter(Boolean).join(' ')
          : `${e.Action} ${e.Actor.Attributes.name}`,
      );
  const ids = new Map<string, string>();
  const named = async (name: string) => ids.set((await dockerOk(d, ['inspect', '-f', '{{.Id}}', name])).trim(), name);
  try {
    await dockerOk(d, ['create', '--name', 'ev1', '--network', 'evn', 'busybox', 'sleep', '300']);
    await dockerOk(d, ['create', '--name', 'ev2', 'busybox', 'sleep', '300']);
    await named('ev1');
    await named('ev2');
    assert.deepEqual(await seen(() => dockerOk(d, ['start', 'ev1'])), ['connect evn ev1', 'start ev1']);
    // Not started: nothing is plugged, nothing logged until the start, which plugs the bridge first.
    assert.deepEqual(await seen(() => dockerOk(d, ['network', 'connect', 'evn', 'ev2'])), []);
    assert.deepEqual(await seen(() => dockerOk(d, ['start', 'ev2'])), [
      'connect bridge ev2',
      'connect evn ev2',
      'start ev2',
    ]);
    // Running: at once.
    assert.deepEqual(await seen(() => dockerOk(d, ['network', 'connect', 'bridge', 'ev1'])), ['connect bridge ev1']);
    assert.deepEqual(await seen(() => dockerOk(d, ['stop', '-t', '0', 'ev1'])), [
      'die ev1',
      'disconnect evn ev1',
      'disconnect bridge ev1',
    ]);
    assert.deepEqual(
      await seen(() => dockerOk(d, ['run', '--rm', '--name', 'ev3', '--network', 'none', 'busybox', 'true'])),
      ['connect none', 'start ev3', 'die ev3', 'disconnect none', 'destroy ev3'],
    );
  } finally {
    await docker(d, ['rm', '-f', 'ev1', 'ev2']);
    await docker(d, ['network', 'rm', 'evn']);
  }
});

test('ls refuses a type it does not know; prune --filter until keeps networks created after it', async () => {
  const r = await docker(d, ['network', 'ls', '--filter', 'type=nosuch']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid filter: 'type'='nosuch'/);
  await dockerOk(d, ['network', 'create', '--label', 'pu=1', 'pu']);
  assert.equal(
    (await dockerOk(d, ['network', 'prune', '-f', '--filter', 'until=1h', '--filter', 'label=pu'])).trim(),
    '',
  );
  assert.equal((await docker(d, ['network', 'inspect', 'pu'])).code, 0, 'a network made now is newer than an hour ago');
  // A duration counts back to a whole second, as dockerd's GetTimestamp: until=0s keeps what
  // was made in the current second (checked when the create began and the prune ended in one).
  const made = Math.floor(Date.now() / 1000);
  await dockerOk(d, ['network', 'create', '--label', 'pu=1', 'pu2']);
  const same = await dockerOk(d, ['network', 'prune', '-f', '--filter', 'until=0s', '--filter', 'label=pu']);
  if (Math.floor(Date.now() / 1000) === made) assert.doesNotMatch(same, /^pu2$/m);
  await sleep(1100);
  const pruned = await dockerOk(d, ['network', 'prune', '-f', '--filter', 'until=0s', '--filter', 'label=pu']);
  assert.match(pruned + same, /^pu$/m);
  assert.match(pruned + same, /^pu2$/m);
  const bad = await docker(d, ['network', 'prune', '-f', '--filter', 'until=soon']);
  assert.match(bad.stderr, /failed to parse value as time or duration: "soon"/);
});

test("resolv.conf in dockerd's order (search, nameservers, options), with ndots:0 on a user network unless options set it", async () => {
  const plain = await dockerOk(d, [
    'run',
    '--rm',
    '--dns',
    '10.0.0.53',
    '--dns-search',
    'a.test',
    'busybox',
    'cat',
    '/etc/resolv.conf',
  ]);
  assert.equal(plain, 'search a.test\nnameserver 10.0.0.53\n');
  await dockerOk(d, ['network', 'create', 'rv']);
  const gw = (await inspectNet('rv')).IPAM.Config[0].Gateway;
  const user = await dockerOk(d, [
    'run',
    '--rm',
    '--network',
    'rv',
    '--dns-search',
    'b.test',
    'busybox',
    'cat',
    '/etc/resolv.conf',
  ]);
  assert.equal(user, `search b.test\nnameserver ${gw}\noptions ndots:0\n`);
  const own = await dockerOk(d, [
    'run',
    '--rm',
    '--network',
    'rv',
    '--dns-option',
    'ndots:2',
    'busybox',
    'cat',
    '/etc/resolv.conf',
  ]);
  assert.match(own, new RegExp(`nameserver ${gw.replace(/\./g, '\\.')}\noptions ndots:2\n$`));
  assert.doesNotMatch(own, /ndots:0/);
  await dockerOk(d, ['network', 'rm', 'rv']);
});

test('links on a user network, at create and at connect, resolve in the embedded DNS for the linking container', async () => {
  await dockerOk(d, ['network', 'create', 'ln']);
  await dockerOk(d, ['network', 'create', 'ln2']);
  await dockerOk(d, ['run', '-d', '--name', 'l1', '--network', 'ln', 'busybox', 'sleep', '300']);
  const ip1 = (await onNet('l1', 'ln')).IPAddress as string;
  await dockerOk(d, ['run', '-d', '--name', 'l2', '--network', 'ln', '--link', 'l1:bar', 'busybox', 'sleep', '300']);
  assert.match(
    await dockerOk(d, ['exec', 'l2', 'nslookup', 'bar']),
    new RegExp(`Address: ${ip1.replace(/\./g, '\\.')}$`, 'm'),
  );
  // As dockerd: no /etc/hosts line and no variables on a user network; the link is the endpoint's.
  assert.doesNotMatch(await dockerOk(d, ['exec', 'l2', 'cat', '/etc/hosts']), /\bbar\b/);
  assert.doesNotMatch(await dockerOk(d, ['exec', 'l2', 'env']), /^BAR_/m);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{json .HostConfig.Links}}', 'l2'])).trim(), 'null');
  assert.deepEqual((await onNet('l2', 'ln')).Links, ['l1:bar']);
  // Only the linking container has the alias.
  await dockerOk(d, ['run', '-d', '--name', 'l3', '--network', 'ln', 'busybox', 'sleep', '300']);
  assert.notEqual((await docker(d, ['exec', 'l3', 'nslookup', 'bar'])).code, 0);
  // At connect.
  await dockerOk(d, ['run', '-d', '--name', 'l4', '--network', 'ln2', 'busybox', 'sleep', '300']);
  await dockerOk(d, ['network', 'connect', '--link', 'l1:baz', 'ln', 'l4']);
  assert.match(
    await dockerOk(d, ['exec', 'l4', 'nslookup', 'baz']),
    new RegExp(`Address: ${ip1.replace(/\./g, '\\.')}$`, 'm'),
  );
  assert.deepEqual((await onNet('l4', 'ln')).Links, ['l1:baz']);
  // A link to a container that is not there does not stop a container on a user network.
  assert.equal(
    await dockerOk(d, ['run', '--rm', '--network', 'ln', '--link', 'nosuch:x', 'busybox', 'echo', 'ok']),
    'ok\n',
  );
});

test('a network removed under a created container: rm succeeds, the start is 404 and the container stays created, as dockerd', async () => {
  await dockerOk(d, ['network', 'create', 'gone-net']);
  await dockerOk(d, ['create', '--name', 'orphan', '--network', 'gone-net', 'busybox', 'true']);
  try {
    // Right after create, when its task is made ahead and holds an address on the network.
    await dockerOk(d, ['network', 'rm', 'gone-net']);
    const r = await docker(d, ['start', 'orphan']);
    assert.match(r.stderr, /Error response from daemon: network gone-net not found/);
    assert.equal(
      await dockerOk(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'orphan']),
      'created 128 network gone-net not found\n',
    );
  } finally {
    await docker(d, ['rm', '-f', 'orphan']);
  }
});

test('the default bridge has IPv6 only with berthd --ipv6 --fixed-cidr-v6 (addresses from the MAC, as dockerd)', async (t) => {
  const bridge = `bn6${process.pid % 100000}`;
  const refused = await startDaemon(['--bridge', bridge, '--ipv6']).then(
    async (x) => {
      await cleanup(x);
      return undefined;
    },
    (e: Error) => e.message,
  );
  assert.match(
    refused ?? 'started',
    /IPv6 is enabled for the default bridge, but no subnet is configured\. Specify an IPv6 subnet using --fixed-cidr-v6/,
  );
  const d6 = await startDaemon(['--bridge', bridge, '--ipv6', '--fixed-cidr-v6', `${v6}:1::/64`]);
  t.after(() => cleanup(d6));
  await bootstrapBusybox(d6);
  const bridgeNet = JSON.parse(await dockerOk(d6, ['network', 'inspect', 'bridge']))[0];
  assert.equal(bridgeNet.EnableIPv6, true);
  assert.deepEqual(bridgeNet.IPAM.Config[1], { Subnet: `${v6}:1::/64` });
  await dockerOk(d6, ['run', '-d', '--name', 'd6', 'busybox', 'sleep', '300']);
  const s = JSON.parse(await dockerOk(d6, ['inspect', '-f', '{{json .NetworkSettings}}', 'd6']));
  // The MAC in the low 48 bits: 02:42:ac:1d:00:02 → <prefix>:0:242:ac1d:2.
  const mac = (s.MacAddress as string).split(':');
  const groups = [0, 2, 4].map((i) => parseInt(`${mac[i]}${mac[i + 1]}`, 16).toString(16));
  assert.equal(s.GlobalIPv6Address, `${v6}:1:0:${groups.join(':')}`);
  assert.equal(s.IPv6Gateway, `${v6}:1::1`);
  assert.match(await dockerOk(d6, ['exec', 'd6', 'ip', '-6', 'route']), new RegExp(`default via ${v6}:1::1`));
  assert.ok(
    await eventually(async () =>
      /1 packets received/.test((await docker(d6, ['exec', 'd6', 'ping', '-c', '1', '-W', '2', `${v6}:1::1`])).stdout),
    ),
    'the container reaches the bridge over IPv6',
  );
  await dockerOk(d6, ['rm', '-f', 'd6']);
});

test("the default bridge takes Docker's 172.17.0.0/16 when it is free, so the subnets users give are free as beside dockerd", async (t) => {
  const routes = () => spawnSync('ip', ['-4', 'route'], { encoding: 'utf8' }).stdout;
  const bridgeSubnet = (await inspectNet('bridge')).IPAM.Config[0].Subnet as string;
  // Another daemon of this machine may hold 172.17/16 (a dockerd, a test running beside): then
  // this daemon rightly took another, and there is nothing to check.
  if (bridgeSubnet !== '172.17.0.0/16') {
    t.skip(`172.17.0.0/16 was in use when the daemon started (it took ${bridgeSubnet})`);
    return;
  }
  // 172.29/16 was Berth's own first choice for its bridge; a user's subnet in it is refused only
  // when something on the host really uses it.
  const wanted = '172.29.240.0/24';
  if (routes().includes('172.29.')) {
    t.skip('172.29/16 is routed on this machine');
    return;
  }
  await dockerOk(d, ['network', 'create', '--subnet', wanted, 'dflt']);
  assert.equal((await inspectNet('dflt')).IPAM.Config[0].Subnet, wanted);
  await dockerOk(d, ['network', 'rm', 'dflt']);
});
