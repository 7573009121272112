/**
 * Interactive containers through the real `docker` CLI: stdin piped with -i, a real terminal
 * with -it (driven through a pseudo-terminal), detaching and attaching again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, docker, dockerOk, berth, eventually, REPO, startDaemonWithBusybox, type Daemon } from './harness.ts';
import { Terminal } from './pty.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let d: Daemon;
let env: NodeJS.ProcessEnv;
before(async () => {
  d = await startDaemonWithBusybox();
  env = { ...process.env, DOCKER_HOST: d.host, TERM: 'xterm' };
});
after(() => cleanup(d));

const PROMPT = /\/ # /;

test('-i pipes standard input, and stdout and stderr stay separate', async () => {
  const r = await docker(d, ['run', '-i', '--rm', 'busybox', 'cat'], { input: 'hi\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hi\n');
  const r2 = await docker(d, ['run', '-i', '--rm', 'busybox', 'sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 4'], {
    input: 'some input\n',
  });
  assert.equal(r2.code, 4);
  assert.equal(r2.stdout, 'SOME INPUT\n');
  assert.equal(r2.stderr, 'oops\n');
});

test('-i with an input that is empty from the start (< /dev/null) ends the process, for run and exec', async () => {
  const r = await docker(d, ['run', '-i', '--rm', 'busybox', 'cat'], { input: '', timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  await dockerOk(d, ['run', '-d', '--name', 'emptyin', 'busybox', 'sleep', '60']);
  const e = await docker(d, ['exec', '-i', 'emptyin', 'cat'], { input: '', timeoutMs: 20_000 });
  assert.equal(e.code, 0, e.stderr);
  await dockerOk(d, ['rm', '-f', 'emptyin']);
});

test('-it gives a terminal: prompt, line editing, Ctrl-C, window size and resize, exit code', async () => {
  // A background job changes the outer terminal's size after a while; the CLI sends the resize.
  const t = new Terminal('(sleep 4; stty rows 41 cols 97 </dev/tty) & docker run -it --rm busybox sh', env, {
    rows: 33,
    cols: 111,
  });
  try {
    await t.expect(PROMPT);
    assert.equal(await dockerOk(d, ['ps', '-q']).then((o) => o.trim().split('\n').length), 1);
    // Line editing happens in the container's terminal: the backspace removes the "x".
    t.send('echo ab\x7fc-$((6*7))\r');
    await t.expect(/ac-42/);
    t.send('stty size\r');
    await t.expect(/33 111/);
    // Ctrl-C reaches the foreground process through the terminal, not the CLI.
    t.send('sleep 60\r');
    // Once sleep runs (a fixed half second stood in for that): a Ctrl-C that came before would
    // reach the shell's line editor instead.
    const id = (await dockerOk(d, ['ps', '-q'])).trim();
    assert.ok(await eventually(async () => /sleep 60/.test(await dockerOk(d, ['top', id])), 20_000), 'sleep runs');
    t.send('\x03');
    t.send('echo after-$?\r');
    await t.expect(/after-130/);
    // The outer size changes 4 s in; the container's terminal follows it.
    const resized = await eventually(
      async () => {
        const mark = t.output.length;
        t.send('stty size\r');
        return t.expect(/41 97/, 1000, mark).then(
          () => true,
          () => false,
        );
      },
      15_000,
      200,
    );
    assert.ok(resized, `the container's terminal did not follow the resize:\n${t.output}`);
    t.send('exit 3\r');
    assert.equal(await t.wait(), 3);
  } finally {
    t.kill();
  }
});

test('Ctrl-P Ctrl-Q detaches and leaves the container running; docker attach reconnects', async () => {
  const t = new Terminal('docker run -it --name detachme busybox sh', env);
  try {
    await t.expect(PROMPT);
    t.send('echo one-$((1+1))\r');
    await t.expect(/one-2/);
    t.send('\x10\x11');
    assert.equal(await t.wait(), 0);
  } finally {
    t.kill();
  }
  assert.match(await dockerOk(d, ['ps', '--filter', 'name=detachme', '--format', '{{.Status}}']), /^Up /);

  const a = new Terminal('docker attach detachme', env);
  try {
    a.send('\r');
    await a.expect(PROMPT);
    a.send('echo two-$((1+2))\r');
    await a.expect(/two-3/);
    a.send('exit 5\r');
    assert.equal(await a.wait(), 5);
  } finally {
    a.kill();
  }
  assert.match(
    await dockerOk(d, ['ps', '-a', '--filter', 'name=detachme', '--format', '{{.Status}}']),
    /^Exited \(5\)/,
  );
  await dockerOk(d, ['rm', 'detachme']);
});

test('--detach-keys chooses another sequence', async () => {
  const t = new Terminal('docker run -it --detach-keys ctrl-a,d --name otherkeys busybox sh', env);
  try {
    await t.expect(PROMPT);
    t.send('\x10\x11'); // the default keys are ordinary input now
    t.send('echo still-here\r');
    await t.expect(/still-here/);
    t.send('\x01d');
    assert.equal(await t.wait(), 0);
  } finally {
    t.kill();
  }
  assert.match(await dockerOk(d, ['ps', '--filter', 'name=otherkeys', '--format', '{{.Status}}']), /^Up /);
  await dockerOk(d, ['rm', '-f', 'otherkeys']);
});

test('detach keys from the config file work for exec and attach, with docker and berth', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cfg-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ detachKeys: 'ctrl-a,d' }));
  const withCfg = { ...env, DOCKER_CONFIG: dir, BERTH_CONFIG: dir };
  await dockerOk(d, ['run', '-dit', '--name', 'cfgkeys', 'busybox', 'sh']);
  try {
    for (const cli of ['docker', `${REPO}/bin/berth -H ${d.host}`]) {
      for (const cmd of ['exec -it cfgkeys sh', 'attach cfgkeys']) {
        const t = new Terminal(`${cli} ${cmd}`, withCfg);
        try {
          t.send('\r');
          await t.expect(PROMPT);
          t.send('\x10\x11'); // the default keys are ordinary input now
          t.send('echo still-here\r');
          await t.expect(/still-here/);
          t.send('\x01d');
          // The client ends by itself (wait kills it after 15 s: 128); docker says "read escape sequence".
          assert.notEqual(await t.wait(), 128, `${cli} ${cmd} did not detach:\n${t.output}`);
          if (cli === 'docker') assert.match(t.output, /read escape sequence/);
        } finally {
          t.kill();
        }
        assert.match(await dockerOk(d, ['ps', '--filter', 'name=cfgkeys', '--format', '{{.Status}}']), /^Up /);
      }
    }
  } finally {
    await docker(d, ['rm', '-f', 'cfgkeys']);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('berth run -i and -it behave the same', async () => {
  const r = await berth(d, ['run', '-i', '--rm', 'busybox', 'cat'], { input: 'through berth\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'through berth\n');
  const t = new Terminal(`${REPO}/bin/berth run -it --rm busybox sh`, env, { rows: 21, cols: 71 });
  try {
    await t.expect(PROMPT);
    t.send('stty size\r');
    await t.expect(/21 71/);
    t.send('exit 7\r');
    assert.equal(await t.wait(), 7);
  } finally {
    t.kill();
  }
});

test('docker exec runs in the container with -e, -u, -w, and returns the exit code', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'execme', '-e', 'FROM_RUN=1', 'busybox', 'sleep', '300']);
  try {
    const r = await docker(d, ['exec', 'execme', 'sh', '-c', 'echo out $FROM_RUN; echo err >&2; exit 7']);
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'out 1\n');
    assert.equal(r.stderr, 'err\n');
    const o = await dockerOk(d, [
      'exec',
      '-e',
      'FROM_EXEC=2',
      '-u',
      '1000:1001',
      '-w',
      '/tmp',
      'execme',
      'sh',
      '-c',
      'echo $FROM_RUN $FROM_EXEC; id -u; id -g; pwd',
    ]);
    assert.equal(o, '1 2\n1000\n1001\n/tmp\n');
    // The exec shares the container's namespaces: it sees the container's process as pid 1.
    assert.match(await dockerOk(d, ['exec', 'execme', 'cat', '/proc/1/cmdline']), /^sleep\x00300/);
    const piped = await docker(d, ['exec', '-i', 'execme', 'tr', 'a-z', 'A-Z'], { input: 'piped in\n' });
    assert.equal(piped.stdout, 'PIPED IN\n');
    await dockerOk(d, ['exec', '-d', 'execme', 'sh', '-c', 'echo detached > /tmp/marker']);
    assert.ok(
      await eventually(async () => (await docker(d, ['exec', 'execme', 'cat', '/tmp/marker'])).stdout === 'detached\n'),
    );
    const missing = await docker(d, ['exec', 'execme', 'no-such-command']);
    assert.equal(missing.code, 126);
    // dockerd 20.10's line, word for word.
    assert.match(
      missing.stderr,
      /^OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-command": executable file not found in \$PATH: unknown$/m,
    );
  } finally {
    await docker(d, ['rm', '-f', 'execme']);
  }
});

test('docker exec -it gives a terminal of the right size', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'execit', 'busybox', 'sleep', '300']);
  const t = new Terminal('docker exec -it execit sh', env, { rows: 27, cols: 93 });
  try {
    await t.expect(PROMPT);
    t.send('stty size; tty\r');
    await t.expect(/27 93\s+\/dev\/pts\/\d+/);
    t.send('exit 6\r');
    assert.equal(await t.wait(), 6);
  } finally {
    t.kill();
    await docker(d, ['rm', '-f', 'execit']);
  }
});

test("exec into a paused or stopped container gets Docker's errors", async () => {
  const id = (await dockerOk(d, ['run', '-d', '--name', 'execstate', 'busybox', 'sleep', '300'])).trim();
  try {
    await dockerOk(d, ['pause', 'execstate']);
    const paused = await docker(d, ['exec', 'execstate', 'true']);
    assert.notEqual(paused.code, 0);
    // Named as the client named it, as dockerd's exec create does (not running: by its ID).
    assert.match(paused.stderr, /Container execstate is paused, unpause the container before exec/);
    await dockerOk(d, ['unpause', 'execstate']);
    await dockerOk(d, ['stop', '-t', '0', 'execstate']);
    const stopped = await docker(d, ['exec', 'execstate', 'true']);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, new RegExp(`Container ${id} is not running`));
  } finally {
    await docker(d, ['rm', '-f', 'execstate']);
  }
});

test('berth exec returns the exit code and gives a terminal with -it', async () => {
  await dockerOk(d, ['run', '-d', '--name', 'berthexec', 'busybox', 'sleep', '300']);
  try {
    const r = await berth(d, ['exec', 'berthexec', 'sh', '-c', 'echo via berth; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'via berth\n');
    const t = new Terminal(`${REPO}/bin/berth exec -it berthexec sh`, env, { rows: 19, cols: 77 });
    try {
      await t.expect(PROMPT);
      t.send('stty size\r');
      await t.expect(/19 77/);
      t.send('exit 2\r');
      assert.equal(await t.wait(), 2);
    } finally {
      t.kill();
    }
  } finally {
    await docker(d, ['rm', '-f', 'berthexec']);
  }
});
