/**
 * The warm pool on a user network (issue 15, targets 3 and 5), through the docker CLI: once
 * the last starts were on a user network, the pool's sandboxes are wired to it ahead (a veth
 * on its bridge, an address from its subnet); a container that takes one has an address of
 * that subnet, answers by its name in the network's DNS and finds the others by theirs, and
 * nothing of the container before it; `docker network rm` of the network succeeds with
 * sandboxes on it (no container uses it) and they go; a SIGKILL of the daemon leaves none of
 * their veths or addresses once it is back. A container came from the pool when its ID is one
 * of the sandboxes' directories that were there before its create.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  startDaemon,
  startDaemonWithBusybox,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  eventually,
  type Daemon,
} from './harness.ts';

/** A subnet of this run's own (tests of other daemons may run beside it). */
const NET = `10.${150 + (process.pid % 100)}.44`;
const TINY = `10.${150 + (process.pid % 100)}.45`;
let d: Daemon;
before(async () => {
  d = await startDaemonWithBusybox(['--warm-pool', '2']);
});
after(async () => {
  if (d) {
    await docker(d, ['rm', '-f', 'web', 'second']);
    await docker(d, ['network', 'rm', 'wpnet']);
    await docker(d, ['network', 'rm', 'tiny']);
  }
  await cleanup(d);
});

const containersDir = (daemon: Daemon) => join(daemon.root, 'data', 'containers');

/** The sandboxes the pool holds now (directories of no container), with the address their /etc/hosts names. */
async function sandboxes(daemon: Daemon): Promise<Map<string, string>> {
  const ids = new Set((await dockerOk(daemon, ['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean));
  const dir = containersDir(daemon);
  const out = new Map<string, string>();
  for (const id of existsSync(dir) ? readdirSync(dir) : []) {
    if (!/^[0-9a-f]{64}$/.test(id) || ids.has(id)) continue;
    const hosts = existsSync(join(dir, id, 'hosts')) ? readFileSync(join(dir, id, 'hosts'), 'utf8') : '';
    out.set(id, new RegExp(`^(\\S+)\\t${id.slice(0, 12)}$`, 'm').exec(hosts)?.[1] ?? '');
  }
  return out;
}

/** Waits until the pool holds 2 ready sandboxes whose addresses all start with `prefix` ('' for none), and returns their IDs. */
async function ready(daemon: Daemon, prefix: string): Promise<string[]> {
  const full = await eventually(async () => {
    if (!(await dockerOk(daemon, ['info'])).includes('Warm pool: 2 of 2 ready')) return undefined;
    const s = await sandboxes(daemon);
    const ok = s.size === 2 && [...s.values()].every((ip) => (prefix ? ip.startsWith(prefix) : ip === ''));
    return ok ? [...s.keys()] : undefined;
  }, 30_000);
  assert.ok(full, `the pool did not fill on ${prefix || 'none'}: ${JSON.stringify([...(await sandboxes(daemon))])}`);
  return full;
}

/** Whether a network interface of that name exists on the host. */
const linkExists = (name: string) => spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;
/** The host end of a user network sandbox's veth (user.ts's reserve). */
const vethOf = (id: string, netId: string) => `vu${id.slice(0, 7)}${netId.slice(0, 6)}`;

test('after starts on a user network, pooled containers on it get its addresses, find each other by name, and nothing of the one before', async () => {
  const netId = (await dockerOk(d, ['network', 'create', '--subnet', `${NET}.0/24`, 'wpnet'])).trim();
  // The pool follows the last starts' networks: these two make it hold sandboxes on wpnet.
  for (let i = 0; i < 2; i++) await dockerOk(d, ['run', '--rm', '--network', 'wpnet', 'busybox', 'true']);
  const pool = await ready(d, `${NET}.`);
  // Wired ahead: each sandbox's veth is on the network's bridge before any create.
  for (const id of pool) assert.ok(linkExists(vethOf(id, netId)), `the veth of sandbox ${id.slice(0, 12)}`);
  // ...but none answers in its DNS, nor shows in network inspect.
  const inspect = JSON.parse(await dockerOk(d, ['network', 'inspect', 'wpnet'])) as Array<{ Containers: object }>;
  assert.deepEqual(inspect[0]!.Containers, {});

  const web = (
    await dockerOk(d, [
      'run',
      '-d',
      '--name',
      'web',
      '--network',
      'wpnet',
      '--network-alias',
      'www',
      'busybox',
      'sh',
      '-c',
      'echo secret > /leak; export LEAK=yes; sleep 1000 & exec sleep 1001',
    ])
  ).trim();
  assert.ok(pool.includes(web), 'web came from the pool');
  const webIp = (await dockerOk(d, ['inspect', '-f', '{{.NetworkSettings.Networks.wpnet.IPAddress}}', 'web'])).trim();
  assert.match(webIp, new RegExp(`^${NET.replace(/\./g, '\\.')}\\.\\d+$`));

  const pool2 = await ready(d, `${NET}.`);
  const second = (
    await dockerOk(d, [
      'run',
      '-d',
      '--name',
      'second',
      '--network',
      'wpnet',
      'busybox',
      'sh',
      '-c',
      'ip -4 -o addr show eth0; nslookup web; nslookup www; cat /leak 2>&1; echo "LEAK=$LEAK"; ps -o pid,args; echo done; exec sleep 999',
    ])
  ).trim();
  assert.ok(pool2.includes(second), 'second came from the pool');
  const logs = await eventually(async () => {
    const out = await dockerOk(d, ['logs', 'second']);
    return out.includes('done') ? out : undefined;
  }, 20_000);
  assert.ok(logs, 'second ran its checks');
  const secondIp = (
    await dockerOk(d, ['inspect', '-f', '{{.NetworkSettings.Networks.wpnet.IPAddress}}', 'second'])
  ).trim();
  assert.notEqual(secondIp, webIp);
  // Its address is the one inspect shows, in the network's subnet, on eth0.
  assert.match(logs, new RegExp(`eth0\\s+inet ${secondIp.replace(/\./g, '\\.')}/24`));
  // The other container's name and alias answer in the network's DNS, with its address.
  const answers = logs.split('\n').filter((l) => /^Address:?\s/.test(l) && !l.includes('#53') && !l.includes(':53'));
  assert.equal(answers.filter((l) => l.includes(webIp)).length, 2, logs);
  // Nothing of the container before it: its file, its variable, its processes.
  assert.match(logs, /cat: can't open '\/leak': No such file or directory/);
  assert.match(logs, /^LEAK=$/m);
  assert.doesNotMatch(logs, /sleep 100[01]/);
  // And its own name answers for the others from its start: registered when it took the sandbox.
  const fromWeb = await dockerOk(d, ['exec', 'web', 'nslookup', 'second']);
  assert.match(fromWeb, new RegExp(`Address:?\\s+${secondIp.replace(/\./g, '\\.')}`));
  const names = JSON.parse(await dockerOk(d, ['network', 'inspect', 'wpnet'])) as Array<{
    Containers: Record<string, { Name: string }>;
  }>;
  assert.deepEqual(
    Object.values(names[0]!.Containers)
      .map((c) => c.Name)
      .sort(),
    ['second', 'web'],
  );
});

test('docker network rm of a network the pool holds sandboxes on succeeds when no container uses it, and the sandboxes go', async () => {
  await dockerOk(d, ['rm', '-f', 'web', 'second']);
  const netId = (await dockerOk(d, ['network', 'inspect', '-f', '{{.Id}}', 'wpnet'])).trim();
  const pool = await ready(d, `${NET}.`);
  const r = await docker(d, ['network', 'rm', 'wpnet']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!linkExists(`bn-${netId.slice(0, 12)}`), 'the bridge is gone');
  for (const id of pool) {
    assert.ok(!existsSync(join(containersDir(d), id)), `sandbox ${id.slice(0, 12)} is gone`);
    assert.ok(!linkExists(vethOf(id, netId)), `the veth of sandbox ${id.slice(0, 12)} is gone`);
  }
  // The pool holds sandboxes elsewhere again (without the network, on the default: lo alone here).
  await ready(d, '');
  // The name and subnet are free: the network is made again, and a start on it works.
  await dockerOk(d, ['network', 'create', '--subnet', `${NET}.0/24`, 'wpnet']);
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--network',
    'wpnet',
    'busybox',
    'ip',
    '-4',
    '-o',
    'addr',
    'show',
    'eth0',
  ]);
  assert.match(out, new RegExp(`inet ${NET.replace(/\./g, '\\.')}\\.\\d+/24`));
});

test('a daemon killed with SIGKILL with sandboxes pooled on a user network leaves none of their veths or addresses once it is back', async () => {
  const netId = (await dockerOk(d, ['network', 'inspect', '-f', '{{.Id}}', 'wpnet'])).trim();
  for (let i = 0; i < 2; i++) await dockerOk(d, ['run', '--rm', '--network', 'wpnet', 'busybox', 'true']);
  const pool = await ready(d, `${NET}.`);
  await stopDaemon(d, 'kill');
  const back = await startDaemon(d.extraArgs, d.root);
  Object.assign(d, { proc: back.proc, log: back.log });
  // Back with no starts yet: the pool is on the default network, and what the SIGKILL left is swept.
  await ready(d, '');
  for (const id of pool) {
    assert.ok(!existsSync(join(containersDir(d), id)), 'the next start removes what a SIGKILL left');
    assert.ok(!linkExists(vethOf(id, netId)), `the veth of sandbox ${id.slice(0, 12)} is gone`);
  }
  const db = new DatabaseSync(join(d.root, 'data', 'network', 'user-ipam.db'), { readOnly: true });
  try {
    const owners = (db.prepare('SELECT DISTINCT owner FROM ipam_allocations').all() as Array<{ owner: string }>).map(
      (r) => r.owner,
    );
    assert.deepEqual(
      owners.filter((o) => pool.includes(o)),
      [],
    );
  } finally {
    db.close();
  }
});

test("the pool's sandboxes never make a user network look full: a container needing their addresses gets them", async () => {
  // A /29: five addresses beside the gateway. The daemon is just back (the test before): no starts yet but these.
  await dockerOk(d, ['network', 'create', '--subnet', `${TINY}.48/29`, 'tiny']);
  try {
    for (let i = 0; i < 2; i++) await dockerOk(d, ['run', '--rm', '--network', 'tiny', 'busybox', 'true']);
    await ready(d, `${TINY}.`);
    // Requests no sandbox fits (a hostname of their own): without the pool all five get an address, so with it.
    for (let i = 0; i < 5; i++) {
      const r = await docker(d, [
        'run',
        '-d',
        '--name',
        `t${i}`,
        '--hostname',
        `t${i}`,
        '--network',
        'tiny',
        'busybox',
        'sleep',
        '1000',
      ]);
      assert.equal(r.code, 0, `t${i}: ${r.stderr}`);
    }
    const ips = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) =>
        (await dockerOk(d, ['inspect', '-f', '{{.NetworkSettings.Networks.tiny.IPAddress}}', `t${i}`])).trim(),
      ),
    );
    assert.equal(new Set(ips).size, 5, ips.join(' '));
    // A sixth finds none, as it would without the pool.
    const r = await docker(d, ['run', '-d', '--name', 't5', '--network', 'tiny', 'busybox', 'sleep', '1000']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no available IPv4 addresses/);
    // An address a sandbox holds, asked for with --ip, is given too.
    await dockerOk(d, ['rm', '-f', 't0', 't1', 't5']);
    const pool = await ready(d, `${TINY}.`);
    const held = [...(await sandboxes(d)).values()];
    assert.equal(pool.length, 2);
    const ip = await docker(d, [
      'run',
      '--rm',
      '--network',
      'tiny',
      '--ip',
      held[0]!,
      'busybox',
      'ip',
      '-4',
      '-o',
      'addr',
      'show',
      'eth0',
    ]);
    assert.equal(ip.code, 0, ip.stderr);
    assert.match(ip.stdout, new RegExp(`inet ${held[0]!.replace(/\./g, '\\.')}/29`));
  } finally {
    await docker(d, ['rm', '-f', 't0', 't1', 't2', 't3', 't4', 't5']);
    await docker(d, ['network', 'rm', 'tiny']);
  }
});
