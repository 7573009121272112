/**
 * The docker-bench-security checks that apply to a daemon (bench/security-checks.ts) pass on a
 * default berthd, and with --hardened every opt-in one passes too; and the daemon-wide
 * container defaults they rely on (--default-ulimit, --no-new-privileges) behave as dockerd's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDaemon, cleanup, bootstrapBusybox, dockerOk, run, REPO } from './harness.ts';

for (const mode of [[], ['--hardened']]) {
  test(`every applicable docker-bench-security check passes on a ${mode.length ? 'hardened' : 'default'} berthd`, async () => {
    const r = await run(join(REPO, 'bin/node'), [join(REPO, 'bench/security-checks.ts'), ...mode], {
      timeoutMs: 300_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout, /^\S+\s+FAIL/m);
    assert.match(r.stdout, /^2\.7\s+PASS/m);
    assert.match(r.stdout, /^3\.B2\s+PASS/m);
    if (mode.length) assert.doesNotMatch(r.stdout, /OPT-IN/);
  });
}

test('containers get berthd --default-ulimit and --no-new-privileges unless they set their own', async () => {
  const d = await startDaemon([
    '--default-ulimit',
    'nofile=300:400',
    '--default-ulimit',
    'nproc=500:600',
    '--no-new-privileges',
  ]);
  try {
    await bootstrapBusybox(d);
    const sh = (args: string[], cmd: string) => dockerOk(d, ['run', '--rm', ...args, 'busybox', 'sh', '-c', cmd]);
    assert.equal(await sh([], 'ulimit -n; ulimit -Hn; ulimit -u'), '300\n400\n500\n');
    assert.equal(await sh(['--ulimit', 'nofile=100:200'], 'ulimit -n; ulimit -Hn; ulimit -u'), '100\n200\n500\n');
    assert.match(await sh([], 'grep NoNewPrivs /proc/self/status'), /NoNewPrivs:\s+1/);
    assert.match(
      await sh(['--security-opt', 'no-new-privileges=false'], 'grep NoNewPrivs /proc/self/status'),
      /NoNewPrivs:\s+0/,
    );
    // inspect shows the defaults merged in, as dockerd's does
    const id = (await dockerOk(d, ['create', '--ulimit', 'nofile=100:200', 'busybox'])).trim();
    const ulimits = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .HostConfig.Ulimits}}', id]));
    assert.deepEqual(ulimits, [
      { Name: 'nofile', Soft: 100, Hard: 200 },
      { Name: 'nproc', Soft: 500, Hard: 600 },
    ]);
  } finally {
    await cleanup(d);
  }
});

test('without --default-ulimit containers get nofile 1024 soft and at most 524288 hard', async () => {
  const d = await startDaemon();
  try {
    await bootstrapBusybox(d);
    const [soft, hard] = (await dockerOk(d, ['run', '--rm', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn']))
      .trim()
      .split('\n');
    assert.equal(soft, '1024');
    assert.ok(Number(hard) <= 524288 && Number(hard) >= 1024, hard);
  } finally {
    await cleanup(d);
  }
});
