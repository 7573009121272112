/**
 * The daemon-wide commands answering as dockerd 20.10 does, through the real `docker` CLI:
 * events, search, stats, info. Each test is a difference found by running the same commands
 * against dockerd and Berth (bench/compat-system.sh) and fails on the tree before its fix.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  api,
  cleanup,
  docker,
  dockerOk,
  eventsOf as events,
  eventually,
  sleep,
  startDaemonWithBusybox,
  type Daemon,
} from './harness.ts';

let d: Daemon;
const made: string[] = [];
before(async () => (d = await startDaemonWithBusybox()));
after(async () => {
  await cleanup(d);
  for (const p of made) rmSync(p, { recursive: true, force: true });
});

const eventsOf = (fn: () => Promise<unknown>) => events(d, fn);

test('docker rm -f of a running container logs kill (signal 9) before die and destroy, as dockerd does', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'rmf', 'busybox', 'sleep', '30']);
  const evs = await eventsOf(() => dockerOk(d, ['rm', '-f', 'rmf']));
  const actions = evs.filter((e) => e.Type === 'container').map((e) => e.Action);
  assert.deepEqual(actions, ['kill', 'die', 'destroy']);
  assert.equal(evs[0]!.Actor.Attributes.signal, '9');
});

test('exec events name the command as dockerd does: entrypoint, a space, the arguments', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'ex', 'busybox', 'sleep', '30']);
  try {
    const evs = await eventsOf(async () => {
      await dockerOk(d, ['exec', 'ex', 'true']);
      await dockerOk(d, ['exec', 'ex', 'sh', '-c', 'true']);
    });
    const actions = evs.map((e) => e.Action).filter((a) => a.startsWith('exec_'));
    assert.deepEqual(actions, [
      'exec_create: true ',
      'exec_start: true ',
      'exec_die',
      'exec_create: sh -c true',
      'exec_start: sh -c true',
      'exec_die',
    ]);
  } finally {
    await docker(d, ['rm', '-f', 'ex']);
  }
});

test('image events: commit names its image as docker images does, untag names the image ID, import tags first', async () => {
  await dockerOk(d, ['create', '--name', 'cm', 'busybox', 'true']);
  const dir = mkdtempSync(join(tmpdir(), 'berth-syscompat-'));
  made.push(dir);
  const evs = await eventsOf(async () => {
    await dockerOk(d, ['commit', 'cm', 'sys/committed']);
    await dockerOk(d, ['rmi', 'sys/committed']);
    await dockerOk(d, ['export', '-o', join(dir, 'fs.tar'), 'cm']);
    await dockerOk(d, ['import', join(dir, 'fs.tar'), 'sys/imported']);
  });
  await docker(d, ['rm', 'cm']);
  await docker(d, ['rmi', 'sys/imported']);
  const commit = evs.find((e) => e.Action === 'commit')!;
  assert.equal(commit.Actor.Attributes.imageRef, 'sys/committed:latest');
  const untag = evs.find((e) => e.Action === 'untag')!;
  assert.equal(untag.Actor.Attributes.name, untag.Actor.ID);
  assert.match(untag.Actor.ID, /^sha256:[0-9a-f]{64}$/);
  const tail = evs.filter((e) => e.Type === 'image').slice(-2);
  assert.deepEqual(
    tail.map((e) => [e.Action, e.Actor.Attributes.name]),
    [
      ['tag', 'sys/imported'],
      ['import', tail[1]!.Actor.ID],
    ],
  );
});

/** A loopback registry speaking only the v1 search API, with three repositories. */
async function searchServer(): Promise<{ server: Server; host: string; asked: string[] }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname !== '/v1/search') return res.writeHead(404).end();
    asked.push(u.search);
    const results = [
      { name: 'web', description: 'a web server', star_count: 40, is_official: true, is_automated: false },
      { name: 'team/web-tools', description: 'tools', star_count: 3, is_official: false, is_automated: false },
      { name: 'team/webhook', description: 'hooks', star_count: 12, is_official: false, is_automated: false },
    ];
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ num_results: 3, query: u.searchParams.get('q'), results }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

test('docker search asks the registry the term names, filters and limits its rows; failures read as dockerd', async () => {
  const { server, host, asked } = await searchServer();
  try {
    const all = await dockerOk(d, ['search', '--format', '{{.Name}}|{{.StarCount}}|{{.IsOfficial}}', `${host}/web`]);
    assert.deepEqual(all.trim().split('\n'), ['web|40|[OK]', 'team/web-tools|3|', 'team/webhook|12|']);
    assert.equal(asked[0], '?q=web&n=25');
    const starred = await dockerOk(d, ['search', '--format', '{{.Name}}', '--filter', 'stars=10', `${host}/web`]);
    assert.deepEqual(starred.trim().split('\n'), ['web', 'team/webhook']);
    const one = await dockerOk(d, ['search', '--format', '{{.Name}}', '--limit', '1', `${host}/web`]);
    assert.equal(one.trim(), 'web');
    const table = await dockerOk(d, ['search', `${host}/web`]);
    assert.match(table, /^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL/);
    const tooMany = await docker(d, ['search', '--limit', '200', `${host}/web`]);
    assert.equal(tooMany.code, 1);
    assert.match(tooMany.stderr, /limit 200 is outside the range of \[1, 100\]/);
  } finally {
    server.close();
  }
  // A registry without the v1 API (distribution's) answers 404: dockerd's words for it.
  const bare = createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  try {
    const r = await docker(d, ['search', `127.0.0.1:${(bare.address() as AddressInfo).port}/web`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error response from daemon: Unexpected status code 404/);
  } finally {
    bare.close();
  }
  // Docker Hub is offline here: said at once, not "page not found".
  const hub = await docker(d, ['search', 'busybox']);
  assert.equal(hub.code, 1);
  assert.match(hub.stderr, /Docker Hub \(index\.docker\.io\) is offline here/);
});

test('a stats frame on cgroup v1 carries dockerd 20.10 fields: all eight blkio lists, no zero failcnt, no networks without one', async (t) => {
  if (!existsSync('/sys/fs/cgroup/memory/memory.stat') && !existsSync('/sys/fs/cgroup/memory')) {
    t.skip('cgroup v1 only');
    return;
  }
  await dockerOk(d, ['run', '-d', '--name', 'st', '--network', 'none', 'busybox', 'sleep', '30']);
  try {
    const r = await api(d, 'GET', '/containers/st/stats?stream=false');
    assert.equal(r.status, 200);
    const s = JSON.parse(r.body) as Record<string, Record<string, unknown>>;
    const keys = [
      'io_merged_recursive',
      'io_queue_recursive',
      'io_service_bytes_recursive',
      'io_service_time_recursive',
      'io_serviced_recursive',
      'io_time_recursive',
      'io_wait_time_recursive',
      'sectors_recursive',
    ];
    assert.deepEqual(Object.keys(s.blkio_stats!).sort(), keys);
    for (const k of keys) assert.ok(Array.isArray(s.blkio_stats![k]), `${k} is a list`);
    assert.ok(!('failcnt' in s.memory_stats!), 'a zero failcnt is left out');
    assert.ok(!('networks' in s), 'no networks with --network none');
    assert.equal(s.pids_stats!.current, 1);
    // A container that does not run: the same eight lists, null, as dockerd sends.
    await dockerOk(d, ['create', '--name', 'st-idle', 'busybox', 'true']);
    const idle = JSON.parse((await api(d, 'GET', '/containers/st-idle/stats?stream=false')).body) as typeof s;
    assert.deepEqual(Object.keys(idle.blkio_stats!).sort(), keys);
    for (const k of keys) assert.equal(idle.blkio_stats![k], null, k);
  } finally {
    await docker(d, ['rm', '-f', 'st', 'st-idle']);
  }
});

test('docker info shows the engine ID kept in the data root, the OS version, swap support and Docker Hub index as dockerd does', async () => {
  const text = await dockerOk(d, ['info']);
  const id = (await dockerOk(d, ['info', '--format', '{{.ID}}'])).trim();
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.ok(text.includes(` ID: ${id}\n`), text);
  assert.equal(readFileSync(join(d.root, 'data', 'engine-id'), 'utf8').trim(), id);
  const f = JSON.parse(await dockerOk(d, ['info', '--format', '{{json .}}'])) as Record<string, unknown>;
  const osVersion = /^VERSION_ID="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  assert.equal(f.OSVersion, osVersion);
  if (existsSync('/sys/fs/cgroup/memory'))
    assert.equal(f.SwapLimit, existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'));
  assert.deepEqual((f.RegistryConfig as { IndexConfigs: Record<string, unknown> }).IndexConfigs['docker.io'], {
    Mirrors: [],
    Name: 'docker.io',
    Official: true,
    Secure: true,
  });
  assert.ok((f.NFd as number) > 0, 'open descriptors counted');
  assert.deepEqual((f.DriverStatus as string[][]).slice(0, 4), [
    ['Backing Filesystem', 'extfs'],
    ['Supports d_type', 'true'],
    ['Native Overlay Diff', 'true'],
    ['userxattr', 'false'],
  ]);
});

test('docker version lists the default runtime and the init beside the Engine, with their versions, as dockerd lists runc and docker-init', async () => {
  const runtime = (await dockerOk(d, ['info', '--format', '{{.DefaultRuntime}}'])).trim();
  const fmt = '{{range .Server.Components}}{{.Name}}={{.Version}}={{index .Details "GitCommit"}};{{end}}';
  // Asked of the programs once at start, off its path: a moment after the socket opens.
  const line = await eventually(async () => {
    const out = (await dockerOk(d, ['version', '--format', fmt])).trim();
    return out.includes(`${runtime}=`) ? out : '';
  });
  const parts = line.split(';').filter(Boolean);
  assert.match(parts[0]!, /^Engine=/);
  const rt = parts.find((p) => p.startsWith(`${runtime}=`))!;
  assert.match(rt, /^[a-z]+=\d+\.\d+[^=]*=\S+$/, rt);
  if (existsSync('/usr/bin/tini-static') || existsSync('/usr/bin/docker-init'))
    assert.ok(
      parts.some((p) => /^docker-init=\d/.test(p)),
      line,
    );
  const text = await dockerOk(d, ['version']);
  assert.match(text, new RegExp(`\\n ${runtime}:\\n  Version: +\\d`));
});

test('docker login and pull to a registry that is down say so in dockerd words: dial tcp …: connect: connection refused', async () => {
  // A port nothing listens on: a server opened and closed.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  const cfg = mkdtempSync(join(tmpdir(), 'berth-syscompat-cfg-'));
  made.push(cfg);
  const login = await docker(d, ['login', '-u', 'u', '--password-stdin', `127.0.0.1:${port}`], {
    input: 'p\n',
    env: { DOCKER_CONFIG: cfg },
  });
  assert.equal(login.code, 1);
  assert.match(
    login.stderr,
    new RegExp(
      `Error response from daemon: Get "http://127\\.0\\.0\\.1:${port}/v2/": dial tcp 127\\.0\\.0\\.1:${port}: connect: connection refused`,
    ),
  );
  const pull = await docker(d, ['pull', `127.0.0.1:${port}/x`]);
  assert.equal(pull.code, 1);
  assert.match(
    pull.stderr,
    /Get "http:\/\/127\.0\.0\.1:\d+\/v2\/[^"]*": dial tcp 127\.0\.0\.1:\d+: connect: connection refused/,
  );
});

test('docker info of a daemon without --experimental prints no checkpoint warnings; its Warnings are null as dockerd sends', async () => {
  const r = await docker(d, ['info']);
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stderr, /cannot checkpoint/);
  assert.equal((await dockerOk(d, ['info', '--format', '{{json .Warnings}}'])).trim(), 'null');
});

test('docker run --rm with a volume logs its volumes unmount and the anonymous one destroy before the container destroy, as dockerd does', async () => {
  const evs = await eventsOf(() => dockerOk(d, ['run', '--rm', '-v', 'rmvol:/v', '-v', '/anon', 'busybox', 'true']));
  await docker(d, ['volume', 'rm', 'rmvol']);
  const seq = evs.filter((e) => ['die', 'unmount', 'destroy'].includes(e.Action)).map((e) => `${e.Type} ${e.Action}`);
  assert.deepEqual(seq, ['container die', 'volume unmount', 'volume unmount', 'volume destroy', 'container destroy']);
});

test('docker events filters as dockerd: container by name prefix, image by name or tag, scope, daemon keeps only its own', async () => {
  const since = (Date.now() / 1000).toFixed(3);
  await dockerOk(d, ['run', '--name', 'flt-web-1', 'busybox', 'true']);
  await dockerOk(d, ['rm', 'flt-web-1']);
  await sleep(200);
  const until = (Date.now() / 1000).toFixed(3);
  const name = (await dockerOk(d, ['info', '--format', '{{.Name}}'])).trim();
  const filtered = async (...filters: string[]) =>
    (
      await dockerOk(d, [
        'events',
        '--since',
        since,
        '--until',
        until,
        ...filters.flatMap((f) => ['--filter', f]),
        '--format',
        '{{.Type}} {{.Action}}',
      ])
    )
      .trim()
      .split('\n')
      .filter(Boolean);
  const lifecycle = ['container create', 'container attach', 'container start', 'container die', 'container destroy'];
  assert.deepEqual(await filtered('container=flt-web'), lifecycle);
  assert.deepEqual(await filtered('image=busybox', 'type=container'), lifecycle);
  // The tag is stripped from the event's image, not the filter's (moby's stripTag): run as
  // `busybox`, the events do not name busybox:latest.
  assert.deepEqual(await filtered('image=busybox:latest', 'type=container'), []);
  assert.deepEqual(await filtered('image=flt-web-1'), [], 'a container name is no image');
  assert.deepEqual(await filtered('scope=local', 'container=flt-web-1'), lifecycle);
  assert.deepEqual(await filtered('scope=swarm'), []);
  assert.deepEqual(await filtered(`daemon=${name}`, 'type=container'), []);
});
