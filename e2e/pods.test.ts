/**
 * Pods end to end, through the `berth` CLI, the docker CLI and curl against a private berthd
 * (with a bridge of its own and live restore): a web server and a sidecar sharing localhost,
 * /etc/hosts and the pod's host name, the pod's published port reaching the member that
 * listens, the lifecycle commands and their refusals, the Libpod endpoints, a pod that
 * outlives a daemon restart, and no cgroup left once a pod is gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { spawn } from 'node:child_process';
import {
  type Daemon,
  berth,
  cleanup,
  docker,
  eventually,
  freePort,
  REPO,
  run,
  startDaemon,
  startDaemonWithBusybox,
  stopDaemon,
} from './harness.ts';

const BRIDGE = `bpo${process.pid % 100000}`;
let d: Daemon;
before(async () => (d = await startDaemonWithBusybox(['--bridge', BRIDGE, '--live-restore', '--log-level', 'debug'])));
after(() => cleanup(d));

async function ok(args: string[]): Promise<string> {
  const r = await berth(d, args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function httpGet(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const HTTPD = ['sh', '-c', 'echo hello from the pod > /tmp/index.html; exec httpd -f -p 80 -h /tmp'];

test('a two-container pod: the sidecar reaches the web server on localhost, shares /etc/hosts and the host name, and the published port reaches the server', async () => {
  const port = await freePort();
  const id = (await ok(['pod', 'create', '--name', 'web', '-p', `${port}:80`, '--label', 'app=demo'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  await ok(['run', '-d', '--pod', 'web', '--name', 'web-httpd', 'busybox', ...HTTPD]);
  const out = await ok([
    'run',
    '--rm',
    '--pod',
    'web',
    'busybox',
    'sh',
    '-c',
    'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://localhost/index.html && break; sleep 0.2; done; hostname; cat /etc/hosts',
  ]);
  assert.match(out, /hello from the pod/);
  assert.match(out, /^web$/m, 'the pod name is the host name');
  const hosts = await ok(['exec', 'web-httpd', 'cat', '/etc/hosts']);
  assert.ok(out.endsWith(hosts), 'members see one /etc/hosts');
  assert.equal(await eventually(() => httpGet(port, '/index.html').catch(() => '')), 'hello from the pod\n');

  const ps = await ok(['pod', 'ps']);
  assert.match(ps, /^POD ID\s+NAME\s+STATUS\s+CREATED\s+INFRA ID\s+# OF CONTAINERS$/m);
  assert.match(ps, new RegExp(`^${id.slice(0, 12)}\\s+web\\s+Running\\s+.*\\s+2$`, 'm'));
  // Docker-API clients see the member with labels naming its pod.
  const labels = (await docker(d, ['inspect', '-f', '{{json .Config.Labels}}', 'web-httpd'])).stdout;
  assert.equal(JSON.parse(labels)['io.berth.pod.name'], 'web');
  assert.equal(JSON.parse(labels)['io.berth.pod.id'], id);
  await ok(['pod', 'rm', '-f', 'web']);
});

test('pod lifecycle: stop, start, kill, pause and rm act on every member; rm without force and removing the infra alone are refused', async () => {
  await ok(['pod', 'create', '--name', 'life']);
  // Members that end on SIGTERM, so stop and restart are quick.
  const idle = ['busybox', 'sh', '-c', "trap 'exit 0' TERM; while :; do sleep 0.1; done"];
  await ok(['create', '--pod', 'life', '--name', 'life-a', ...idle]);
  await ok(['create', '--pod', 'life', '--name', 'life-b', ...idle]);
  assert.match(await ok(['pod', 'ps', '--filter', 'name=life']), /life\s+Created/);
  await ok(['pod', 'start', 'life']);
  const inspect = JSON.parse(await ok(['pod', 'inspect', 'life']));
  assert.equal(inspect.State, 'Running');
  assert.equal(inspect.NumContainers, 3);
  assert.deepEqual(inspect.SharedNamespaces, ['ipc', 'net', 'uts']);
  assert.ok(inspect.Containers.every((c: { State: string }) => c.State === 'running'));

  const rmInfra = await docker(d, ['rm', '-f', inspect.InfraContainerID]);
  assert.notEqual(rmInfra.code, 0);
  assert.match(rmInfra.stderr, /is the infra container of pod "life" and cannot be removed without removing the pod/);
  const rm = await berth(d, ['pod', 'rm', 'life']);
  assert.equal(rm.code, 125);
  assert.match(rm.stderr, /pod has running containers: stop it first or use force/);
  const half = await berth(d, ['run', '-d', '--pod', 'life', '-p', '9999:80', 'busybox', 'true']);
  assert.equal(half.code, 125);
  assert.match(half.stderr, /published or exposed ports must be defined when the pod is created/);

  await ok(['pod', 'pause', 'life']);
  assert.equal(JSON.parse(await ok(['pod', 'inspect', 'life'])).State, 'Paused');
  await ok(['pod', 'unpause', 'life']);
  await ok(['pod', 'stop', '-t', '1', 'life']);
  assert.equal(JSON.parse(await ok(['pod', 'inspect', 'life'])).State, 'Exited');
  await ok(['pod', 'restart', 'life']);
  assert.equal(JSON.parse(await ok(['pod', 'inspect', 'life'])).State, 'Running');
  await ok(['pod', 'kill', 'life']);
  await eventually(async () => JSON.parse(await ok(['pod', 'inspect', 'life'])).State === 'Exited');
  assert.match(await ok(['pod', 'prune', '-f']), new RegExp(inspect.Id));
  assert.equal((await berth(d, ['pod', 'exists', 'life'])).code, 1);
  assert.doesNotMatch(await ok(['ps', '-a']), /life-a|life-b/);
});

test("a pod's logs show every member's lines, prefixed with its container", async () => {
  await ok(['pod', 'create', '--name', 'chatty']);
  await ok(['run', '--pod', 'chatty', '--name', 'chatty-a', 'busybox', 'echo', 'from a']);
  await ok(['create', '--pod', 'chatty', '--name', 'chatty-b', 'busybox', 'echo', 'from b']);
  await ok(['start', '-a', 'chatty-b']);
  const ids = (await ok(['ps', '-aq', '--no-trunc', '--filter', 'name=chatty-'])).trim().split('\n');
  assert.equal(ids.length, 2);
  const logs = await ok(['pod', 'logs', 'chatty']);
  for (const id of ids) assert.match(logs, new RegExp(`^${id.slice(0, 12)} from [ab]$`, 'm'));
  await ok(['pod', 'rm', '-f', 'chatty']);
});

test('pod logs interleave the members in time order, by name with -n, and follow them with -f', async () => {
  await ok(['pod', 'create', '--name', 'talk']);
  await ok(['run', '-d', '--pod', 'talk', '--name', 'talk-a', 'busybox', 'sleep', '1000']);
  await ok(['run', '-d', '--pod', 'talk', '--name', 'talk-b', 'busybox', 'sleep', '1000']);
  // Lines written into each member's output in turn: a 1, b 2, a 3, b 4.
  const say = (c: string, what: string) => ok(['exec', c, 'sh', '-c', `echo ${what} > /proc/1/fd/1`]);
  for (const [c, what] of [
    ['talk-a', '1'],
    ['talk-b', '2'],
    ['talk-a', '3'],
    ['talk-b', '4'],
  ] as const)
    await say(c, what);
  await eventually(async () => /4/.test(await ok(['logs', 'talk-b'])));
  assert.equal(await ok(['pod', 'logs', '-n', 'talk']), 'talk-a 1\ntalk-b 2\ntalk-a 3\ntalk-b 4\n');
  assert.match(await ok(['pod', 'logs', '-t', '-c', 'talk-b', 'talk']), /^[0-9a-f]{12} \d{4}-\d\d-\d\dT[\d:.]+Z 2\n/);
  const follow = spawn(join(REPO, 'bin/berth'), ['-H', d.host, 'pod', 'logs', '-f', '-n', 'talk']);
  let seen = '';
  follow.stdout.on('data', (c: Buffer) => (seen += c.toString()));
  try {
    await say('talk-a', 'late');
    await eventually(async () => /^talk-a late$/m.test(seen));
    assert.equal(follow.exitCode, null, 'still following');
  } finally {
    follow.kill();
    await ok(['pod', 'rm', '-f', 'talk']);
  }
});

test('pod top and pod stats show the running members of a pod', async () => {
  await ok(['pod', 'create', '--name', 'busy']);
  await ok(['run', '-d', '--pod', 'busy', '--name', 'busy-a', 'busybox', 'sleep', '1001']);
  await ok(['run', '-d', '--pod', 'busy', '--name', 'busy-b', 'busybox', 'sleep', '1002']);
  const top = await ok(['pod', 'top', 'busy']);
  assert.match(top, /sleep 1001/);
  assert.match(top, /sleep 1002/);
  const stats = await ok(['pod', 'stats', '--no-stream', 'busy']);
  assert.match(stats, /^POD\s+CID\s+NAME\s+CPU %\s+MEM USAGE\/ LIMIT\s+MEM %\s+NET IO\s+BLOCK IO\s+PIDS$/m);
  assert.match(stats, /busy-a/);
  assert.match(stats, /busy-b/);
  await ok(['pod', 'rm', '-f', 'busy']);
});

test("a pod's --cgroup-parent holds the cgroups of its infra and its members", async () => {
  const parent = `berth-e2e-pod-${process.pid}`;
  await ok(['pod', 'create', '--name', 'grouped', '--cgroup-parent', `/${parent}`]);
  const id = (await ok(['run', '-d', '--pod', 'grouped', 'busybox', 'sleep', '1000'])).trim();
  const infra = JSON.parse(await ok(['pod', 'inspect', 'grouped'])).InfraContainerID;
  const dirs = () =>
    ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids', '/sys/fs/cgroup'].map((root) => join(root, parent));
  try {
    const base = dirs().find((d) => existsSync(d));
    assert.ok(base, 'the parent cgroup exists');
    assert.ok(existsSync(join(base, id)), 'the member is under it');
    assert.ok(existsSync(join(base, infra)), 'the infra is under it');
  } finally {
    await ok(['pod', 'rm', '-f', 'grouped']);
    // In cpuset and name=systemd the parent also holds Berth's shared directory of the containers
    // that ask for neither (runtime/cgroup-share.ts), which stays as dockerd's parents do.
    for (const root of readdirSync('/sys/fs/cgroup')) {
      rmdirIfThere(join('/sys/fs/cgroup', root, parent, 'berth-shared'));
      rmdirIfThere(join('/sys/fs/cgroup', root, parent));
    }
    rmdirIfThere(join('/sys/fs/cgroup', parent));
  }
});

/** The inode of a process's namespace, as the host sees it: equal inodes are one namespace. */
function nsInode(pid: number, ns: string): number {
  return statSync(`/proc/${pid}/ns/${ns}`).ino;
}

async function pidOf(ref: string): Promise<number> {
  return Number((await docker(d, ['inspect', '-f', '{{.State.Pid}}', ref])).stdout.trim());
}

test("members whose tasks were made while their CLI started (pod create, then run --pod) are in the infra's namespaces, run their own command as PID 1 and show nothing of it in diff", async () => {
  await ok(['pod', 'create', '--name', 'ahead']);
  const infra = JSON.parse(await ok(['pod', 'inspect', 'ahead'])).InfraContainerID as string;
  // The time a CLI takes to start, in which the member's task is made.
  await delay(1000);
  const a = (await ok(['run', '-d', '--pod', 'ahead', '-e', 'WHO=a', '-w', '/tmp', 'busybox', 'sleep', '1001'])).trim();
  const b = (await ok(['run', '-d', '--pod', 'ahead', '--user', 'nobody', 'busybox', 'sleep', '1002'])).trim();
  try {
    const infraPid = await pidOf(infra);
    for (const id of [a, b]) {
      const pid = await pidOf(id);
      for (const ns of ['net', 'ipc', 'uts']) assert.equal(nsInode(pid, ns), nsInode(infraPid, ns), `${ns} of ${id}`);
      assert.notEqual(nsInode(pid, 'pid'), nsInode(infraPid, 'pid'), 'a PID namespace of its own');
      assert.doesNotMatch((await docker(d, ['diff', id])).stdout, /zygote/);
    }
    assert.equal((await ok(['exec', a, 'cat', '/proc/1/cmdline'])).replace(/\0/g, ' ').trim(), 'sleep 1001');
    assert.equal((await ok(['exec', a, 'sh', '-c', 'echo $WHO $PWD'])).trim(), 'a /tmp');
    assert.equal((await ok(['exec', b, 'id', '-un'])).trim(), 'nobody');
    assert.equal((await ok(['exec', b, 'hostname'])).trim(), 'ahead');
    if (/level=debug/.test(d.log())) assert.match(d.log(), new RegExp(`create ${a.slice(0, 12)}: a warm sandbox`));
  } finally {
    await ok(['pod', 'rm', '-f', 'ahead']);
  }
});

test("a member made ahead whose infra's task was remade before the pod started gets a task in the new one's namespaces", async () => {
  await ok(['pod', 'create', '--name', 'remade']);
  const infra = JSON.parse(await ok(['pod', 'inspect', 'remade'])).InfraContainerID as string;
  await delay(1000);
  const m = (await ok(['create', '--pod', 'remade', 'busybox', 'sleep', '1003'])).trim();
  await delay(300);
  // An update takes down the infra's task created ahead: its start makes a new one.
  assert.equal((await docker(d, ['update', '--cpu-shares', '512', infra])).code, 0);
  await ok(['start', m]);
  try {
    const pid = await pidOf(m);
    const infraPid = await pidOf(infra);
    for (const ns of ['net', 'ipc', 'uts']) assert.equal(nsInode(pid, ns), nsInode(infraPid, ns), ns);
    assert.equal((await ok(['exec', m, 'cat', '/proc/1/cmdline'])).replace(/\0/g, ' ').trim(), 'sleep 1003');
  } finally {
    await ok(['pod', 'rm', '-f', 'remade']);
  }
});

function rmdirIfThere(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // absent, or not a directory of this controller
  }
}

test("a pod on a user network resolves the network's containers by name; a pod on the host's network has the host's name", async () => {
  await ok(['network', 'create', 'podnet']);
  try {
    await ok(['pod', 'create', '--name', 'netted', '--network', 'podnet']);
    await ok(['run', '-d', '--name', 'neighbour', '--network', 'podnet', 'busybox', 'sleep', '1000']);
    const out = await ok(['run', '--rm', '--pod', 'netted', 'busybox', 'ping', '-c1', '-W2', 'neighbour']);
    assert.match(out, /1 packets received/);
    assert.equal(JSON.parse(await ok(['pod', 'inspect', 'netted'])).InfraConfig.Networks[0], 'podnet');
    await ok(['pod', 'create', '--name', 'onhost', '--network', 'host']);
    assert.equal((await ok(['run', '--rm', '--pod', 'onhost', 'busybox', 'hostname'])).trim(), hostname());
  } finally {
    await berth(d, ['pod', 'rm', '-f', 'netted', 'onhost']);
    await berth(d, ['rm', '-f', 'neighbour']);
    await berth(d, ['network', 'rm', 'podnet']);
  }
});

test('the Libpod endpoints answer curl with Podman JSON field names and status codes', async () => {
  const curl = async (method: string, path: string, body?: string) => {
    const args = ['-s', '-o', '-', '-w', '\n%{http_code}', '--unix-socket', d.sock, '-X', method];
    if (body) args.push('-H', 'Content-Type: application/json', '-d', body);
    const r = await run('curl', [...args, `http://d/v4.3.1/libpod/pods${path}`]);
    const lines = r.stdout.split('\n');
    return { status: Number(lines.pop()), body: lines.join('\n') };
  };
  const made = await curl('POST', '/create', JSON.stringify({ name: 'api', labels: { via: 'curl' } }));
  assert.equal(made.status, 201, made.body);
  const { Id } = JSON.parse(made.body);
  assert.equal((await curl('GET', '/api/exists')).status, 204);
  assert.equal((await curl('GET', '/nothere/exists')).status, 404);
  assert.equal((await curl('POST', '/api/start')).status, 200);
  assert.equal((await curl('POST', '/api/start')).status, 304);
  const list = JSON.parse((await curl('GET', '/json?filters=' + encodeURIComponent('{"label":["via=curl"]}'))).body);
  assert.equal(list.length, 1);
  assert.equal(list[0].Id, Id);
  assert.equal(list[0].Status, 'Running');
  assert.ok(list[0].InfraId);
  const info = JSON.parse((await curl('GET', '/api/json')).body);
  assert.equal(info.Name, 'api');
  assert.equal(info.InfraContainerID, list[0].InfraId);
  const stop = await curl('POST', '/api/stop?t=1');
  assert.deepEqual(JSON.parse(stop.body), { Errs: [], Id });
  const del = await curl('DELETE', '/api?force=true');
  assert.equal(del.status, 200);
  assert.equal(JSON.parse(del.body).Id, Id);
  assert.deepEqual(Object.keys(JSON.parse(del.body).RemovedCtrs), [info.InfraContainerID]);
  assert.equal((await curl('GET', '/api/json')).status, 404);
});

test("Podman's own client (podman --remote) creates, lists, starts, stops and removes Berth's pods", async () => {
  const podman = (args: string[]) =>
    run('podman', ['--remote', '--url', `unix://${d.sock}`, ...args], { timeoutMs: 60_000 });
  const made = await podman(['pod', 'create', '--name', 'remote', '--label', 'via=podman']);
  assert.equal(made.code, 0, made.stderr);
  await ok(['create', '--pod', 'remote', '--name', 'remote-a', 'busybox', 'sleep', '1000']);
  const ps = await podman(['pod', 'ps']);
  assert.match(ps.stdout, /^POD ID\s+NAME\s+STATUS\s+CREATED\s+INFRA ID\s+# OF CONTAINERS$/m);
  assert.match(ps.stdout, /remote\s+Created\s+.*\s2$/m);
  assert.equal((await podman(['pod', 'start', 'remote'])).stdout.trim(), made.stdout.trim());
  const inspect = JSON.parse((await podman(['pod', 'inspect', 'remote'])).stdout);
  assert.equal(inspect.State, 'Running');
  assert.deepEqual(inspect.Labels, { via: 'podman' });
  assert.match((await podman(['pod', 'top', 'remote'])).stdout, /sleep 1000/);
  // podman run puts a container in the pod through Libpod's create (its spec generator).
  const runB = await podman([
    'run',
    '-d',
    '--pod',
    'remote',
    '--name',
    'remote-b',
    '-e',
    'WHO=podman',
    '-w',
    '/tmp',
    '--user',
    '1000',
    'busybox',
    'sleep',
    '1000',
  ]);
  assert.equal(runB.code, 0, runB.stderr);
  assert.equal(await ok(['exec', 'remote-b', 'sh', '-c', 'echo $WHO $(id -u) $(pwd)']), 'podman 1000 /tmp\n');
  const ns = (c: string, kind: string) => ok(['exec', c, 'readlink', `/proc/self/ns/${kind}`]);
  assert.equal(await ns('remote-b', 'net'), await ns('remote-a', 'net'), "the pod's network namespace");
  assert.equal(await ns('remote-b', 'uts'), await ns('remote-a', 'uts'), "the pod's UTS namespace");
  assert.equal(await ok(['exec', 'remote-b', 'hostname']), await ok(['exec', 'remote-a', 'hostname']));
  assert.equal(JSON.parse(await ok(['pod', 'inspect', 'remote'])).NumContainers, 3);
  // pod stats: a line per running container, Podman's figures.
  const stats = await podman(['pod', 'stats', '--no-stream', '--format', 'json', 'remote']);
  assert.equal(stats.code, 0, stats.stderr);
  const lines = JSON.parse(stats.stdout) as Array<Record<string, string>>;
  assert.deepEqual(
    lines.map((l) => l.Name).sort(),
    ['remote-a', 'remote-b', `${inspect.Id.slice(0, 12)}-infra`].sort(),
  );
  for (const l of lines) {
    assert.equal(l.Pod, inspect.Id.slice(0, 12));
    assert.match(l.CPU!, /^\d+\.\d\d%$/);
    assert.match(l.MemUsage!, /^[\d.]+k?B \/ [\d.]+[kMGT]?B$/);
    assert.equal(l.PIDS, '1');
  }
  assert.equal((await podman(['pod', 'stop', '-t', '1', 'remote'])).code, 0);
  assert.equal((await podman(['pod', 'rm', 'remote'])).code, 0);
  assert.equal((await podman(['pod', 'exists', 'remote'])).code, 1);
});

test("podman --remote events shows a pod's events and its members' between --since and --until, and filters them", async () => {
  const podman = (args: string[]) =>
    run('podman', ['--remote', '--url', `unix://${d.sock}`, ...args], { timeoutMs: 60_000 });
  const since = Math.floor(Date.now() / 1000) - 1;
  const made = await podman(['pod', 'create', '--name', 'evpod']);
  assert.equal(made.code, 0, made.stderr);
  const podId = made.stdout.trim();
  await ok(['run', '-d', '--pod', 'evpod', '--name', 'evpod-a', 'busybox', 'sh', '-c', 'exit 3']);
  assert.ok(
    await eventually(async () => (await ok(['inspect', '-f', '{{.State.Status}}', 'evpod-a'])).trim() === 'exited'),
  );
  assert.equal((await podman(['pod', 'rm', '-f', 'evpod'])).code, 0);
  const until = String(Math.floor(Date.now() / 1000) + 2);
  const fmt = '{{.Type}} {{.Status}} {{.Name}} {{.ContainerExitCode}}';
  // --until in the past or near: podman prints what happened and returns
  // podman events between since and until, with these filters, in this format
  const events = (format: string, ...filters: string[]) =>
    podman([
      'events',
      '--since',
      String(since),
      '--until',
      until,
      ...filters.flatMap((f) => ['--filter', f]),
      '--format',
      format,
    ]);
  const all = await events(fmt);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split('\n');
  for (const want of [
    'pod create evpod 0',
    'container create evpod-a 0',
    'container start evpod-a 0',
    'container died evpod-a 3',
    'container remove evpod-a 0',
    'pod remove evpod 0',
  ])
    assert.ok(lines.includes(want), `${want} in:\n${all.stdout}`);
  assert.ok(lines.indexOf('pod create evpod 0') < lines.indexOf('container create evpod-a 0'));
  const pods = await events('{{.Type}} {{.Status}} {{.ID}}', 'type=pod');
  // only pod events; the second before `since` may hold an earlier test's pod too
  const podLines = pods.stdout.trim().split('\n');
  assert.ok(
    podLines.every((l) => l.startsWith('pod ')),
    pods.stdout,
  );
  assert.deepEqual(
    podLines.filter((l) => l.endsWith(podId)),
    [`pod create ${podId}`, `pod remove ${podId}`],
  );
  const died = await events(fmt, 'event=died', 'container=evpod-a');
  assert.equal(died.stdout, 'container died evpod-a 3\n');
  // the same through curl: Libpod's JSON, one object a line, stream=false ends the answer
  const filters = encodeURIComponent('{"type":["pod"]}');
  const raw = await run('curl', [
    '-sf',
    '--unix-socket',
    d.sock,
    `http://d/v4.3.1/libpod/events?stream=false&filters=${filters}`,
  ]);
  assert.equal(raw.code, 0, raw.stderr);
  const ev = raw.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.Actor.ID === podId);
  assert.deepEqual(
    ev.map((e) => [e.Type, e.Action, e.Actor.Attributes.name, e.Actor.Attributes.containerExitCode]),
    [
      ['pod', 'create', 'evpod', '0'],
      ['pod', 'remove', 'evpod', '0'],
    ],
  );
});

test("podman --remote logs and pod logs -c show a member's output and errors, since a time or not", async () => {
  const podman = (args: string[]) =>
    run('podman', ['--remote', '--url', `unix://${d.sock}`, ...args], { timeoutMs: 60_000 });
  assert.equal((await podman(['pod', 'create', '--name', 'logpod'])).code, 0);
  try {
    await ok([
      'run',
      '-d',
      '--pod',
      'logpod',
      '--name',
      'logpod-a',
      'busybox',
      'sh',
      '-c',
      'echo out-a; echo err-a >&2; sleep 1000',
    ]);
    assert.ok(await eventually(async () => (await ok(['logs', 'logpod-a'])).includes('out-a')));
    const pl = await podman(['pod', 'logs', '-c', 'logpod-a', 'logpod']);
    assert.deepEqual([pl.code, pl.stdout, pl.stderr], [0, 'out-a\n', 'err-a\n']);
    const l = await podman(['logs', '--since', '10m', 'logpod-a']);
    assert.deepEqual([l.code, l.stdout, l.stderr], [0, 'out-a\n', 'err-a\n']);
    const later = await podman(['logs', '--since', '2099-01-01T00:00:00Z', 'logpod-a']);
    assert.deepEqual([later.code, later.stdout], [0, '']);
  } finally {
    await berth(d, ['pod', 'rm', '-f', 'logpod']);
  }
});

test("podman --remote pod pause, unpause, kill, restart and prune act on Berth's pod as Podman's would", async () => {
  const podman = (args: string[]) =>
    run('podman', ['--remote', '--url', `unix://${d.sock}`, ...args], { timeoutMs: 60_000 });
  assert.equal((await podman(['pod', 'create', '--name', 'lifepod'])).code, 0);
  try {
    await ok(['run', '-d', '--pod', 'lifepod', '--name', 'lifepod-a', 'busybox', 'sleep', '1000']);
    const state = async () => JSON.parse((await podman(['pod', 'inspect', 'lifepod'])).stdout).State;
    for (const [cmd, want] of [
      ['pause', 'Paused'],
      ['unpause', 'Running'],
      ['kill', 'Exited'],
      ['restart', 'Running'],
    ] as const) {
      const r = await podman(['pod', cmd, 'lifepod']);
      assert.equal(r.code, 0, `pod ${cmd}: ${r.stderr}`);
      assert.ok(await eventually(async () => (await state()) === want), `pod ${cmd} leaves it ${want}`);
    }
    assert.equal((await podman(['pod', 'stop', '-t', '0', 'lifepod'])).code, 0);
    const pruned = await podman(['pod', 'prune', '-f']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal((await podman(['pod', 'exists', 'lifepod'])).code, 1);
  } finally {
    await berth(d, ['pod', 'rm', '-f', 'lifepod']);
  }
});

test("Podman's own client runs containers in the foreground: output, exit codes, stdin, a terminal, --rm and --pod", async () => {
  const podman = (args: string[], input?: string) =>
    run('podman', ['--remote', '--url', `unix://${d.sock}`, ...args], { timeoutMs: 60_000, input });
  const hi = await podman(['run', '--rm', '--name', 'fg-hi', 'busybox', 'echo', 'hi']);
  assert.deepEqual([hi.code, hi.stdout, hi.stderr], [0, 'hi\n', '']);
  assert.ok(
    await eventually(async () => (await berth(d, ['inspect', 'fg-hi'])).code === 1),
    'the --rm container is removed',
  );
  // stdout and stderr on their own streams, the container's exit code as podman's
  const fail = await podman(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual([fail.code, fail.stdout, fail.stderr], [3, 'out\n', 'err\n']);
  // -i: the input reaches the container, whose stdin ends with it
  const cat = await podman(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], 'hello\n');
  assert.deepEqual([cat.code, cat.stdout], [0, 'hello\ndone\n']);
  // -t: one raw stream, the terminal's line endings
  const tty = await podman(['run', '--rm', '-t', 'busybox', 'echo', 'tty']);
  assert.deepEqual([tty.code, tty.stdout], [0, 'tty\r\n']);
  // in a pod: the pod's host name; without --rm the container stays, exited, for podman inspect
  await ok(['pod', 'create', '--name', 'fgpod']);
  const inPod = await podman(['run', '--pod', 'fgpod', '--name', 'fg-kept', 'busybox', 'hostname']);
  assert.deepEqual([inPod.code, inPod.stdout], [0, 'fgpod\n']);
  const inspected = await podman(['inspect', 'fg-kept']);
  assert.equal(inspected.code, 0, inspected.stderr);
  const [kept] = JSON.parse(inspected.stdout);
  assert.equal(kept.State.Status, 'exited');
  assert.equal(kept.Pod, JSON.parse(await ok(['pod', 'inspect', 'fgpod'])).Id);
  assert.equal(kept.Config.Tty, false);
  // podman ps lists it (Podman's list shape), and podman rm finds it by name through that list
  const ps = await podman(['ps', '-a', '--filter', 'name=fg-kept', '--format', '{{.Names}} {{.PodName}} {{.Status}}']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /^fg-kept fgpod Exited \(0\) .*ago\n$/);
  assert.equal((await podman(['rm', 'fg-kept'])).code, 0);
  assert.equal((await berth(d, ['inspect', 'fg-kept'])).code, 1);
  assert.equal((await podman(['pod', 'rm', '-f', 'fgpod'])).code, 0);
});

test('a pod outlives a daemon restart: live-restored members still share localhost, and it stops and starts again', async () => {
  await ok(['pod', 'create', '--name', 'lasting']);
  await ok(['run', '-d', '--pod', 'lasting', '--name', 'lasting-httpd', 'busybox', ...HTTPD]);
  await stopDaemon(d, 'term');
  d = await startDaemon(d.extraArgs, d.root);
  assert.equal(JSON.parse(await ok(['pod', 'inspect', 'lasting'])).State, 'Running');
  const probe = ['run', '--rm', '--pod', 'lasting', 'busybox', 'wget', '-qO-', 'http://localhost/index.html'];
  assert.match(await ok(probe), /hello from the pod/);
  await ok(['pod', 'stop', '-t', '1', 'lasting']);
  await ok(['pod', 'start', 'lasting']);
  assert.match(await eventually(async () => (await berth(d, probe)).stdout), /hello from the pod/);
  await ok(['pod', 'rm', '-f', 'lasting']);
});

test("without live restore, a member's restart policy brings it and its pod's infra back after the daemon's restart", async () => {
  await stopDaemon(d, 'term');
  d = await startDaemon(['--bridge', BRIDGE], d.root);
  await ok(['pod', 'create', '--name', 'policy']);
  await ok(['run', '-d', '--pod', 'policy', '--restart', 'always', '--name', 'policy-httpd', 'busybox', ...HTTPD]);
  // This daemon stops its containers when it stops; the next one starts them by their policies.
  await stopDaemon(d, 'term');
  d = await startDaemon(['--bridge', BRIDGE], d.root);
  const probe = ['run', '--rm', '--pod', 'policy', 'busybox', 'wget', '-qO-', 'http://localhost/index.html'];
  assert.match(await eventually(async () => (await berth(d, probe)).stdout, 20_000, 500), /hello from the pod/);
  assert.equal(JSON.parse(await ok(['pod', 'inspect', 'policy'])).State, 'Running');
  await ok(['pod', 'rm', '-f', 'policy']);
});

test("a pod's rm -f, its prune, and a daemon that stops its members leave no cgroup of the pod, its infra or its members behind", async () => {
  // Every cgroup of these IDs, in either layout (v1: one per controller; v2: one tree).
  const cgroupsOf = (ids: string[]) =>
    ['', ...readdirSync('/sys/fs/cgroup')]
      .flatMap((root) => ids.map((id) => join('/sys/fs/cgroup', root, 'berth', id)))
      .filter((p) => existsSync(p));
  const idle = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'];
  const podWithMembers = async (name: string) => {
    const pod = (await ok(['pod', 'create', '--name', name])).trim();
    const members = [
      (await ok(['run', '-d', '--pod', name, 'busybox', ...idle])).trim(),
      // Ignores SIGTERM: stopped by the SIGKILL after its timeout.
      (await ok(['run', '-d', '--pod', name, '--stop-timeout', '1', 'busybox', 'sleep', '1000'])).trim(),
    ];
    const infra = JSON.parse(await ok(['pod', 'inspect', name])).InfraContainerID as string;
    assert.ok(cgroupsOf(members).length > 0, 'the members have cgroups while they run');
    return [pod, infra, ...members];
  };
  // A daemon without live restore (the one before may have had it), and without a bridge, whose
  // removal at shutdown would give the members' clean-up time to finish anyway.
  await stopDaemon(d, 'term');
  d = await startDaemon(['--bridge', 'none'], d.root);
  const removed = await podWithMembers('cgroups-rm');
  await ok(['pod', 'rm', '-f', 'cgroups-rm']);
  // The runtime's state goes a moment after the answer, in the background.
  await eventually(() => cgroupsOf(removed).length === 0, 10_000, 200);
  assert.deepEqual(cgroupsOf(removed), []);
  const pruned = await podWithMembers('cgroups-prune');
  await ok(['pod', 'stop', '-t', '1', 'cgroups-prune']);
  await ok(['pod', 'prune', '-f']);
  await eventually(() => cgroupsOf(pruned).length === 0, 10_000, 200);
  assert.deepEqual(cgroupsOf(pruned), []);
  // This daemon (no live restore) stops its containers when it stops, and cleans up after them first.
  const stopped = await podWithMembers('cgroups-stop');
  await stopDaemon(d, 'term');
  assert.deepEqual(cgroupsOf(stopped), []);
  d = await startDaemon(['--bridge', 'none'], d.root);
  await ok(['pod', 'rm', '-f', 'cgroups-stop']);
});
