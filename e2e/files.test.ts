/**
 * Files and snapshots through the real `docker` CLI: `docker diff` against the image and
 * `docker commit` into a new image that a container then runs, `docker cp` both ways.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanup,
  docker,
  dockerOk,
  eventually,
  run,
  api,
  DOCKER,
  startDaemonWithBusybox,
  type Daemon,
} from './harness.ts';

let d: Daemon;
before(async () => (d = await startDaemonWithBusybox()));
after(() => cleanup(d));

test('docker diff lists what a container added, changed and deleted, and nothing for a fresh one', async () => {
  await dockerOk(d, ['run', '--name', 'fresh', 'busybox', 'true']);
  assert.equal(await dockerOk(d, ['diff', 'fresh']), '', 'the runtime mount points are no change of the container');
  await dockerOk(d, [
    'run',
    '--name',
    'changer',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /new/dir && echo x > /new/dir/f && echo y >> /etc/passwd && rm /bin/vi',
  ]);
  const lines = (await dockerOk(d, ['diff', 'changer'])).trim().split('\n');
  for (const want of ['A /new', 'A /new/dir', 'A /new/dir/f', 'C /etc/passwd', 'C /bin', 'D /bin/vi']) {
    assert.ok(lines.includes(want), `${want} in:\n${lines.join('\n')}`);
  }
  assert.ok(!lines.some((l) => /\/etc\/(hosts|hostname|resolv\.conf)$|^. \/(proc|sys|dev)$/.test(l)), lines.join('\n'));
  const missing = await docker(d, ['diff', 'nosuchcontainer']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such container: nosuchcontainer/);
});

test('docker diff of a directory deleted and made anew lists what the image had in it, as dockerd prints it', async () => {
  const imageSbin = (await dockerOk(d, ['run', '--rm', 'busybox', 'ls', '/usr/sbin'])).trim().split('\n');
  await dockerOk(d, [
    'run',
    '--name',
    'remaker',
    'busybox',
    'sh',
    '-c',
    'rm -rf /var && mkdir /var && echo v > /var/new && rm -rf /usr && mkdir -p /usr/sbin && echo n > /usr/sbin/new',
  ]);
  const lines = (await dockerOk(d, ['diff', 'remaker'])).trim().split('\n').sort();
  // dockerd 20.10 on this kernel (overlay with redirect_dir: its naive diff) printed these lines
  // for the same image and command, in another order: the directories changed, not deleted,
  // and every entry of the image's that the new ones lack deleted.
  const want = [
    'C /var',
    'D /var/spool',
    'D /var/www',
    'A /var/new',
    'C /usr',
    'D /usr/bin',
    'C /usr/sbin',
    'A /usr/sbin/new',
    ...imageSbin.map((n) => `D /usr/sbin/${n}`),
  ].sort();
  assert.ok(imageSbin.length > 5, imageSbin.join(' '));
  assert.deepEqual(lines, want);
});

test('docker commit makes an image of the changes, with -m, -a and -c, that a new container sees', async () => {
  await dockerOk(d, ['run', '--name', 'tocommit', 'busybox', 'sh', '-c', 'echo committed > /hello && rm /bin/vi']);
  const id = (
    await dockerOk(d, [
      'commit',
      '-m',
      'add hello',
      '-a',
      'Berth Tester <t@example.invalid>',
      '-c',
      'ENV GREETING=hi',
      '-c',
      'CMD ["cat", "/hello"]',
      'tocommit',
      'snap:1',
    ])
  ).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'snap:1']), 'committed\n');
  assert.equal(
    await dockerOk(d, ['run', '--rm', 'snap:1', 'sh', '-c', 'echo $GREETING; test -e /bin/vi || echo gone']),
    'hi\ngone\n',
  );
  const meta = await dockerOk(d, [
    'image',
    'inspect',
    '-f',
    '{{.Comment}}|{{.Author}}|{{len .RootFS.Layers}}|{{.Parent}}',
    'snap:1',
  ]);
  const base = await dockerOk(d, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}|{{.Id}}', 'busybox']);
  const [baseLayers, baseId] = base.trim().split('|');
  assert.equal(meta.trim(), `add hello|Berth Tester <t@example.invalid>|${Number(baseLayers) + 1}|${baseId}`);
  const history = await dockerOk(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'snap:1']);
  assert.equal(history.split('\n')[0], 'sh -c echo committed > /hello && rm /bin/vi|add hello');
  // Docker counts a layer's files, not its tar: /hello's 10 bytes (the whiteout of /bin/vi is empty).
  assert.equal((await dockerOk(d, ['history', '--format', '{{.Size}}', 'snap:1'])).split('\n')[0], '10B');
  // The CLI sends whole seconds: end the replay at the next one.
  const ev = await dockerOk(d, [
    'events',
    '--since',
    '5m',
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'event=commit',
    '--format',
    '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.comment}}',
  ]);
  assert.match(ev, /^container commit tocommit add hello$/m);
});

test('commit of a running container pauses it and it goes on running', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo live > /state; sleep 100']);
  await dockerOk(d, ['exec', 'live', 'test', '-e', '/state']);
  const id = (await dockerOk(d, ['commit', 'live'])).trim();
  assert.equal(await dockerOk(d, ['run', '--rm', id, 'cat', '/state']), 'live\n');
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', 'live'])).trim(), 'running');
  const images = await dockerOk(d, ['images', '--filter', 'dangling=true', '-q', '--no-trunc']);
  assert.ok(images.includes(id), 'an untagged commit is a dangling image');
  await dockerOk(d, ['rm', '-f', 'live']);
});

test('a commit with no changes adds no layer; bad changes and references are refused', async () => {
  await dockerOk(d, ['create', '--name', 'untouched', 'busybox', 'true']);
  await dockerOk(d, ['commit', '-c', 'LABEL step=empty', 'untouched', 'empty:1']);
  const layers = await dockerOk(d, [
    'image',
    'inspect',
    '-f',
    '{{len .RootFS.Layers}} {{index .Config.Labels "step"}}',
    'empty:1',
  ]);
  const base = await dockerOk(d, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'busybox']);
  assert.equal(layers.trim(), `${base.trim()} empty`);
  const bad = await docker(d, ['commit', '-c', 'FROB x', 'untouched']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /FROB/i);
  const badRef = await docker(d, ['commit', 'untouched', 'UPPER:case']);
  assert.notEqual(badRef.code, 0);
  const none = await docker(d, ['commit', 'nosuchcontainer']);
  assert.match(none.stderr, /No such container: nosuchcontainer/);
});

test('docker cp out of a container: a file keeps its mode, a directory comes whole, a missing path is an error', async () => {
  await dockerOk(d, [
    'run',
    '-d',
    '--name',
    'source',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /data/sub && echo one > /data/one && echo two > /data/sub/two && chmod 750 /data/one && chown 1234:5678 /data/sub/two && sleep 100',
  ]);
  await eventually(async () => (await docker(d, ['exec', 'source', 'test', '-e', '/data/sub/two'])).code === 0);
  const out = mkdtempSync(join(tmpdir(), 'berth-cp-'));
  try {
    await dockerOk(d, ['cp', 'source:/data/one', join(out, 'one')]);
    assert.equal(readFileSync(join(out, 'one'), 'utf8'), 'one\n');
    assert.equal(statSync(join(out, 'one')).mode & 0o777, 0o750);
    await dockerOk(d, ['cp', 'source:/data', join(out, 'copy')]);
    assert.equal(readFileSync(join(out, 'copy', 'sub', 'two'), 'utf8'), 'two\n');
    const names = (
      await run('sh', ['-c', `${DOCKER} cp source:/data/sub - | tar -tvf -`], {
        env: { ...process.env, DOCKER_HOST: d.host },
      })
    ).stdout;
    assert.match(names, /1234\/5678 .* sub\/two/, 'ownership travels in the archive');
    assert.equal(
      (await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', 'source'])).trim(),
      'running',
      'the copy left it running',
    );
    const missing = await docker(d, ['cp', 'source:/nope', out]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Could not find the file \/nope in container source/);
  } finally {
    rmSync(out, { recursive: true, force: true });
    await dockerOk(d, ['rm', '-f', 'source']);
  }
});

test('docker cp into running and stopped containers; -a gives the files to the container user, if it has one', async () => {
  const src = mkdtempSync(join(tmpdir(), 'berth-cp-'));
  try {
    writeFileSync(join(src, 'hello.txt'), 'hello\n', { mode: 0o640 });
    mkdirSync(join(src, 'dir'));
    writeFileSync(join(src, 'dir', 'inner'), 'inner\n');
    chownSync(join(src, 'hello.txt'), 4321, 4321);
    await dockerOk(d, ['run', '-d', '--name', 'target', 'busybox', 'sleep', '100']);
    await dockerOk(d, ['cp', join(src, 'hello.txt'), 'target:/tmp/']);
    await dockerOk(d, ['cp', join(src, 'dir'), 'target:/tmp/dir']);
    assert.equal(await dockerOk(d, ['exec', 'target', 'stat', '-c', '%a %u:%g', '/tmp/hello.txt']), '640 4321:4321\n');
    assert.equal(await dockerOk(d, ['exec', 'target', 'cat', '/tmp/hello.txt', '/tmp/dir/inner']), 'hello\ninner\n');
    // A destination ending in a slash is a directory: a file there is not overwritten (as dockerd).
    const onFile = await docker(d, ['cp', join(src, 'dir', 'inner'), 'target:/tmp/hello.txt/']);
    assert.equal(onFile.code, 1);
    assert.match(onFile.stderr, /no such directory/);
    assert.equal(await dockerOk(d, ['exec', 'target', 'cat', '/tmp/hello.txt']), 'hello\n');
    const outOf = await docker(d, ['cp', 'target:/tmp/hello.txt/', '-']);
    assert.match(outOf.stderr, /^Error response from daemon: lstat \/tmp\/hello\.txt\/: not a directory$/m);
    // Without a User, -a keeps the archive's owners, as dockerd does.
    await dockerOk(d, ['cp', '-a', join(src, 'hello.txt'), 'target:/tmp/owned.txt']);
    assert.equal(await dockerOk(d, ['exec', 'target', 'stat', '-c', '%u:%g', '/tmp/owned.txt']), '4321:4321\n');

    // Into a container never started; -a makes the file its user's, who can then read it.
    await dockerOk(d, [
      'create',
      '--name',
      'cold',
      '--user',
      'nobody',
      'busybox',
      'sh',
      '-c',
      'cat /home/file; stat -c %U /home/file',
    ]);
    await dockerOk(d, ['cp', '-a', join(src, 'hello.txt'), 'cold:/home/file']);
    const missingDir = await docker(d, ['cp', join(src, 'hello.txt'), 'cold:/no/such/dir/']);
    assert.notEqual(missingDir.code, 0);
    await dockerOk(d, ['start', '-a', 'cold']).catch(() => '');
    assert.equal(await dockerOk(d, ['logs', 'cold']), 'hello\nnobody\n');
  } finally {
    rmSync(src, { recursive: true, force: true });
    await docker(d, ['rm', '-f', 'target', 'cold']);
  }
});

test('docker cp never follows a container symlink out of its root, even one swapped in during the copy', async () => {
  const hostDir = mkdtempSync(join(tmpdir(), 'berth-cp-host-'));
  const src = mkdtempSync(join(tmpdir(), 'berth-cp-'));
  try {
    writeFileSync(join(hostDir, 'secret'), 'host secret\n');
    writeFileSync(join(src, 'payload'), 'payload\n');
    // A symlink to a host path: inside the container it names the container's own path.
    await dockerOk(d, [
      'run',
      '-d',
      '--name',
      'evil',
      'busybox',
      'sh',
      '-c',
      `mkdir -p ${hostDir} && ln -s ${hostDir} /link && ln -s / /rootlink && sleep 100`,
    ]);
    await eventually(async () => (await docker(d, ['exec', 'evil', 'test', '-L', '/rootlink'])).code === 0);
    const read = await docker(d, ['cp', `evil:/link/secret`, src]);
    assert.notEqual(read.code, 0, 'the host file is not there to read');
    await dockerOk(d, ['cp', join(src, 'payload'), `evil:/rootlink${hostDir}/`]);
    assert.ok(!existsSync(join(hostDir, 'payload')), 'nothing written to the host directory');
    assert.equal(await dockerOk(d, ['exec', 'evil', 'cat', `${hostDir}/payload`]), 'payload\n');

    // The symlink-exchange race: /w flips between a directory and a link to the host directory.
    await dockerOk(d, [
      'exec',
      '-d',
      'evil',
      'sh',
      '-c',
      `while :; do mkdir -p /w; rm -rf /w; ln -s ${hostDir} /w; rm -f /w; done`,
    ]);
    for (let i = 0; i < 15; i++) {
      await docker(d, ['cp', join(src, 'payload'), 'evil:/w/']);
      await docker(d, ['cp', 'evil:/w/secret', join(src, `got${i}`)]);
    }
    assert.ok(!existsSync(join(hostDir, 'payload')), 'the race wrote nothing to the host');
    for (let i = 0; i < 15; i++)
      assert.ok(
        !existsSync(join(src, `got${i}`)) || !readFileSync(join(src, `got${i}`), 'utf8').includes('host secret'),
      );
  } finally {
    rmSync(hostDir, { recursive: true, force: true });
    rmSync(src, { recursive: true, force: true });
    await docker(d, ['rm', '-f', 'evil']);
  }
});

test('bad requests to the new endpoints get 4xx with a message, and the daemon carries on', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'target2', 'busybox', 'sleep', '100']);
  const cases: Array<[string, string, string | undefined, number, RegExp]> = [
    [
      'PUT',
      '/containers/target2/archive?path=/tmp',
      'this is not a tar archive, not even close, and it is long enough to fill a header block '.repeat(8),
      400,
      /tar/i,
    ],
    ['PUT', '/containers/target2/archive?path=/etc/passwd', '', 400, /not a directory/],
    ['GET', '/containers/target2/archive', undefined, 400, /path/],
    ['HEAD', '/containers/target2/archive?path=/nope', undefined, 404, /^$/],
    ['POST', '/containers/target2/update', '{"Memory": "lots"', 400, /JSON/i],
    ['POST', '/containers/target2/update', '[1, 2]', 400, /JSON object/],
    ['POST', '/commit?container=target2&repo=Bad%20Name', '{}', 400, /./],
    ['POST', '/commit?container=target2', '"a string"', 400, /JSON object/],
    ['GET', '/containers/target2/stats?stream=1&one-shot=1', undefined, 400, /one-shot/],
    ['GET', '/containers/nosuch/changes', undefined, 404, /No such container/],
  ];
  for (const [method, path, body, status, message] of cases) {
    const r = await api(d, method, path, body);
    assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
    assert.match(r.body, message, `${method} ${path}`);
  }
  assert.equal(await dockerOk(d, ['exec', 'target2', 'echo', 'still fine']), 'still fine\n');
  await dockerOk(d, ['rm', '-f', 'target2']);
});

test('docker cp reaches into volumes and bind mounts; a read-only mount refuses a copy in', async () => {
  const src = mkdtempSync(join(tmpdir(), 'berth-cp-'));
  const bound = mkdtempSync(join(tmpdir(), 'berth-cp-bind-'));
  try {
    writeFileSync(join(src, 'into-volume'), 'into the volume\n');
    writeFileSync(join(bound, 'on-host'), 'bound from the host\n');
    await dockerOk(d, [
      'run',
      '-d',
      '--name',
      'mounted',
      '-v',
      'cpvol:/data',
      '-v',
      `${bound}:/b:ro`,
      'busybox',
      'sleep',
      '100',
    ]);
    await dockerOk(d, ['cp', join(src, 'into-volume'), 'mounted:/data/']);
    assert.equal(await dockerOk(d, ['exec', 'mounted', 'cat', '/data/into-volume']), 'into the volume\n');
    assert.equal(
      await dockerOk(d, ['run', '--rm', '-v', 'cpvol:/v', 'busybox', 'cat', '/v/into-volume']),
      'into the volume\n',
      'it is in the volume, not under it',
    );
    await dockerOk(d, ['cp', 'mounted:/b/on-host', join(src, 'got')]);
    assert.equal(readFileSync(join(src, 'got'), 'utf8'), 'bound from the host\n');
    const ro = await docker(d, ['cp', join(src, 'into-volume'), 'mounted:/b/']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /mounted volume is marked read-only/);
    assert.ok(!existsSync(join(bound, 'into-volume')));
  } finally {
    rmSync(src, { recursive: true, force: true });
    await docker(d, ['rm', '-f', 'mounted']);
    rmSync(bound, { recursive: true, force: true });
  }
});
