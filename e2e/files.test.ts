/**
 * Files and snapshots through the real `docker` CLI: `docker diff` against the image and
 * `docker commit` into a new image that a container then runs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, cleanup, docker, dockerOk, bootstrapBusybox, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await bootstrapBusybox(d);
});
after(async () => {
  if (d) await cleanup(d);
});

test('docker diff lists what a container added, changed and deleted, and nothing for a fresh one', async () => {
  await dockerOk(d, ['run', '--name', 'fresh', 'busybox', 'true']);
  assert.equal(await dockerOk(d, ['diff', 'fresh']), '', 'the runtime mount points are no change of the container');
  await dockerOk(d, ['run', '--name', 'changer', 'busybox', 'sh', '-c', 'mkdir -p /new/dir && echo x > /new/dir/f && echo y >> /etc/passwd && rm /bin/vi']);
  const lines = (await dockerOk(d, ['diff', 'changer'])).trim().split('\n');
  for (const want of ['A /new', 'A /new/dir', 'A /new/dir/f', 'C /etc/passwd', 'C /bin', 'D /bin/vi']) {
    assert.ok(lines.includes(want), `${want} in:\n${lines.join('\n')}`);
  }
  assert.ok(!lines.some((l) => /\/etc\/(hosts|hostname|resolv\.conf)$|^. \/(proc|sys|dev)$/.test(l)), lines.join('\n'));
  const missing = await docker(d, ['diff', 'nosuchcontainer']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such container: nosuchcontainer/);
});

test('docker commit makes an image of the changes, with -m, -a and -c, that a new container sees', async () => {
  await dockerOk(d, ['run', '--name', 'tocommit', 'busybox', 'sh', '-c', 'echo committed > /hello && rm /bin/vi']);
  const id = (await dockerOk(d, ['commit', '-m', 'add hello', '-a', 'Berth Tester <t@example.invalid>', '-c', 'ENV GREETING=hi', '-c', 'CMD ["cat", "/hello"]', 'tocommit', 'snap:1'])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'snap:1']), 'committed\n');
  assert.equal(await dockerOk(d, ['run', '--rm', 'snap:1', 'sh', '-c', 'echo $GREETING; test -e /bin/vi || echo gone']), 'hi\ngone\n');
  const meta = await dockerOk(d, ['image', 'inspect', '-f', '{{.Comment}}|{{.Author}}|{{len .RootFS.Layers}}|{{.Parent}}', 'snap:1']);
  const base = await dockerOk(d, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}|{{.Id}}', 'busybox']);
  const [baseLayers, baseId] = base.trim().split('|');
  assert.equal(meta.trim(), `add hello|Berth Tester <t@example.invalid>|${Number(baseLayers) + 1}|${baseId}`);
  const history = await dockerOk(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'snap:1']);
  assert.equal(history.split('\n')[0], "sh -c echo committed > /hello && rm /bin/vi|add hello");
  // The CLI sends whole seconds: end the replay at the next one.
  const ev = await dockerOk(d, ['events', '--since', '5m', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'event=commit', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.comment}}']);
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
  const layers = await dockerOk(d, ['image', 'inspect', '-f', '{{len .RootFS.Layers}} {{index .Config.Labels "step"}}', 'empty:1']);
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
