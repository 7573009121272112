/**
 * Volumes and mounts through the real `docker` CLI: `docker volume` create/ls/inspect/rm/prune,
 * and containers mounting volumes, host directories and tmpfs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  startDaemon,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  berth,
  bootstrapBusybox,
  api,
  eventually,
  startDaemonWithBusybox,
  type Daemon,
} from './harness.ts';

let d: Daemon;
before(async () => (d = await startDaemonWithBusybox()));
after(() => cleanup(d));

const volumesDir = () => join(d.root, 'data', 'volumes');

test('docker volume create/inspect: local driver, labels, options, mountpoint under the data root', async () => {
  assert.equal(
    (await dockerOk(d, ['volume', 'create', '--label', 'team=web', '--label', 'tier', 'data1'])).trim(),
    'data1',
  );
  const [v] = JSON.parse(await dockerOk(d, ['volume', 'inspect', 'data1']));
  assert.equal(v.Name, 'data1');
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.deepEqual(v.Labels, { team: 'web', tier: '' });
  assert.equal(v.Options, null);
  assert.equal(v.Mountpoint, join(volumesDir(), 'data1', '_data'));
  assert.ok(statSync(v.Mountpoint).isDirectory());
  assert.ok(Math.abs(Date.parse(v.CreatedAt) - Date.now()) < 60_000, v.CreatedAt);
  assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // Creating it again is not an error and changes nothing.
  assert.equal((await dockerOk(d, ['volume', 'create', 'data1'])).trim(), 'data1');
  const meta = JSON.parse(readFileSync(join(volumesDir(), 'data1', 'volume.json'), 'utf8'));
  assert.equal(meta.Name, 'data1');

  await dockerOk(d, [
    'volume',
    'create',
    '--opt',
    'type=tmpfs',
    '--opt',
    'device=tmpfs',
    '--opt',
    'o=size=8m',
    'scratch',
  ]);
  assert.equal(
    (await dockerOk(d, ['volume', 'inspect', '-f', '{{json .Options}}', 'scratch'])).trim(),
    '{"device":"tmpfs","o":"size=8m","type":"tmpfs"}',
  );
  await dockerOk(d, [
    'volume',
    'create',
    '--opt',
    'type=none',
    '--opt',
    'o=bind',
    '--opt',
    `device=${d.root}`,
    'hostdir',
  ]);
  assert.equal((await dockerOk(d, ['volume', 'inspect', '-f', '{{.Options.device}}', 'hostdir'])).trim(), d.root);

  const anon = (await dockerOk(d, ['volume', 'create'])).trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  assert.equal(
    (await dockerOk(d, ['volume', 'inspect', '-f', '{{json .Labels}}', anon])).trim(),
    '{"com.docker.volume.anonymous":""}',
  );
});

test("malformed volume names and options are refused with Docker's errors", async () => {
  let r = await docker(d, ['volume', 'create', 'bad/name']);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /create bad\/name: "bad\/name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/,
  );
  r = await docker(d, ['volume', 'create', 'x']);
  assert.match(r.stderr, /create x: volume name is too short, names should be at least two alphanumeric characters/);
  r = await docker(d, ['volume', 'create', '--opt', 'foo=bar', 'v2']);
  assert.match(r.stderr, /create v2: invalid option: "foo"/);
  r = await docker(d, ['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', 'v3']);
  assert.match(r.stderr, /create v3: missing required option: "device"/);
  // As dockerd: a tmpfs needs its device too (the word `tmpfs`), a device its type, `o` both.
  for (const [opts, missing] of [
    [['type=tmpfs'], 'device'],
    [['type=tmpfs', 'o=size=1m'], 'device'],
    [['device=tmpfs'], 'type'],
    [['o=size=1m'], 'device'],
  ] as const) {
    r = await docker(d, ['volume', 'create', ...opts.flatMap((o) => ['--opt', o]), 'v5']);
    assert.equal(r.code, 1, opts.join(' '));
    assert.match(r.stderr, new RegExp(`create v5: missing required option: "${missing}"`));
  }
  r = await docker(d, ['volume', 'create', '--driver', 'nfs-plugin', 'v4']);
  assert.notEqual(r.code, 0);
  r = await docker(d, ['volume', 'inspect', 'nope']);
  assert.match(r.stderr, /get nope: no such volume/);
  r = await docker(d, ['volume', 'rm', 'nope']);
  assert.match(r.stderr, /get nope: no such volume/);
  assert.equal((await docker(d, ['volume', 'rm', '-f', 'nope'])).code, 0);
  assert.equal(existsSync(join(volumesDir(), 'v2')), false);
  assert.equal(existsSync(join(volumesDir(), 'v5')), false);
});

test('docker volume ls with name, label and dangling filters', async () => {
  await dockerOk(d, ['volume', 'create', '--label', 'team=db', 'lsdb']);
  const names = async (...args: string[]) =>
    (await dockerOk(d, ['volume', 'ls', '-q', ...args])).trim().split('\n').filter(Boolean).sort();
  const all = await names();
  assert.ok(all.includes('lsdb') && all.includes('data1'), all.join(' '));
  assert.deepEqual(await names('-f', 'name=lsd'), ['lsdb']);
  assert.deepEqual(await names('-f', 'label=team=db'), ['lsdb']);
  assert.deepEqual(await names('-f', 'label=team'), ['data1', 'lsdb']);
  assert.ok((await names('-f', 'dangling=true')).includes('lsdb'));
  const table = await dockerOk(d, ['volume', 'ls', '-f', 'name=lsdb']);
  assert.match(table, /DRIVER\s+VOLUME NAME\nlocal\s+lsdb\n/);
  const r = await docker(d, ['volume', 'ls', '-f', 'colour=red']);
  assert.notEqual(r.code, 0);
});

test('docker volume rm and prune: anonymous only by default, --all for named; events', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await dockerOk(d, ['volume', 'create', 'gone1']);
  await dockerOk(d, ['volume', 'rm', 'gone1']);
  assert.equal(existsSync(join(volumesDir(), 'gone1')), false);
  const anon = (await dockerOk(d, ['volume', 'create'])).trim();
  await dockerOk(d, ['volume', 'create', 'keepme']);
  const out = await dockerOk(d, ['volume', 'prune', '-f']);
  assert.match(out, new RegExp(anon));
  assert.doesNotMatch(out, /keepme/);
  assert.equal((await docker(d, ['volume', 'inspect', anon])).code, 1);
  assert.equal((await docker(d, ['volume', 'inspect', 'keepme'])).code, 0);
  const all = await dockerOk(d, ['volume', 'prune', '-f', '--all', '--filter', 'label!=team']);
  assert.match(all, /keepme/);
  assert.doesNotMatch(all, /lsdb/);
  assert.equal((await docker(d, ['volume', 'inspect', 'lsdb'])).code, 0);
  const events = await dockerOk(d, [
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'type=volume',
    '--format',
    '{{.Action}} {{.Actor.ID}}',
  ]);
  assert.match(events, /create gone1\ndestroy gone1\n/);
  assert.match(events, /destroy keepme/);
});

test("the volume API answers in Docker's shape", async () => {
  const r = await api(d, 'POST', '/v1.45/volumes/create', JSON.stringify({ Name: 'apivol', Labels: { a: 'b' } }), {
    'Content-Type': 'application/json',
  });
  assert.equal(r.status, 201);
  assert.equal(JSON.parse(r.body).Name, 'apivol');
  const list = JSON.parse((await api(d, 'GET', '/v1.45/volumes')).body);
  assert.ok(Array.isArray(list.Volumes) && list.Volumes.some((v: { Name: string }) => v.Name === 'apivol'));
  assert.equal((await api(d, 'DELETE', '/v1.45/volumes/apivol')).status, 204);
  assert.equal((await api(d, 'GET', '/v1.45/volumes/apivol')).status, 404);
});

test('volume prune: API 1.42 and later take anonymous volumes only, older clients every unused volume', async () => {
  const create = (name: string) =>
    api(d, 'POST', '/v1.45/volumes/create', JSON.stringify({ Name: name }), { 'Content-Type': 'application/json' });
  assert.equal((await create('oldprune')).status, 201);
  let r = await api(d, 'POST', '/v1.45/volumes/prune');
  assert.equal(r.status, 200);
  assert.ok(!(JSON.parse(r.body).VolumesDeleted ?? []).includes('oldprune'));
  assert.equal((await api(d, 'GET', '/v1.45/volumes/oldprune')).status, 200);
  r = await api(d, 'POST', '/v1.41/volumes/prune');
  assert.equal(r.status, 200);
  assert.ok(JSON.parse(r.body).VolumesDeleted.includes('oldprune'));
  assert.equal((await api(d, 'GET', '/v1.45/volumes/oldprune')).status, 404);
});

// ---- containers' mounts ----

test('-v name:/path: data written survives the container, is seen by the next one; :ro refuses writes', async () => {
  await dockerOk(d, ['run', '--rm', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f']);
  assert.equal(readFileSync(join(volumesDir(), 'shared', '_data', 'f'), 'utf8'), 'persisted\n');
  assert.equal(await dockerOk(d, ['run', '--rm', '-v', 'shared:/data:ro', 'busybox', 'cat', '/data/f']), 'persisted\n');
  const r = await docker(d, ['run', '--rm', '-v', 'shared:/data:ro', 'busybox', 'sh', '-c', 'echo x > /data/g']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Read-only file system/);
  // The named volume outlives `--rm` and `rm -v`.
  assert.equal((await docker(d, ['volume', 'inspect', 'shared'])).code, 0);
});

test("two running containers sharing a volume see each other's writes", async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'writer',
    '-v',
    'live:/v',
    'busybox',
    'sh',
    '-c',
    // Each count written whole (a rename): a read in the middle of `echo > /v/n` saw it empty.
    'i=0; while :; do echo $i > /v/n.new; mv /v/n.new /v/n; i=$((i+1)); sleep 0.1; done',
  ]);
  await dockerOk(d, ['run', '-d', '--name', 'reader', '-v', 'live:/v', 'busybox', 'sleep', '100']);
  const n = async () => Number((await dockerOk(d, ['exec', 'reader', 'cat', '/v/n'])).trim());
  await eventually(async () => (await docker(d, ['exec', 'reader', 'test', '-e', '/v/n'])).code === 0, 10_000);
  const a = await n();
  // The writer counts every tenth of a second when the machine lets it: the reader sees the
  // count go up (a fixed half second between two reads stood in for that).
  let b = a;
  assert.ok(await eventually(async () => (b = await n()) > a, 10_000), `${a} then ${b}`);
  await dockerOk(d, ['exec', 'reader', 'sh', '-c', 'echo hi > /v/from-reader']);
  assert.equal(await dockerOk(d, ['exec', 'writer', 'cat', '/v/from-reader']), 'hi\n');
  assert.deepEqual(
    (await dockerOk(d, ['ps', '--filter', 'volume=live', '--format', '{{.Names}}'])).trim().split('\n').sort(),
    ['reader', 'writer'],
  );
  assert.equal(
    (await dockerOk(d, ['ps', '--filter', 'volume=/v', '--filter', 'name=reader', '--format', '{{.Names}}'])).trim(),
    'reader',
  );
  // In use, even by a stopped container, and even with -f: refused with Docker's message.
  const ids = [
    (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'writer'])).trim(),
    (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'reader'])).trim(),
  ];
  let r = await docker(d, ['volume', 'rm', '-f', 'live']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /remove live: volume is in use - \[/);
  assert.ok(
    ids.every((id) => r.stderr.includes(id)),
    r.stderr,
  );
  await dockerOk(d, ['rm', '-f', 'writer']);
  await dockerOk(d, ['stop', '-t', '0', 'reader']);
  r = await docker(d, ['volume', 'rm', 'live']);
  assert.match(r.stderr, /volume is in use/);
  await dockerOk(d, ['rm', 'reader']);
  await dockerOk(d, ['volume', 'rm', 'live']);
});

test("-v /host:/path binds a host directory (made when missing), :ro too; inspect shows Docker's Mounts", async () => {
  const hostDir = join(d.root, 'made-by-v', 'sub');
  await dockerOk(d, [
    'run',
    '--name',
    'binder',
    '-v',
    `${hostDir}:/h`,
    '-v',
    'named1:/n:ro',
    'busybox',
    'sh',
    '-c',
    'echo from-container > /h/out',
  ]);
  assert.equal(readFileSync(join(hostDir, 'out'), 'utf8'), 'from-container\n');
  const mounts = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .Mounts}}', 'binder'])) as Array<
    Record<string, unknown>
  >;
  const byDest = Object.fromEntries(mounts.map((m) => [m.Destination, m]));
  assert.deepEqual(byDest['/h'], {
    Type: 'bind',
    Source: hostDir,
    Destination: '/h',
    Mode: '',
    RW: true,
    Propagation: 'rprivate',
  });
  assert.deepEqual(byDest['/n'], {
    Type: 'volume',
    Name: 'named1',
    Source: join(volumesDir(), 'named1', '_data'),
    Destination: '/n',
    Driver: 'local',
    Mode: 'ro',
    RW: false,
    Propagation: '',
  });
  // The docker CLI sends -v binds in Go map order, which varies from run to run.
  assert.deepEqual(
    (JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .HostConfig.Binds}}', 'binder'])) as string[]).sort(),
    [`${hostDir}:/h`, 'named1:/n:ro'].sort(),
  );
  assert.equal(
    await dockerOk(d, ['run', '--rm', '-v', `${hostDir}:/h:ro`, 'busybox', 'cat', '/h/out']),
    'from-container\n',
  );
  const r = await docker(d, ['run', '--rm', '-v', `${hostDir}:/h:ro`, 'busybox', 'touch', '/h/x']);
  assert.notEqual(r.code, 0);
});

test('-v FILE:/path:ro binds a host file read-only, where the image has that file, or not, or not even its directory', async () => {
  const file = join(d.root, 'app.conf');
  writeFileSync(file, 'setting=1\n');
  for (const target of ['/etc/passwd', '/app.conf', '/missing/dir/app.conf']) {
    assert.equal(
      await dockerOk(d, ['run', '--rm', '-v', `${file}:${target}:ro`, 'busybox', 'cat', target]),
      'setting=1\n',
      target,
    );
    const r = await docker(d, [
      'run',
      '--rm',
      '-v',
      `${file}:${target}:ro`,
      'busybox',
      'sh',
      '-c',
      `echo x > ${target}`,
    ]);
    assert.match(r.stderr, /Read-only file system/, target);
  }
  assert.equal(
    await dockerOk(d, [
      'run',
      '--rm',
      '--mount',
      `type=bind,src=${file},dst=/c.conf,readonly`,
      'busybox',
      'cat',
      '/c.conf',
    ]),
    'setting=1\n',
  );
  assert.equal(readFileSync(file, 'utf8'), 'setting=1\n');
  // A file over a directory (and a directory over a file): dockerd's hint after the runtime's words.
  for (const spec of [`${file}:/etc`, `${d.root}:/etc/hostname`]) {
    const r = await docker(d, ['run', '--rm', '-v', spec, 'busybox', 'true']);
    assert.equal(r.code, 125, spec);
    assert.match(
      r.stderr,
      /[Nn]ot a directory: unknown: Are you trying to mount a directory onto a file \(or vice-versa\)\? Check if the specified host path exists and is the expected type/,
      spec,
    );
  }
});

test('--mount type=volume|bind|tmpfs with readonly, volume-nocopy, tmpfs-size; a missing bind source is refused', async () => {
  const src = join(d.root, 'mnt-src');
  await dockerOk(d, ['run', '--rm', '-v', `${src}:/x`, 'busybox', 'true']);
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--name',
    'mounter',
    '--mount',
    `type=bind,source=${src},target=/b,readonly`,
    '--mount',
    'type=volume,source=mvol,target=/v',
    '--mount',
    'type=tmpfs,target=/t,tmpfs-size=1048576',
    'busybox',
    'sh',
    '-c',
    'touch /b/x 2>/dev/null && echo b-writable; echo v > /v/v && echo v-ok; grep " /t " /proc/mounts',
  ]);
  assert.doesNotMatch(out, /b-writable/);
  assert.match(out, /v-ok/);
  assert.match(out, /^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/m);
  const r = await docker(d, [
    'run',
    '--rm',
    '--mount',
    'type=bind,source=/does/not/exist,target=/y',
    'busybox',
    'true',
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid mount config for type "bind": bind source path does not exist: \/does\/not\/exist/);
  assert.equal(existsSync('/does/not/exist'), false);
  // A source removed between create and start: the start fails, the container stays created.
  const gone = join(d.root, 'gone-src');
  mkdirSync(gone);
  await dockerOk(d, [
    'create',
    '--name',
    'gonesrc',
    '--mount',
    `type=bind,source=${gone},target=/g`,
    'busybox',
    'true',
  ]);
  rmSync(gone, { recursive: true });
  const g = await docker(d, ['start', 'gonesrc']);
  assert.match(g.stderr, /invalid mount config for type "bind": bind source path does not exist: /);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', 'gonesrc'])).trim(), 'created');
  await dockerOk(d, ['rm', 'gonesrc']);
  // dockerd refuses slave propagation from a private host mount (see the propagation test).
  const p = await docker(d, [
    'run',
    '--rm',
    '--mount',
    `type=bind,source=${src},target=/b,bind-propagation=rslave`,
    'busybox',
    'true',
  ]);
  assert.match(p.stderr, /is mounted on \/ but it is not a shared or slave mount/);
});

test("a volume at /etc lies under the container's /etc/hosts, /etc/hostname and /etc/resolv.conf, as dockerd sorts them", async () => {
  assert.equal(
    await dockerOk(d, [
      'run',
      '--rm',
      '--network',
      'none',
      '-h',
      'etchost',
      '--mount',
      'type=volume,dst=/etc,volume-nocopy',
      'busybox',
      'sh',
      '-c',
      'ls -A /etc; cat /etc/hostname',
    ]),
    'hostname\nhosts\nresolv.conf\netchost\n',
  );
  // A mount of the user's own at one of those paths replaces the daemon's file.
  const own = join(d.root, 'own-hosts');
  writeFileSync(own, '127.0.0.9 mine\n');
  assert.equal(
    await dockerOk(d, [
      'run',
      '--rm',
      '-v',
      'etcv2:/etc',
      '-v',
      `${own}:/etc/hosts:ro`,
      'busybox',
      'cat',
      '/etc/hosts',
    ]),
    '127.0.0.9 mine\n',
  );
});

test('--tmpfs /run:size=64m', async () => {
  const out = await dockerOk(d, [
    'run',
    '--rm',
    '--tmpfs',
    '/run:size=64m',
    'busybox',
    'grep',
    ' /run ',
    '/proc/mounts',
  ]);
  assert.match(out, /^tmpfs \/run tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k/m);
  assert.equal(await dockerOk(d, ['run', '--rm', '--tmpfs', '/run', '--name', 'tm', 'busybox', 'true']), '');
  // Refused at create in dockerd 20.10's words, not by the runtime's mount at start.
  for (const [spec, re] of [
    ['/t:bogus=1', /invalid tmpfs option \["bogus" "1"\]/],
    ['/t:size=1m,what', /invalid tmpfs option \["what"\]/],
    ['relative', /^docker: Error response from daemon: invalid mount path: 'relative' mount path must be absolute/m],
    ['/', /invalid specification: destination can't be '\/'/],
  ] as const) {
    const r = await docker(d, ['run', '--rm', '--tmpfs', spec, 'busybox', 'true']);
    assert.equal(r.code, 125, spec);
    assert.match(r.stderr, re);
  }
});

test("bind propagation: shared needs a shared host mount and then carries the container's mounts out; private paths are refused as Docker does", async () => {
  const priv = join(d.root, 'prop-private');
  mkdirSync(priv, { recursive: true });
  let r = await docker(d, [
    'run',
    '--rm',
    '--mount',
    `type=bind,src=${priv},dst=/x,bind-propagation=rshared`,
    'busybox',
    'true',
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`path ${priv} is mounted on / but it is not a shared mount`));
  r = await docker(d, ['run', '--rm', '-v', `${priv}:/x:rslave`, 'busybox', 'true']);
  assert.match(r.stderr, new RegExp(`path ${priv} is mounted on / but it is not a shared or slave mount`));
  const shared = join(d.root, 'prop-shared');
  mkdirSync(shared, { recursive: true });
  const sh = (...args: string[]) => assert.equal(spawnSync(args[0]!, args.slice(1)).status, 0, args.join(' '));
  sh('mount', '--bind', shared, shared);
  try {
    sh('mount', '--make-shared', shared);
    await dockerOk(d, [
      'run',
      '--rm',
      '--privileged',
      '-v',
      `${shared}:/x:rshared`,
      'busybox',
      'sh',
      '-c',
      'mkdir -p /x/m && mount -t tmpfs tmpfs /x/m',
    ]);
    assert.ok(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .some((l) => l.split(' ')[4] === join(shared, 'm')),
      "the container's mount reached the host",
    );
  } finally {
    spawnSync('umount', ['-R', shared]);
  } // bind-nonrecursive leaves the source's submounts behind.
  const nr = join(d.root, 'nonrec');
  mkdirSync(join(nr, 'sub'), { recursive: true });
  sh('mount', '-t', 'tmpfs', 'tmpfs', join(nr, 'sub'));
  try {
    writeFileSync(join(nr, 'sub', 'insub'), '');
    assert.equal(
      await dockerOk(d, ['run', '--rm', '--mount', `type=bind,src=${nr},dst=/x`, 'busybox', 'ls', '/x/sub']),
      'insub\n',
    );
    assert.equal(
      await dockerOk(d, [
        'run',
        '--rm',
        '--mount',
        `type=bind,src=${nr},dst=/x,bind-nonrecursive`,
        'busybox',
        'ls',
        '/x/sub',
      ]),
      '',
    );
    // A read-only bind is read-only all the way down (API 1.44), unless bind-recursive=writable.
    const touch = 'touch /x/sub/w 2>/dev/null && echo sub-writable; touch /x/w 2>/dev/null && echo top-writable; true';
    assert.equal(await dockerOk(d, ['run', '--rm', '-v', `${nr}:/x:ro`, 'busybox', 'sh', '-c', touch]), '');
    assert.equal(
      await dockerOk(d, [
        'run',
        '--rm',
        '--mount',
        `type=bind,src=${nr},dst=/x,readonly`,
        'busybox',
        'sh',
        '-c',
        touch,
      ]),
      '',
    );
    assert.equal(
      await dockerOk(d, [
        'run',
        '--rm',
        '--mount',
        `type=bind,src=${nr},dst=/x,readonly,bind-recursive=writable`,
        'busybox',
        'sh',
        '-c',
        touch,
      ]),
      'sub-writable\n',
    );
    assert.equal(
      await dockerOk(d, [
        'run',
        '--rm',
        '--mount',
        `type=bind,src=${nr},dst=/x,readonly,bind-recursive=readonly,bind-propagation=rprivate`,
        'busybox',
        'sh',
        '-c',
        touch,
      ]),
      '',
    );
  } finally {
    spawnSync('umount', [join(nr, 'sub')]);
  }
  // Docker's rule for the daemon root and the directories above it: rslave unless asked otherwise.
  const dataRoot = join(d.root, 'data');
  await dockerOk(d, [
    'create',
    '--name',
    'rootbind',
    '-v',
    `${d.root}:/up`,
    '--mount',
    `type=bind,src=${join(dataRoot, 'volumes')},dst=/in`,
    'busybox',
    'true',
  ]);
  const mounts = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .Mounts}}', 'rootbind'])) as Array<{
    Destination: string;
    Propagation: string;
  }>;
  assert.deepEqual(mounts.map((m) => [m.Destination, m.Propagation]).sort(), [
    ['/in', 'rslave'],
    ['/up', 'rslave'],
  ]);
  await dockerOk(d, ['start', 'rootbind']);
  await dockerOk(d, ['rm', '-f', 'rootbind']);
  r = await docker(d, ['create', '-v', `${d.root}:/up:rprivate`, 'busybox']);
  assert.match(
    r.stderr,
    new RegExp(
      `invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: "${dataRoot}", bind mount source: "${d.root}", propagation: "rprivate"`,
    ),
  );
});

test('-v data (a relative path alone) is an anonymous volume at /data, as dockerd 20.10 makes it', async () => {
  assert.equal(
    await dockerOk(d, ['run', '--rm', '-v', 'reldata', 'busybox', 'sh', '-c', 'cd / && ls -d reldata /reldata']),
    '/reldata\nreldata\n',
  );
  await dockerOk(d, ['run', '--name', 'relv', '-v', 'reldata', 'busybox', 'true']);
  const mounts = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .Mounts}}', 'relv']));
  assert.equal(mounts.length, 1);
  assert.equal(mounts[0].Type, 'volume');
  assert.equal(mounts[0].Destination, '/reldata');
  await dockerOk(d, ['rm', '-v', 'relv']);
});

test("malformed mount specifications get Docker's errors", async () => {
  const cases: Array<[string[], RegExp]> = [
    [['-v', 'bad$name:/d'], /create bad\$name: "bad\$name" includes invalid characters for a local volume name/],
    [
      ['-v', 'v1:relative'],
      /invalid volume specification: 'v1:relative': invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute/,
    ],
    [['-v', 'v1:/d:bogus'], /invalid mode: bogus/],
    [['-v', '.'], /invalid specification: destination can't be '\/'/],
    // One word of each kind, the whole mode named, as dockerd 20.10 answers.
    [['-v', 'v1:/d:rw,ro'], /invalid mode: rw,ro/],
    [['-v', 'v1:/d:ro,bogus'], /invalid mode: ro,bogus/],
    [['-v', '/tmp:/d:rshared,rslave'], /invalid mode: rshared,rslave/],
    [['-v', '/tmp:/d:z,Z'], /invalid mode: z,Z/],
    [['-v', '/anon:ro'], /invalid volume specification: '\/anon:ro'/],
    [
      ['--mount', 'type=volume,target=/anon,readonly'],
      /invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes/,
    ],
    [
      ['-v', 'v1:/'],
      /invalid volume specification: 'v1:\/': invalid mount config for type "volume": invalid specification: destination can't be '\/'/,
    ],
    [
      ['--mount', 'type=volume,source=v1,target=/'],
      /invalid mount config for type "volume": invalid specification: destination can't be '\/'/,
    ],
    [['-v', 'v1:/d', '-v', 'v2:/d'], /Duplicate mount point: \/d/],
    [
      ['--mount', 'type=tmpfs,source=x,target=/y'],
      /invalid mount config for type "tmpfs": field Source must not be specified/,
    ],
    [['--volumes-from', 'nope'], /No such container: nope/],
  ];
  for (const [args, re] of cases) {
    const r = await docker(d, ['create', ...args, 'busybox']);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re);
  }
  assert.equal((await docker(d, ['volume', 'inspect', 'v1'])).code, 1, 'a refused create makes no volume');
});

test("--volumes-from shares another container's volumes and binds, :ro makes them read-only", async () => {
  const hostDir = join(d.root, 'vf');
  await dockerOk(d, ['create', '--name', 'donor', '-v', 'vfvol:/data', '-v', `${hostDir}:/h`, 'busybox', 'true']);
  await dockerOk(d, [
    'run',
    '--rm',
    '--volumes-from',
    'donor',
    'busybox',
    'sh',
    '-c',
    'echo 1 > /data/a && echo 2 > /h/b',
  ]);
  assert.equal(readFileSync(join(volumesDir(), 'vfvol', '_data', 'a'), 'utf8'), '1\n');
  assert.equal(readFileSync(join(hostDir, 'b'), 'utf8'), '2\n');
  const r = await docker(d, ['run', '--rm', '--volumes-from', 'donor:ro', 'busybox', 'touch', '/data/c']);
  assert.notEqual(r.code, 0);
});

test('image content is copied into an empty volume (not with volume-nocopy); image VOLUMEs become anonymous volumes; rm -v removes only those', async () => {
  // An image with content at /seed and a VOLUME at /vol.
  await dockerOk(d, [
    'run',
    '--name',
    'seeder',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /seed /vol && echo seeded > /seed/s && echo img > /vol/i && chmod 0750 /seed',
  ]);
  await dockerOk(d, ['commit', '-c', 'VOLUME /vol', 'seeder', 'withvol']);
  await dockerOk(d, ['rm', 'seeder']);
  // A file of the image where an empty volume goes: the copy-up refuses it in dockerd's words.
  const over = await docker(d, ['run', '--rm', '-v', 'overfile:/etc/passwd', 'busybox', 'true']);
  assert.equal(over.code, 125);
  assert.match(over.stderr, /^docker: Error response from daemon: source \/\S+\/etc\/passwd is not directory$/m);
  await dockerOk(d, ['volume', 'rm', 'overfile']);
  assert.equal(await dockerOk(d, ['run', '--rm', '-v', 'fresh:/seed', 'withvol', 'cat', '/seed/s']), 'seeded\n');
  assert.equal(statSync(join(volumesDir(), 'fresh', '_data')).mode & 0o777, 0o750);
  // Not empty any more: no copy over what is there.
  await dockerOk(d, ['run', '--rm', '-v', 'fresh:/seed', 'withvol', 'sh', '-c', 'echo changed > /seed/s']);
  assert.equal(await dockerOk(d, ['run', '--rm', '-v', 'fresh:/seed', 'withvol', 'cat', '/seed/s']), 'changed\n');
  const nc = await docker(d, [
    'run',
    '--rm',
    '--mount',
    'type=volume,source=nocopy1,target=/seed,volume-nocopy',
    'withvol',
    'ls',
    '/seed',
  ]);
  assert.equal(nc.stdout, '');
  // No copy into a volume a running container holds: it could plant symlinks for the copy to follow.
  await dockerOk(d, ['run', '-d', '--name', 'holder', '-v', 'heldvol:/hold', 'busybox', 'sleep', '100']);
  assert.equal(await dockerOk(d, ['run', '--rm', '-v', 'heldvol:/seed', 'withvol', 'ls', '/seed']), '');
  await dockerOk(d, ['rm', '-f', 'holder']);

  await dockerOk(d, ['run', '--name', 'anon', '-v', 'keepnamed:/named', 'withvol', 'cat', '/vol/i']);
  const mounts = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .Mounts}}', 'anon'])) as Array<{
    Name: string;
    Destination: string;
    Mode: string;
  }>;
  const anon = mounts.find((m) => m.Destination === '/vol')!;
  assert.match(anon.Name, /^[0-9a-f]{64}$/);
  assert.equal(anon.Mode, '');
  assert.equal(readFileSync(join(volumesDir(), anon.Name, '_data', 'i'), 'utf8'), 'img\n');
  assert.equal(
    (await dockerOk(d, ['volume', 'inspect', '-f', '{{json .Labels}}', anon.Name])).trim(),
    '{"com.docker.volume.anonymous":""}',
  );
  await dockerOk(d, ['rm', '-v', 'anon']);
  // `-v /path` makes an anonymous volume too, with Docker's empty mode.
  await dockerOk(d, ['create', '--name', 'anon3', '-v', '/anonpath', 'busybox']);
  assert.equal(
    (
      await dockerOk(d, [
        'inspect',
        '-f',
        '{{range .Mounts}}{{.Type}} {{len .Name}} {{printf "%q" .Mode}}{{end}}',
        'anon3',
      ])
    ).trim(),
    'volume 64 ""',
  );
  await dockerOk(d, ['rm', '-v', 'anon3']);
  assert.equal((await docker(d, ['volume', 'inspect', anon.Name])).code, 1, 'rm -v removes the anonymous volume');
  assert.equal((await docker(d, ['volume', 'inspect', 'keepnamed'])).code, 0, 'and keeps the named one');
  // Without -v the anonymous volume stays (dangling), and prune takes it.
  await dockerOk(d, ['run', '--name', 'anon2', 'withvol', 'true']);
  const name2 = (await dockerOk(d, ['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'anon2'])).trim();
  await dockerOk(d, ['rm', 'anon2']);
  assert.ok((await dockerOk(d, ['volume', 'ls', '-q', '-f', 'dangling=true'])).includes(name2));
  // --rm removes anonymous volumes too.
  const before = (await dockerOk(d, ['volume', 'ls', '-q'])).trim().split('\n').length;
  await dockerOk(d, ['run', '--rm', 'withvol', 'true']);
  // Removed with the container's other leftovers, just after the CLI sees it gone.
  const count = async () => (await dockerOk(d, ['volume', 'ls', '-q'])).trim().split('\n').length;
  assert.equal(await eventually(async () => (await count()) === before, 5000), true);
});

test('mount and unmount events; system df lists volumes with size and users', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await dockerOk(d, ['run', '--rm', '-v', 'evvol:/e', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /e/z']);
  const events = await dockerOk(d, [
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'volume=evvol',
    '--format',
    '{{.Action}} {{index .Actor.Attributes "destination"}}',
  ]);
  assert.match(events, /create \nmount \/e\nunmount \n/);
  // As dockerd: every container naming the volume, and every volume create, reports a create.
  await dockerOk(d, ['volume', 'create', 'evvol']);
  await dockerOk(d, ['create', '--name', 'evref', '-v', 'evvol:/e', 'busybox']);
  await dockerOk(d, ['rm', 'evref']);
  const creates = await dockerOk(d, [
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'volume=evvol',
    '--filter',
    'event=create',
    '--format',
    '{{.Action}}',
  ]);
  assert.equal(creates, 'create\ncreate\ncreate\n');
  const df = await dockerOk(d, ['system', 'df', '-v', '--format', '{{json .Volumes}}']);
  const vols = JSON.parse(df) as Array<{ Name: string; Size: string; Links: string }>;
  const ev = vols.find((v) => v.Name === 'evvol')!;
  assert.ok(ev, df);
  assert.equal(ev.Size, '5kB');
  assert.equal(ev.Links, '0');
});

test('a symlink in the image cannot send a mount destination out of the root file system', async () => {
  await dockerOk(d, ['run', '--name', 'linker', 'busybox', 'sh', '-c', 'ln -s /../../../../../tmp/berth-escape /esc']);
  await dockerOk(d, ['commit', 'linker', 'linkimg']);
  await dockerOk(d, ['rm', 'linker']);
  await dockerOk(d, ['run', '--rm', '-v', 'escvol:/esc', 'linkimg', 'sh', '-c', 'echo inside > /esc/f']);
  assert.equal(existsSync('/tmp/berth-escape'), false);
  assert.equal(readFileSync(join(volumesDir(), 'escvol', '_data', 'f'), 'utf8'), 'inside\n');
});

test('volumes made with --opt: a tmpfs, and a host directory bound with type=none,o=bind', async () => {
  const dev = join(d.root, 'bind-device');
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dev, 'hostfile'), 'from host\n');
  await dockerOk(d, ['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', '--opt', `device=${dev}`, 'devvol']);
  assert.equal(
    await dockerOk(d, [
      'run',
      '--rm',
      '-v',
      'devvol:/d',
      'busybox',
      'sh',
      '-c',
      'cat /d/hostfile; echo back > /d/back',
    ]),
    'from host\n',
  );
  assert.equal(readFileSync(join(dev, 'back'), 'utf8'), 'back\n');
  await dockerOk(d, ['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=2m', 'tvol']);
  const out = await dockerOk(d, ['run', '--rm', '-v', 'tvol:/t', 'busybox', 'grep', ' /t ', '/proc/mounts']);
  assert.match(out, /^tmpfs \/t tmpfs .*size=2048k/m);
  // Unmounted again once its last user is gone.
  const tvol = join(volumesDir(), 'tvol', '_data');
  assert.equal(await eventually(() => !readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${tvol} `), 5000), true);

  // Options the kernel refuses fail the start in dockerd 20.10's words, not the runtime's.
  await dockerOk(d, [
    'volume',
    'create',
    '--opt',
    'type=tmpfs',
    '--opt',
    'device=tmpfs',
    '--opt',
    'o=size=bogus',
    'tbad',
  ]);
  const r = await docker(d, ['run', '--rm', '-v', 'tbad:/t', 'busybox', 'true']);
  assert.equal(r.code, 125);
  const tbad = join(volumesDir(), 'tbad', '_data');
  assert.equal(
    r.stderr.trim().split('\n')[0],
    `docker: Error response from daemon: error while mounting volume '${tbad}': failed to mount local volume: mount tmpfs:${tbad}, data: size=bogus: invalid argument`,
  );
  await dockerOk(d, ['volume', 'rm', 'tbad']);
});

test('volume data and container mounts survive a daemon restart', async () => {
  await dockerOk(d, ['run', '--name', 'keeper', '-v', 'durable:/data', 'busybox', 'sh', '-c', 'echo kept > /data/k']);
  const before = await dockerOk(d, ['inspect', '-f', '{{json .Mounts}}', 'keeper']);
  await stopDaemon(d);
  d = await startDaemon(d.extraArgs, d.root);
  assert.equal(
    (await dockerOk(d, ['volume', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'durable'])).trim(),
    'durable local',
  );
  assert.equal(await dockerOk(d, ['inspect', '-f', '{{json .Mounts}}', 'keeper']), before);
  assert.equal(await dockerOk(d, ['run', '--rm', '-v', 'durable:/data', 'busybox', 'cat', '/data/k']), 'kept\n');
  const r = await docker(d, ['volume', 'rm', 'durable']);
  assert.match(r.stderr, /volume is in use/);
  await dockerOk(d, ['rm', 'keeper']);
  await dockerOk(d, ['volume', 'rm', 'durable']);
});

test('the berth CLI drives the same volumes and mounts', async () => {
  const ok = async (args: string[]) => {
    const r = await berth(d, args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  assert.equal((await ok(['volume', 'create', '--label', 'by=berth', 'berthvol'])).trim(), 'berthvol');
  assert.match(await ok(['volume', 'ls', '-f', 'label=by=berth']), /local\s+berthvol/);
  assert.equal(await ok(['run', '--rm', '-v', 'berthvol:/b', 'busybox', 'sh', '-c', 'echo b > /b/f; cat /b/f']), 'b\n');
  assert.equal(
    (await ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'berthvol'])).trim(),
    join(volumesDir(), 'berthvol', '_data'),
  );
  await ok(['volume', 'rm', 'berthvol']);
  assert.equal((await docker(d, ['volume', 'inspect', 'berthvol'])).code, 1);
});

test('with --live-restore a running container keeps its tmpfs volume across a restart; it is unmounted when the container stops', async () => {
  const lr = await startDaemon(['--live-restore']);
  try {
    await bootstrapBusybox(lr);
    const ok = (args: string[]) => dockerOk(lr, args);
    await ok(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', 'lrtmp']);
    await ok(['run', '-d', '--name', 'lr', '-v', 'lrtmp:/t', 'busybox', 'sh', '-c', 'echo alive > /t/a; sleep 300']);
    const mp = join(lr.root, 'data', 'volumes', 'lrtmp', '_data');
    const mounted = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .some((l) => l.split(' ')[4] === mp);
    assert.ok(mounted());
    await stopDaemon(lr);
    const again = await startDaemon(lr.extraArgs, lr.root);
    Object.assign(lr, again);
    assert.ok(mounted(), 'still mounted for the running container');
    assert.equal(await ok(['exec', 'lr', 'cat', '/t/a']), 'alive\n');
    await ok(['stop', '-t', '0', 'lr']);
    // Released with the rest of the container's leftovers, just after the stop answers.
    assert.equal(await eventually(() => !mounted(), 5000), true, 'unmounted after its last user stopped');
  } finally {
    await cleanup(lr);
  }
});

test("an unknown volume driver gets dockerd's words and a 404: volume create, -v with --volume-driver, --mount, image volumes", async () => {
  const r = await docker(d, ['volume', 'create', '--driver', 'nosuchdrv', 'vdrv']);
  assert.notEqual(r.code, 0);
  assert.equal(
    r.stderr.trim(),
    'Error response from daemon: create vdrv: error looking up volume plugin nosuchdrv: plugin "nosuchdrv" not found',
  );
  const volume = await api(d, 'POST', '/volumes/create', JSON.stringify({ Name: 'vdrv', Driver: 'nosuchdrv' }));
  assert.equal(volume.status, 404);
  // (The CLI answers a 404 from create with a pull, so these go to the API as the CLI would send them.)
  await dockerOk(d, ['volume', 'create', 'vdrv-local']);
  const creates: Array<[object, RegExp]> = [
    [{ Binds: ['vdrv-named:/x'], VolumeDriver: 'nosuchdrv' }, /^create vdrv-named: /],
    // Also a volume that exists with the local driver: the driver asked for is looked up first.
    [{ Binds: ['vdrv-local:/x'], VolumeDriver: 'nosuchdrv' }, /^create vdrv-local: /],
    [{ Binds: ['/anon'], VolumeDriver: 'nosuchdrv' }, /^create [0-9a-f]{64}: /],
    [
      {
        Mounts: [
          { Type: 'volume', Source: 'vdrv-m', Target: '/x', VolumeOptions: { DriverConfig: { Name: 'nosuchdrv' } } },
        ],
      },
      /^create vdrv-m: /,
    ],
  ];
  for (const [hostConfig, name] of creates) {
    const c = await api(
      d,
      'POST',
      '/containers/create',
      JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: hostConfig }),
    );
    assert.equal(c.status, 404, c.body);
    const message = JSON.parse(c.body).message as string;
    assert.match(message, name);
    assert.match(message, /: error looking up volume plugin nosuchdrv: plugin "nosuchdrv" not found$/);
  }
  const image = await api(
    d,
    'POST',
    '/containers/create',
    JSON.stringify({
      Image: 'busybox',
      Cmd: ['true'],
      Volumes: { '/y': {} },
      HostConfig: { VolumeDriver: 'nosuchdrv' },
    }),
  );
  assert.equal(image.status, 404);
  // A bind mount has no driver: --volume-driver does not matter to it.
  const bind = await api(
    d,
    'POST',
    '/containers/create',
    JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['/tmp:/x'], VolumeDriver: 'nosuchdrv' } }),
  );
  assert.equal(bind.status, 201, bind.body);
  await dockerOk(d, ['rm', JSON.parse(bind.body).Id]);
  const left = await dockerOk(d, ['volume', 'ls', '-q']);
  assert.doesNotMatch(left, /vdrv-named|vdrv-m/);
});
