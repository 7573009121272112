/**
 * A container's and an exec's environment and an exec's failures, through the real `docker`
 * CLI, as dockerd (with runc) gives them: HOSTNAME and, with a terminal, TERM=xterm before the
 * config's own variables; HOME from /etc/passwd or "/"; an exec's TERM following its own
 * terminal; an exec whose user is not there failing with 126 in dockerd's bare words.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, docker, dockerOk, startDaemonWithBusybox, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => {
  d = await startDaemonWithBusybox();
  await dockerOk(d, ['run', '-d', '--name', 'plain', '--hostname', 'plainhost', 'busybox', 'sleep', '600']);
  await dockerOk(d, ['run', '-d', '-t', '--name', 'term', 'busybox', 'sleep', '600']);
});
after(() => cleanup(d));

const lines = (s: string) => s.replace(/\r/g, '').split('\n').filter(Boolean);

test("a container's environment: PATH, HOSTNAME, TERM with a terminal, the config's, HOME — in dockerd's order", async () => {
  assert.deepEqual(lines(await dockerOk(d, ['run', '--rm', '-t', '-h', 'web', '-e', 'FOO=1', 'busybox', 'env'])), [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOSTNAME=web',
    'TERM=xterm',
    'FOO=1',
    'HOME=/root',
  ]);
  const id = (await dockerOk(d, ['create', 'busybox', 'env'])).trim();
  const out = lines(await dockerOk(d, ['start', '-a', id]));
  assert.deepEqual(out, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `HOSTNAME=${id.slice(0, 12)}`,
    'HOME=/root',
  ]);
  await dockerOk(d, ['rm', id]);
  // The config's own win, where the defaults stood.
  assert.deepEqual(
    lines(await dockerOk(d, ['run', '--rm', '-t', '-e', 'TERM=vt100', '-e', 'HOSTNAME=x', 'busybox', 'env'])),
    ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=x', 'TERM=vt100', 'HOME=/root'],
  );
});

test("HOME is the user's from /etc/passwd, '/' for a uid it does not list, and the config's when it sets one", async () => {
  assert.equal(await dockerOk(d, ['run', '--rm', '-u', 'nobody', 'busybox', 'sh', '-c', 'echo $HOME']), '/home\n');
  assert.equal(await dockerOk(d, ['run', '--rm', '-u', '1234', 'busybox', 'sh', '-c', 'echo $HOME']), '/\n');
  assert.equal(
    await dockerOk(d, ['run', '--rm', '-u', '1234', '-e', 'HOME=/data', 'busybox', 'sh', '-c', 'echo $HOME']),
    '/data\n',
  );
  // An exec's user gets its own.
  assert.equal(await dockerOk(d, ['exec', 'plain', 'sh', '-c', 'echo $HOME']), '/root\n');
  assert.equal(await dockerOk(d, ['exec', '-u', '1234', 'plain', 'sh', '-c', 'echo $HOME']), '/\n');
  assert.equal(await dockerOk(d, ['exec', '-u', 'nobody', 'plain', 'sh', '-c', 'echo $HOME']), '/home\n');
});

test("an exec's TERM follows its own terminal, and HOSTNAME is the container's", async () => {
  const env = async (args: string[]) => lines(await dockerOk(d, ['exec', ...args, 'env']));
  assert.deepEqual(await env(['plain']), [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOSTNAME=plainhost',
    'HOME=/root',
  ]);
  assert.ok((await env(['-t', 'plain'])).includes('TERM=xterm'), 'a terminal of its own');
  assert.ok(!(await env(['term'])).some((e) => e.startsWith('TERM=')), "none without, though the container's has one");
  assert.deepEqual(
    (await env(['-t', '-e', 'TERM=dumb', 'term'])).filter((e) => e.startsWith('TERM=')),
    ['TERM=dumb'],
  );
});

test("an exec that cannot start: its user missing (126, dockerd's bare words), an empty command, a paused container", async () => {
  const noUser = await docker(d, ['exec', '-u', 'nosuchuser', 'plain', 'true']);
  assert.equal(noUser.code, 126, noUser.stderr);
  assert.equal(
    lines(noUser.stdout + noUser.stderr)[0],
    'unable to find user nosuchuser: no matching entries in passwd file',
  );
  const noGroup = await docker(d, ['exec', '-u', '0:nosuchgroup', 'plain', 'true']);
  assert.equal(noGroup.code, 126, noGroup.stderr);
  const empty = await docker(d, ['exec', 'plain', '']);
  assert.equal(empty.code, 126, empty.stderr);
  assert.match(
    empty.stdout + empty.stderr,
    /^OCI runtime exec failed: exec failed: unable to start container process: exec: "": executable file not found in \$PATH: unknown$/m,
  );
  await dockerOk(d, ['pause', 'plain']);
  try {
    const paused = await docker(d, ['exec', 'plain', 'true']);
    assert.equal(paused.code, 1);
    assert.match(
      paused.stderr,
      /^Error response from daemon: Container plain is paused, unpause the container before exec$/m,
    );
  } finally {
    await dockerOk(d, ['unpause', 'plain']);
  }
});

test('/.dockerenv is there, empty and executable, as in dockerd containers, and in no diff or commit', async () => {
  assert.match(
    await dockerOk(d, ['run', '--name', 'marked', 'busybox', 'stat', '-c', '%a %s %u', '/.dockerenv']),
    /^755 0 0$/m,
  );
  assert.doesNotMatch(await dockerOk(d, ['diff', 'marked']), /dockerenv/);
  await dockerOk(d, ['commit', 'marked', 'marked-image']);
  const layers = await dockerOk(d, ['history', '--no-trunc', '--format', '{{.Size}}', 'marked-image']);
  assert.match(layers.split('\n')[0]!, /^0B$/, 'the commit adds nothing');
  await dockerOk(d, ['rm', 'marked']);
  await dockerOk(d, ['rmi', 'marked-image']);
});
