import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealHost } from '../host/index.ts';
import { categoryOf } from '../errdefs/index.ts';
import { CniNetwork } from './network.ts';

// Fake plugins: one shell script under every plugin name. Each call appends
// "<type> <command> <netns> <ifname> <containerid>" to calls.log, keeps its stdin and CNI_ARGS
// in stdin/<n>.json and args/<n>, and answers results/<type>.json (or nothing). A file
// fail/<type>.<command> makes it print that file and exit 1, as a plugin's error object.
const PLUGIN = `#!/bin/sh
d="$(dirname "$0")/.."
t="$(basename "$0")"
n=$(wc -l < "$d/calls.log")
cat > "$d/stdin/$n.json"
printf '%s' "$CNI_ARGS|$CNI_PATH" > "$d/args/$n"
echo "$t $CNI_COMMAND \${CNI_NETNS:--} $CNI_IFNAME $CNI_CONTAINERID" >> "$d/calls.log"
f="$d/fail/$t.$CNI_COMMAND"
if [ -f "$f" ]; then cat "$f"; exit 1; fi
if [ "$CNI_COMMAND" = ADD ] && [ -f "$d/results/$t.json" ]; then cat "$d/results/$t.json"; fi
exit 0
`;

const BRIDGE_RESULT = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0' }, { name: 'veth1', mac: '02:00:00:00:00:01' }, { name: 'eth0', sandbox: '/x' }],
  ips: [{ address: '10.231.0.7/16', gateway: '10.231.0.1', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
};
const PORTMAP_RESULT = { ...BRIDGE_RESULT, dns: { nameservers: ['10.231.0.1'] } };

let root: string;
let d: string;
let netns: string;
const host = new RealHost();

before(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-cni-run-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
beforeEach(() => {
  d = join(root, String(n++));
  for (const sub of ['bin', 'net.d', 'stdin', 'args', 'fail', 'results', 'state'])
    mkdirSync(join(d, sub), { recursive: true });
  writeFileSync(join(d, 'calls.log'), '');
  for (const t of ['loopback', 'bridge', 'portmap', 'host-local']) {
    writeFileSync(join(d, 'bin', t), PLUGIN);
    chmodSync(join(d, 'bin', t), 0o755);
  }
  writeFileSync(
    join(d, 'results', 'loopback.json'),
    JSON.stringify({ cniVersion: '1.0.0', interfaces: [{ name: 'lo' }] }),
  );
  writeFileSync(join(d, 'results', 'bridge.json'), JSON.stringify(BRIDGE_RESULT));
  writeFileSync(join(d, 'results', 'portmap.json'), JSON.stringify(PORTMAP_RESULT));
  writeConf('1.0.0');
  netns = join(d, 'netns');
  writeFileSync(netns, '');
});

function writeConf(cniVersion: string, name = 'pods') {
  writeFileSync(
    join(d, 'net.d', '10-pods.conflist'),
    JSON.stringify({
      cniVersion,
      name,
      plugins: [
        { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.231.0.0/16' } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
}

function cni(): CniNetwork {
  return new CniNetwork({ host, confDir: join(d, 'net.d'), binDirs: [join(d, 'bin')], stateDir: join(d, 'state') });
}

const calls = () => readFileSync(join(d, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean);
const stdinOf = (i: number) => JSON.parse(readFileSync(join(d, 'stdin', `${i}.json`), 'utf8'));
const ids = () => ({ containerId: 'sb1', netnsPath: netns, podName: 'web', podNamespace: 'default', podUid: 'u-1' });

test('setUp brings lo up, then runs the plugins in order, each given the result before it, and answers the pod IP', async () => {
  const got = await cni().setUp({
    ...ids(),
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  });
  assert.deepEqual(calls(), [
    `loopback ADD ${netns} lo sb1`,
    `bridge ADD ${netns} eth0 sb1`,
    `portmap ADD ${netns} eth0 sb1`,
  ]);
  assert.deepEqual(got.ips, ['10.231.0.7']);
  assert.deepEqual(got.dns, { nameservers: ['10.231.0.1'] });
  assert.equal(got.interfaces[2]?.name, 'eth0');
  const bridgeIn = stdinOf(1);
  assert.equal(bridgeIn.name, 'pods');
  assert.equal(bridgeIn.prevResult, undefined);
  const portmapIn = stdinOf(2);
  assert.deepEqual(portmapIn.prevResult, BRIDGE_RESULT);
  assert.deepEqual(portmapIn.runtimeConfig, {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  });
  assert.equal(
    readFileSync(join(d, 'args', '1'), 'utf8'),
    `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=u-1|${join(d, 'bin')}`,
  );
});

test('tearDown after a berthd restart: DEL in reverse with the kept result and port mappings, even with the file gone', async () => {
  await cni().setUp({ ...ids(), portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  // A new CniNetwork is a restarted berthd; the configuration changed in between.
  rmSync(join(d, 'net.d', '10-pods.conflist'));
  await cni().tearDown(ids());
  assert.deepEqual(calls().slice(3), [
    `portmap DEL ${netns} eth0 sb1`,
    `bridge DEL ${netns} eth0 sb1`,
    `loopback DEL ${netns} lo sb1`,
  ]);
  for (const i of [3, 4]) {
    assert.equal(stdinOf(i).name, 'pods');
    assert.deepEqual(stdinOf(i).prevResult, PORTMAP_RESULT);
  }
  assert.deepEqual(stdinOf(3).runtimeConfig.portMappings, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(readdirSync(join(d, 'state')), []);
  // Torn down twice: nothing kept, no network configured, nothing to do, no error.
  await cni().tearDown(ids());
  assert.equal(calls().length, 6);
});

test('tearDown of a sandbox whose netns is gone tells the plugins with an empty CNI_NETNS, so the address is released', async () => {
  await cni().setUp(ids());
  rmSync(netns);
  await cni().tearDown(ids());
  assert.deepEqual(calls().slice(3), ['portmap DEL - eth0 sb1', 'bridge DEL - eth0 sb1']);
});

test('tearDown with nothing kept still tells the configured network, as containerd does', async () => {
  await cni().tearDown(ids());
  assert.deepEqual(calls(), [
    `portmap DEL ${netns} eth0 sb1`,
    `bridge DEL ${netns} eth0 sb1`,
    `loopback DEL ${netns} lo sb1`,
  ]);
  assert.equal(stdinOf(0).prevResult, undefined);
});

test("a plugin's error object becomes the error, naming the network, the sandbox and the plugin; what was added is deleted", async () => {
  writeFileSync(join(d, 'fail', 'portmap.DEL'), JSON.stringify({ code: 11, msg: 'iptables is locked' }));
  writeFileSync(
    join(d, 'fail', 'portmap.ADD'),
    JSON.stringify({ cniVersion: '1.0.0', code: 11, msg: 'could not set up hostport', details: 'iptables: no chain' }),
  );
  await assert.rejects(cni().setUp(ids()), (e: Error) => {
    assert.equal(
      e.message,
      'failed to set up network "pods" for sandbox "sb1": plugin type="portmap" failed (add): could not set up hostport: iptables: no chain',
    );
    assert.equal(categoryOf(e), 'Internal');
    return true;
  });
  // The rollback's portmap DEL fails too: bridge's address stays until a tearDown, which the
  // record kept allows.
  assert.deepEqual(calls().slice(3, 4), [`portmap DEL ${netns} eth0 sb1`]);
  rmSync(join(d, 'fail', 'portmap.DEL'));
  await cni().tearDown(ids());
  assert.deepEqual(calls().slice(-3), [
    `portmap DEL ${netns} eth0 sb1`,
    `bridge DEL ${netns} eth0 sb1`,
    `loopback DEL ${netns} lo sb1`,
  ]);
  assert.equal(stdinOf(calls().length - 2).prevResult, undefined);
});

test('a failed ADD is rolled back with DEL of every plugin, and nothing is kept', async () => {
  writeFileSync(join(d, 'fail', 'bridge.ADD'), JSON.stringify({ code: 7, msg: 'bad config' }));
  await assert.rejects(cni().setUp(ids()), /plugin type="bridge" failed \(add\): bad config$/);
  // Rolled back: the DELs ran, the record went with them.
  assert.deepEqual(calls().slice(2), [
    `portmap DEL ${netns} eth0 sb1`,
    `bridge DEL ${netns} eth0 sb1`,
    `loopback DEL ${netns} lo sb1`,
  ]);
  assert.equal(existsSync(join(d, 'state', 'sb1.json')), false);
});

test('check runs CHECK in order with the kept result; a 0.3.1 network has no CHECK', async () => {
  await cni().setUp(ids());
  await cni().check(ids());
  assert.deepEqual(calls().slice(3), [`bridge CHECK ${netns} eth0 sb1`, `portmap CHECK ${netns} eth0 sb1`]);
  assert.deepEqual(stdinOf(3).prevResult, PORTMAP_RESULT);
  await cni().tearDown(ids());
  await assert.rejects(cni().check(ids()), /no network set up for sandbox "sb1"/);

  writeConf('0.3.1');
  await cni().setUp(ids());
  const before = calls().length;
  await cni().check(ids());
  assert.equal(calls().length, before);
});

test('setUp twice answers the first result without running the plugins again', async () => {
  const a = await cni().setUp(ids());
  const b = await cni().setUp(ids());
  assert.deepEqual(a, b);
  assert.equal(calls().length, 3);
});

test('status: NetworkReady with a valid network and its plugins, not ready with the reason otherwise', async () => {
  assert.deepEqual(await cni().status(), { ready: true, reason: '', message: '' });
  rmSync(join(d, 'bin', 'portmap'));
  const missing = await cni().status();
  assert.equal(missing.ready, false);
  assert.equal(missing.reason, 'NetworkPluginNotReady');
  assert.match(missing.message, /cni plugins not found for network "pods": portmap/);
  await assert.rejects(cni().setUp(ids()), (e: Error) => categoryOf(e) === 'FailedPrecondition');
  writeFileSync(join(d, 'net.d', '10-pods.conflist'), '{');
  const invalid = await cni().status();
  assert.equal(invalid.ready, false);
  assert.match(invalid.message, /no valid network in .*10-pods.conflist: not JSON/);
});

test("one sandbox's calls run one at a time: two setUps at once run the plugins once", async () => {
  const net = cni();
  const [a, b] = await Promise.all([net.setUp(ids()), net.setUp(ids())]);
  assert.deepEqual(a, b);
  assert.equal(calls().length, 3);
});

test('a crash during ADD leaves a record: kept() lists the sandbox and tearDown runs DEL with its port mappings', async () => {
  // berthd died after the loopback ADD: the record written before ADD has no result yet.
  writeFileSync(join(d, 'fail', 'bridge.ADD'), JSON.stringify({ code: 999, msg: 'killed' }));
  writeFileSync(join(d, 'fail', 'bridge.DEL'), JSON.stringify({ code: 999, msg: 'killed' }));
  const req = { ...ids(), portMappings: [{ hostPort: 8443, containerPort: 443, protocol: 'tcp' as const }] };
  await assert.rejects(cni().setUp(req));
  rmSync(join(d, 'fail', 'bridge.DEL'));
  assert.deepEqual(await cni().kept(), [ids()]);
  const before = calls().length;
  await cni().tearDown(ids());
  assert.deepEqual(calls().slice(before, before + 2), [
    `portmap DEL ${netns} eth0 sb1`,
    `bridge DEL ${netns} eth0 sb1`,
  ]);
  assert.equal(stdinOf(before).prevResult, undefined);
  assert.deepEqual(stdinOf(before).runtimeConfig.portMappings, [
    { hostPort: 8443, containerPort: 443, protocol: 'tcp' },
  ]);
  assert.deepEqual(await cni().kept(), []);
});

test('setUp over an ADD that never finished deletes what it left first', async () => {
  writeFileSync(join(d, 'fail', 'bridge.ADD'), JSON.stringify({ code: 999, msg: 'killed' }));
  writeFileSync(join(d, 'fail', 'portmap.DEL'), JSON.stringify({ code: 999, msg: 'killed' }));
  await assert.rejects(cni().setUp(ids()));
  rmSync(join(d, 'fail', 'bridge.ADD'));
  rmSync(join(d, 'fail', 'portmap.DEL'));
  const before = calls().length;
  assert.deepEqual((await cni().setUp(ids())).ips, ['10.231.0.7']);
  assert.deepEqual(calls().slice(before), [
    `portmap DEL ${netns} eth0 sb1`,
    `bridge DEL ${netns} eth0 sb1`,
    `loopback DEL ${netns} lo sb1`,
    `loopback ADD ${netns} lo sb1`,
    `bridge ADD ${netns} eth0 sb1`,
    `portmap ADD ${netns} eth0 sb1`,
  ]);
});

test("the host's own network namespace is refused before any plugin runs", async () => {
  await assert.rejects(cni().setUp({ ...ids(), netnsPath: '/proc/self/ns/net' }), (e: Error) => {
    assert.equal(categoryOf(e), 'InvalidArgument');
    assert.match(e.message, /is the host's network namespace/);
    return true;
  });
  await assert.rejects(cni().setUp({ ...ids(), netnsPath: join(d, 'nothing') }), /does not exist/);
  assert.deepEqual(calls(), []);
});

test('tearDown when the path now names another namespace (a reused pid) tells the plugins none, so they touch nothing there', async () => {
  await cni().setUp(ids());
  // Another file at the same path: what /proc/<pid>/ns/net is after the pid went to another process.
  writeFileSync(`${netns}.other`, '');
  renameSync(`${netns}.other`, netns);
  await cni().tearDown(ids());
  assert.deepEqual(calls().slice(3), ['portmap DEL - eth0 sb1', 'bridge DEL - eth0 sb1']);
});
