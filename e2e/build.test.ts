/**
 * Dockerfile builds through the real `docker build` (legacy builder, POST /build): steps,
 * the cache and its invalidation, multi-stage with --target, and failures with their reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startDaemon,
  stopDaemon,
  cleanup,
  docker,
  dockerOk,
  eventually,
  bootstrapBusybox,
  api,
  startDaemonWithBusybox,
  berth,
  run,
  REPO,
  type Daemon,
} from './harness.ts';
import { reserveSubnet } from './harness-subnet.ts';

let d: Daemon;
const env = { DOCKER_BUILDKIT: '0' };
before(async () => (d = await startDaemonWithBusybox()));
const made: string[] = [];
after(async () => {
  await cleanup(d);
  for (const p of made) rmSync(p, { recursive: true, force: true });
});

function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-build-'));
  made.push(dir, `${dir}.tar`);
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  return dir;
}

const build = (args: string[]) => docker(d, ['build', ...args], { env });

test('FROM busybox + RUN + COPY + CMD builds an image that runs, with one history row per step', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox',
      'ARG WHO=world',
      'ENV GREETING="hi there"',
      'RUN echo "building for $WHO" && mkdir /app && echo made > /app/made',
      'COPY hello.txt /app/',
      'WORKDIR /app',
      'CMD ["cat", "/app/hello.txt"]',
    ].join('\n'),
    'hello.txt': 'hello from the context\n',
  });
  const r = await build(['-t', 'basic:1', '-t', 'basic:also', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Step 1\/7 : FROM busybox\n ---> [0-9a-f]{12}\n/);
  assert.match(
    r.stdout,
    /Step 4\/7 : RUN echo "building for \$WHO".*\n ---> Running in [0-9a-f]{12}\nbuilding for world\n/,
  );
  assert.match(
    r.stdout,
    /Successfully built [0-9a-f]{12}\nSuccessfully tagged basic:1\nSuccessfully tagged basic:also\n/,
  );
  assert.equal(await dockerOk(d, ['run', '--rm', 'basic:1']), 'hello from the context\n');
  assert.equal(
    await dockerOk(d, ['run', '--rm', 'basic:also', 'sh', '-c', 'pwd; cat made; echo $GREETING; echo ${WHO:-unset}']),
    '/app\nmade\nhi there\nunset\n',
  );
  const history = await dockerOk(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'basic:1']);
  const rows = history.trim().split('\n');
  assert.equal(rows[0], '/bin/sh -c #(nop)  CMD ["cat" "/app/hello.txt"]');
  assert.equal(rows[1], '/bin/sh -c #(nop) WORKDIR /app');
  assert.match(rows[2]!, /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/app\/ $/);
  assert.equal(rows[3], '|1 WHO=world /bin/sh -c echo "building for $WHO" && mkdir /app && echo made > /app/made');
  assert.equal(rows[4], '/bin/sh -c #(nop)  ENV GREETING=hi there');
  const ids = (await dockerOk(d, ['history', '--format', '{{.ID}}', 'basic:1'])).trim().split('\n');
  assert.equal(ids.length, rows.length);
  assert.ok(
    ids.slice(0, 6).every((i) => /^[0-9a-f]{12}$/.test(i)),
    `the build's intermediate images are named: ${ids.join(' ')}`,
  );
  assert.equal(ids[6], (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'busybox'])).trim().slice(7, 19));
});

test('a rebuild with nothing changed uses the cache for every step; a changed file invalidates from its COPY on', async () => {
  const dir = context({
    Dockerfile: 'FROM busybox\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\nCOPY b.txt /b.txt\n',
    'a.txt': 'a1\n',
    'b.txt': 'b1\n',
  });
  const first = await build(['-t', 'cached', dir]);
  assert.equal(first.code, 0, first.stderr);
  assert.doesNotMatch(first.stdout, /Using cache/);
  const id1 = (await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'cached'])).trim();
  const again = await build(['-t', 'cached', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.match(/ ---> Using cache\n/g)?.length, 4, again.stdout);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.Id}}', 'cached'])).trim(), id1);

  writeFileSync(join(dir, 'a.txt'), 'a2\n');
  const changed = await build(['-t', 'cached', dir]);
  assert.equal(changed.code, 0, changed.stderr);
  const steps = changed.stdout.split(/^Step /m).slice(1);
  assert.match(steps[1]!, /Using cache/, 'RUN before the changed COPY is cached');
  assert.doesNotMatch(steps[2]!, /Using cache/, 'the COPY of the changed file runs');
  assert.doesNotMatch(steps[3]!, /Using cache/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'cached', 'cat', '/copy']), 'a2\n');

  const noCache = await build(['--no-cache', '-t', 'cached', dir]);
  assert.equal(noCache.code, 0, noCache.stderr);
  assert.doesNotMatch(noCache.stdout, /Using cache/);
});

test('the cache survives a daemon restart, and docker builder prune clears it', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nRUN echo persisted > /p\n' });
  assert.equal((await build(['-t', 'persist', dir])).code, 0);
  await stopDaemon(d);
  d = await startDaemon(d.extraArgs, d.root);
  const again = await build(['-t', 'persist', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Using cache/);
  // a step's root left mounted by a crash is unmounted and removed at the next start
  await stopDaemon(d, 'kill');
  const { spawnSync } = await import('node:child_process');
  const stale = join(d.root, 'data', 'builder', 'mounts', 'step-dead', 'rootfs');
  mkdirSync(stale, { recursive: true });
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', stale]).status, 0);
  d = await startDaemon(d.extraArgs, d.root);
  const { readFileSync, existsSync } = await import('node:fs');
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(stale), 'the stale mount is gone');
  assert.ok(!existsSync(stale));
  const bk = await api(d, 'POST', '/build?version=2', Buffer.alloc(1024), { 'Content-Type': 'application/x-tar' });
  assert.equal(bk.status, 400);
  assert.match(bk.body, /BuildKit builds \(version=2\) are not supported/);
  const pruned = await api(d, 'POST', '/build/prune');
  assert.equal(pruned.status, 200, pruned.body);
  const after = await build(['-t', 'persist', dir]);
  assert.doesNotMatch(after.stdout, /Using cache/);
});

test('--cache-from: an image built on another daemon and loaded here stands for the steps it has, as with dockerd', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox',
      'ENV STAGE=ci',
      'COPY app.txt /app/',
      'RUN cat /proc/sys/kernel/random/uuid > /stamp',
      'CMD ["cat", "/stamp"]',
    ].join('\n'),
    'app.txt': 'v1\n',
  });
  const first = await build(['-t', 'cached:ci', dir]);
  assert.equal(first.code, 0, first.stderr + first.stdout);
  const stamp = await dockerOk(d, ['run', '--rm', 'cached:ci']);
  // A second daemon (a fresh CI machine) with only the saved image: no cache of its own.
  const other = await startDaemonWithBusybox();
  try {
    const tar = join(dir, '..', `${dir.split('/').pop()}.tar`);
    await dockerOk(d, ['save', '-o', tar, 'cached:ci']);
    await dockerOk(other, ['load', '-i', tar]);
    const reused = await docker(other, ['build', '--cache-from', 'cached:ci', '-t', 'again', dir], { env });
    assert.equal(reused.code, 0, reused.stderr + reused.stdout);
    assert.equal(reused.stdout.match(/Using cache/g)?.length, 4, reused.stdout);
    assert.equal(await dockerOk(other, ['run', '--rm', 'again']), stamp, 'the RUN did not run again');
    assert.equal(
      await dockerOk(other, ['inspect', '-f', '{{.Id}}', 'again']),
      await dockerOk(other, ['inspect', '-f', '{{.Id}}', 'cached:ci']),
    );
    // A changed file: the steps before it come from the source, it and the rest run.
    writeFileSync(join(dir, 'app.txt'), 'v2\n');
    const changed = await docker(other, ['build', '--cache-from', 'cached:ci', '-t', 'changed', dir], { env });
    assert.equal(changed.code, 0, changed.stderr + changed.stdout);
    assert.equal(changed.stdout.match(/Using cache/g)?.length, 1, changed.stdout);
    assert.notEqual(await dockerOk(other, ['run', '--rm', 'changed']), stamp);
    // Without --cache-from the loaded image is not used (dockerd's legacy builder neither).
    const plain = await docker(other, ['build', '--no-cache', '-t', 'plain', dir], { env });
    assert.doesNotMatch(plain.stdout, /Using cache/);
    // A --cache-from image that is not there is skipped.
    const missing = await docker(other, ['build', '--cache-from', 'nosuch:1', '-q', dir], { env });
    assert.equal(missing.code, 0, missing.stderr);
  } finally {
    await cleanup(other);
  }
});

test('multi-stage: COPY --from a stage, --target stops early, stages nothing needs are skipped', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox AS unused',
      'RUN echo never-run-marker',
      'FROM busybox AS builder',
      'RUN mkdir /out && echo built > /out/artifact',
      'FROM busybox',
      'COPY --from=builder /out/artifact /artifact',
      'CMD ["cat", "/artifact"]',
    ].join('\n'),
  });
  const r = await build(['-t', 'multi', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.doesNotMatch(r.stdout, /never-run-marker\n(?! )/, 'the unused stage did not run');
  assert.doesNotMatch(r.stdout, /AS unused/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'multi']), 'built\n');
  const t = await build(['--target', 'builder', '-t', 'multi:builder', dir]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /Step 2\/2 : RUN mkdir/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'multi:builder', 'cat', '/out/artifact']), 'built\n');
  const bad = await build(['--target', 'nope', dir]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /failed to reach build target nope in Dockerfile/);
});

test('a failing RUN fails the build with its exit code and tags nothing', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nRUN echo before\nRUN echo oops >&2; exit 3\nCMD ["true"]\n' });
  const r = await build(['-t', 'broken:1', dir]);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr + r.stdout,
    /The command '\/bin\/sh -c echo oops >&2; exit 3' returned a non-zero code: 3 \(Dockerfile:3\)/,
  );
  assert.equal(r.code, 3, 'the CLI exits with the step exit code, as with dockerd');
  assert.match(r.stdout, /oops/);
  const img = await docker(d, ['image', 'inspect', 'broken:1']);
  assert.notEqual(img.code, 0, 'nothing tagged');
  // As dockerd's legacy builder: the failed step's container stays for `docker logs`/`commit`
  // (dockerd documents --rm as "after a successful build"), --force-rm removes it too.
  const left = (await dockerOk(d, ['ps', '-aq'])).trim();
  try {
    assert.match(left, /^[0-9a-f]{12}$/, 'one container left');
    assert.match(await dockerOk(d, ['ps', '-a', '--format', '{{.Status}}']), /^Exited \(3\) /);
    assert.equal(
      (await dockerOk(d, ['inspect', '-f', '{{json .Config.Cmd}}', left])).trim(),
      '["/bin/sh","-c","echo oops >&2; exit 3"]',
    );
  } finally {
    await dockerOk(d, ['container', 'prune', '-f']);
  }
  const forced = await build(['--force-rm', '-t', 'broken:1', dir]);
  assert.equal(forced.code, 3);
  assert.equal((await dockerOk(d, ['ps', '-aq'])).trim(), '', 'no container left behind with --force-rm');
});

test('an unknown instruction fails with the file, the line number and the reason', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nRUN true\nFOO bar\n' });
  const r = await build(['-t', 'unknown', dir]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /dockerfile parse error on line 3: unknown instruction: FOO/);
  assert.match(r.stderr, /Dockerfile/);
  const missing = await build(['-f', 'Nope.dockerfile', dir]);
  assert.notEqual(missing.code, 0);
});

test('COPY of a missing file names it; build args reach RUN; labels and -f work', async () => {
  const dir = context({
    'sub/Build.df': 'FROM busybox\nARG V\nLABEL from.file=yes\nRUN echo "v=$V" > /v\n',
    Dockerfile: 'FROM busybox\nCOPY missing.txt /\n',
  });
  const miss = await build([dir]);
  assert.notEqual(miss.code, 0);
  assert.match(
    miss.stderr + miss.stdout,
    /COPY failed: file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist \(Dockerfile:2\)/,
  );
  const r = await build([
    '-f',
    join(dir, 'sub/Build.df'),
    '--build-arg',
    'V=42',
    '--label',
    'extra=1',
    '-t',
    'args',
    dir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await dockerOk(d, ['run', '--rm', 'args', 'cat', '/v']), 'v=42\n');
  const labels = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .Config.Labels}}', 'args']));
  assert.deepEqual(labels, { 'from.file': 'yes', extra: '1' });
});

test('COPY --chown/--chmod and globs, ADD unpacks a local tar, heredocs, ONBUILD triggers', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox',
      'COPY --chown=1234:5678 --chmod=700 *.sh /scripts/',
      'ADD bundle.tar /unpacked',
      'COPY dir /copied',
      'RUN <<EOF',
      'echo from-heredoc > /heredoc',
      'echo line2 >> /heredoc',
      'EOF',
      'RUN <<EOF',
      '#!/bin/sh -e',
      'echo "script as $0" | sed "s/-[0-9]*$//" > /shebang',
      'EOF',
      'COPY <<EOT /etc/greeting',
      'hello $HOSTNAME-literal',
      'EOT',
      'ONBUILD RUN echo triggered > /trigger',
    ].join('\n'),
    'one.sh': 'echo one\n',
    'two.sh': 'echo two\n',
    'dir/inner/f.txt': 'inner\n',
  });
  const tarSrc = context({ 'a/in-tar.txt': 'from tar\n' });
  const tar = await docker(d, ['version'], {}); // keeps the daemon warm
  assert.equal(tar.code, 0);
  const { run } = await import('./harness.ts');
  const t = await run('tar', ['-C', tarSrc, '-cf', join(dir, 'bundle.tar'), 'a']);
  assert.equal(t.code, 0, t.stderr);
  const r = await build(['-t', 'files', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = await dockerOk(d, [
    'run',
    '--rm',
    'files',
    'sh',
    '-c',
    'stat -c "%u:%g %a %n" /scripts/one.sh /scripts/two.sh; cat /unpacked/a/in-tar.txt /copied/inner/f.txt /heredoc /etc/greeting /shebang',
  ]);
  assert.equal(
    out,
    '1234:5678 700 /scripts/one.sh\n1234:5678 700 /scripts/two.sh\nfrom tar\ninner\nfrom-heredoc\nline2\nhello -literal\nscript as /tmp/.berth-heredoc\n',
  );
  const child = context({ Dockerfile: 'FROM files\nRUN cat /trigger\n' });
  const c = await build(['-t', 'files:child', child]);
  assert.equal(c.code, 0, c.stderr + c.stdout);
  assert.match(c.stdout, /# Executing 1 build trigger/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'files:child', 'cat', '/trigger']), 'triggered\n');
  const onbuild = await dockerOk(d, ['inspect', '-f', '{{json .Config.OnBuild}}', 'files:child']);
  assert.equal(onbuild.trim(), 'null', 'triggers run once, in the child, and are not inherited');
});

test('an ONBUILD COPY --from names a stage nothing else needs: the build runs that stage first', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox AS assets',
      'RUN echo asset > /asset',
      'FROM busybox AS parent',
      'ONBUILD COPY --from=assets /asset /asset',
      'FROM parent',
      'RUN cat /asset',
    ].join('\n'),
  });
  const r = await build(['-t', 'onbuild-from', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(await dockerOk(d, ['run', '--rm', 'onbuild-from', 'cat', '/asset']), 'asset\n');
});

test('a Dockerfile on stdin, -q with --iidfile, and stderr of RUN marked as dockerd does', async () => {
  const r = await docker(d, ['build', '-t', 'stdin', '-'], { env, input: 'FROM busybox\nRUN echo to-stderr >&2\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\u001b\[91mto-stderr\n\u001b\[0m/);
  const dir = context({ Dockerfile: 'FROM busybox\nLABEL quiet=1\n' });
  const iid = join(dir, 'iid');
  const q = await build(['-q', '--iidfile', iid, dir]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(iid, 'utf8'), q.stdout, 'as dockerd: the quiet output, newline included');
  const qfail = await build([
    '-q',
    '--force-rm',
    context({ Dockerfile: 'FROM busybox\nRUN echo shown-when-failing\nRUN exit 4\n' }),
  ]);
  assert.equal(qfail.code, 4);
  assert.match(
    qfail.stderr,
    /Step 2\/3 : RUN echo shown-when-failing[\s\S]*shown-when-failing\n/,
    'a failed -q build shows what it kept back',
  );
  const pruned = await docker(d, ['builder', 'prune', '-f']);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, /Total reclaimed space/);
});

test('independent stages build in parallel, their output still in file order', async () => {
  const dir = context({
    Dockerfile: [
      // Each stage notes the host's uptime (/proc/uptime is not namespaced) before and after its
      // sleep: in parallel, the two sleeps overlap.
      'FROM busybox AS a',
      'RUN read t _ </proc/uptime && sleep 2.5 && read u _ </proc/uptime && echo stage-a $t $u > /a',
      'FROM busybox AS b',
      'RUN read t _ </proc/uptime && sleep 2.5 && read u _ </proc/uptime && echo stage-b $t $u > /b',
      'FROM busybox',
      'COPY --from=a /a /a',
      'COPY --from=b /b /b',
      'CMD ["cat", "/a", "/b"]',
    ].join('\n'),
  });
  const r = await build(['--no-cache', '-t', 'parallel', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const steps = [...r.stdout.matchAll(/^Step (\d+)\/8 :/gm)].map((m) => Number(m[1]));
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8]);
  const out = await dockerOk(d, ['run', '--rm', 'parallel']);
  assert.match(out, /^stage-a [\d.]+ [\d.]+\nstage-b [\d.]+ [\d.]+\n$/);
  // Not the build's wall time (one took 5.6 s here under load, against a bound of 4.8): whether
  // each sleep began before the other ended.
  const [a, b] = out
    .trim()
    .split('\n')
    .map((l) => l.split(' ').slice(1).map(Number) as [number, number]);
  assert.ok(a[0] < b[1] && b[0] < a[1], `stage a slept ${a.join('-')} s, stage b ${b.join('-')} s: not in parallel`);
});

test('a failing stage stops the others and the error comes after its output', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox AS slow',
      'RUN sleep 20',
      'FROM busybox AS bad',
      'RUN echo bad-output && exit 7',
      'FROM busybox',
      'COPY --from=slow /etc/hostname /x',
      'COPY --from=bad /etc/hostname /y',
    ].join('\n'),
  });
  const t0 = Date.now();
  const r = await build(['--no-cache', '--force-rm', dir]);
  assert.notEqual(r.code, 0);
  assert.ok(Date.now() - t0 < 15_000, 'the slow stage was killed');
  assert.match(r.stdout + r.stderr, /bad-output[\s\S]*returned a non-zero code: 7/);
  // The aborted stage removes its container on its way out, which can end after the build has
  // answered: waited for (as the cancelled build's test below does), not a fixed half second.
  let left = '';
  await eventually(async () => (left = (await dockerOk(d, ['ps', '-aq'])).trim()) === '', 15_000);
  assert.equal(left, '', 'no step container left behind');
});

test('berth build: -t, -f, --build-arg, .dockerignore applied by the client', async () => {
  const { berth } = await import('./harness.ts');
  const dir = context({
    Dockerfile: 'FROM busybox\nARG X\nCOPY . /ctx/\nRUN echo "x=$X" > /x\n',
    '.dockerignore': 'secret.txt\n',
    'keep.txt': 'kept\n',
    'secret.txt': 'do not send\n',
  });
  const r = await berth(d, ['build', '-t', 'viaberth', '--build-arg', 'X=7', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Successfully tagged viaberth:latest/);
  assert.equal(
    await dockerOk(d, ['run', '--rm', 'viaberth', 'sh', '-c', 'cat /x; ls /ctx']),
    'x=7\nDockerfile\nkeep.txt\n',
  );
});

test('berth build - reads a Dockerfile, a tar or a gzipped tar from stdin', async () => {
  const { berth } = await import('./harness.ts');
  const { makeTar } = await import('../src/archive/testing.ts');
  const { gzipSync } = await import('node:zlib');
  const bare = await berth(d, ['build', '-t', 'stdin-df', '-'], { input: 'FROM busybox\nRUN echo bare > /bare\n' });
  assert.equal(bare.code, 0, bare.stderr + bare.stdout);
  assert.equal(await dockerOk(d, ['run', '--rm', 'stdin-df', 'cat', '/bare']), 'bare\n');
  const tar = await makeTar([
    { name: 'Dockerfile', content: 'FROM busybox\nCOPY f /f\n' },
    { name: 'f', content: 'from the tar\n' },
  ]);
  for (const [tag, input] of [
    ['stdin-tar', tar],
    ['stdin-tgz', gzipSync(tar)],
  ] as const) {
    const r = await berth(d, ['build', '-t', tag, '-'], { input });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(await dockerOk(d, ['run', '--rm', tag, 'cat', '/f']), 'from the tar\n');
  }
});

test('ADD <url> downloads into the image (a loopback server), COPY refuses a URL', async () => {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => res.end('served over http\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const dir = context({ Dockerfile: `FROM busybox\nADD http://127.0.0.1:${port}/pub/remote.txt /dl/\n` });
    const r = await build(['-t', 'addurl', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(
      await dockerOk(d, ['run', '--rm', 'addurl', 'sh', '-c', 'stat -c %a /dl/remote.txt; cat /dl/remote.txt']),
      '600\nserved over http\n',
    );
    const bad = context({ Dockerfile: `FROM busybox\nCOPY http://127.0.0.1:${port}/x /x\n` });
    const b = await build([bad]);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr + b.stdout, /source can't be a URL for COPY/);
  } finally {
    server.close();
  }
});

test('a context from a tarball on stdin, and FROM --platform of another platform refused', async () => {
  const { run } = await import('./harness.ts');
  const dir = context({ Dockerfile: 'FROM busybox\nCOPY data.txt /\n', 'data.txt': 'in the tarball\n' });
  const tar = await run('tar', ['-C', dir, '-cf', join(dir, '..', `${dir.split('/').pop()}.tar`), '.']);
  assert.equal(tar.code, 0, tar.stderr);
  const { readFileSync } = await import('node:fs');
  const r = await docker(d, ['build', '-t', 'fromtar', '-'], {
    env,
    input: readFileSync(join(dir, '..', `${dir.split('/').pop()}.tar`)),
  });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(await dockerOk(d, ['run', '--rm', 'fromtar', 'cat', '/data.txt']), 'in the tarball\n');
  const other = process.arch === 'arm64' ? 'linux/amd64' : 'linux/arm64';
  const p = await build([context({ Dockerfile: `FROM --platform=${other} busybox\n` })]);
  assert.notEqual(p.code, 0);
  assert.match(p.stderr + p.stdout, new RegExp(`platform "${other}" cannot be built here.*\\(Dockerfile:1\\)`));
});

test('USER, WORKDIR, ENV, ENTRYPOINT and EXPOSE of the built image apply to docker run', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox',
      'RUN echo app:x:1234:1234::/home/app:/bin/sh >> /etc/passwd && echo app:x:1234: >> /etc/group',
      'USER app',
      'WORKDIR /home/app/work',
      'ENV MODE=prod',
      'EXPOSE 8080/tcp',
      'ENTRYPOINT ["sh", "-c", "echo $(id -un) $(pwd) $MODE \\"$@\\"", "--"]',
      'CMD ["default-arg"]',
    ].join('\n'),
  });
  const r = await build(['-t', 'runcfg', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(await dockerOk(d, ['run', '--rm', 'runcfg']), 'app /home/app/work prod default-arg\n');
  assert.equal(await dockerOk(d, ['run', '--rm', 'runcfg', 'other']), 'app /home/app/work prod other\n');
  assert.equal(await dockerOk(d, ['run', '--rm', '-u', 'root', 'runcfg']), 'root /home/app/work prod default-arg\n');
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{json .Config.ExposedPorts}}', 'runcfg'])).trim(),
    '{"8080/tcp":{}}',
  );
});

test('RUN steps get the default bridge (eth0), and no network with --network none', async () => {
  const { startDaemon: start } = await import('./harness.ts');
  const nd = await start(['--bridge', `bbd${process.pid % 100000}`, '--bip', `${await reserveSubnet()}.1/24`]);
  try {
    await bootstrapBusybox(nd);
    const dir = context({
      Dockerfile: 'FROM busybox\nRUN ls /sys/class/net | tr "\\n" " " > /nets; cat /nets; echo\n',
    });
    const r = await docker(nd, ['build', '--no-cache', '-t', 'net', dir], { env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(await dockerOk(nd, ['run', '--rm', '--network', 'none', 'net', 'cat', '/nets']), 'eth0 lo ');
    const none = await docker(nd, ['build', '--no-cache', '--network', 'none', '-t', 'net', dir], { env });
    assert.equal(none.code, 0, none.stderr);
    assert.equal(await dockerOk(nd, ['run', '--rm', '--network', 'none', 'net', 'cat', '/nets']), 'lo ');
  } finally {
    await cleanup(nd);
  }
});

test('RUN after VOLUME: the volume content is not committed and no anonymous volume is left', async () => {
  const dir = context({
    Dockerfile: 'FROM busybox\nVOLUME /data\nRUN echo x > /data/f && echo y > /kept\nRUN ls /data; cat /kept\n',
  });
  const r = await build(['--no-cache', '-t', 'vol', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Step 4\/4 : RUN ls \/data; cat \/kept\n ---> Running in [0-9a-f]{12}\ny\n/);
  assert.equal((await dockerOk(d, ['volume', 'ls', '-q'])).trim(), '');
});

test('--add-host and -m reach the RUN containers; ADD --chown owns what a tar holds', async () => {
  const { run } = await import('./harness.ts');
  const dir = context({
    Dockerfile: [
      'FROM busybox',
      'RUN grep -q "10.9.8.7.*buildhost" /etc/hosts && cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
      'ADD --chown=42:43 t.tar /t/',
      'RUN stat -c "%u:%g %n" /t/a/f',
    ].join('\n'),
  });
  const src = context({ 'a/f': 'x\n' });
  assert.equal((await run('tar', ['-C', src, '-cf', join(dir, 't.tar'), 'a'])).code, 0);
  const r = await build(['--no-cache', '--add-host', 'buildhost:10.9.8.7', '-m', '64m', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /\n67108864\n/);
  assert.match(r.stdout, /\n42:43 \/t\/a\/f\n/);
});

test('a client that goes away (Ctrl-C) cancels the build: the running step is killed and removed', async () => {
  const { spawn } = await import('node:child_process');
  const { DOCKER, eventually } = await import('./harness.ts');
  const dir = context({ Dockerfile: 'FROM busybox\nRUN echo started && sleep 60\n' });
  const p = spawn(DOCKER, ['build', '--no-cache', '-t', 'cancelled', dir], {
    env: { ...process.env, DOCKER_HOST: d.host, ...env },
  });
  let out = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  assert.ok(await eventually(() => /\nstarted\n/.test(out), 30_000), `the step started: ${out}`);
  assert.equal((await dockerOk(d, ['ps', '-q'])).trim().split('\n').length, 1, 'the step runs');
  p.kill('SIGINT');
  // The step's container is killed and removed after the client has gone: waited for, then asserted.
  let left = '';
  await eventually(async () => (left = (await dockerOk(d, ['ps', '-aq'])).trim()) === '', 15_000);
  assert.equal(left, '', 'the cancelled step left no container');
  assert.notEqual((await docker(d, ['image', 'inspect', 'cancelled'])).code, 0);
});

test('the rest of the instructions: scratch, COPY --from an image, exec-form RUN, SHELL, HEALTHCHECK, STOPSIGNAL, MAINTAINER, directives', async () => {
  const dir = context({
    Dockerfile: [
      '# syntax=docker/dockerfile:1',
      '# escape=`',
      'FROM scratch AS tiny',
      'COPY --from=busybox /bin/busybox /bin/busybox',
      'RUN ["/bin/busybox", "sh", "-c", "echo exec-form > /exec"]',
      'SHELL ["/bin/busybox", "sh", "-c"]',
      '# a comment inside the file',
      'RUN echo "shell $0" > /shell && `',
      '    echo continued >> /shell',
      'HEALTHCHECK --interval=7s --retries=2 CMD /bin/busybox true',
      'STOPSIGNAL SIGUSR1',
      'MAINTAINER Berth Builder <build@example.invalid>',
      'CMD ["/bin/busybox", "cat", "/exec", "/shell"]',
    ].join('\n'),
  });
  const r = await build(['-t', 'tiny', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Step 1\/9 : FROM scratch AS tiny\n ---> \n/);
  assert.equal(await dockerOk(d, ['run', '--rm', 'tiny']), 'exec-form\nshell sh\ncontinued\n');
  const info = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .}}', 'tiny']));
  assert.deepEqual(info.Config.Healthcheck, { Test: ['CMD-SHELL', '/bin/busybox true'], Interval: 7e9, Retries: 2 });
  assert.equal(info.Config.StopSignal, 'SIGUSR1');
  assert.deepEqual(info.Config.Shell, ['/bin/busybox', 'sh', '-c']);
  assert.equal(info.Author, 'Berth Builder <build@example.invalid>');
  assert.equal(info.RootFS.Layers.length, 3, 'COPY and two RUNs');
});

test('ARG scoping: a meta ARG is seen in a stage only once declared there, --build-arg overrides its default', async () => {
  const dir = context({
    Dockerfile: [
      'ARG V=meta',
      'FROM busybox AS a',
      'RUN echo "a:${V:-unset}" > /a',
      'ARG V',
      'RUN echo "a2:$V" >> /a',
      'FROM busybox',
      'COPY --from=a /a /a',
      'RUN echo "b:${V:-unset}" >> /a',
      'CMD ["cat", "/a"]',
    ].join('\n'),
  });
  assert.equal((await build(['-t', 'scoped', dir])).code, 0);
  assert.equal(await dockerOk(d, ['run', '--rm', 'scoped']), 'a:unset\na2:meta\nb:unset\n');
  assert.equal((await build(['--build-arg', 'V=cli', '-t', 'scoped', dir])).code, 0);
  assert.equal(await dockerOk(d, ['run', '--rm', 'scoped']), 'a:unset\na2:cli\nb:unset\n');
});

test('a Dockerfile outside the context (-f ../Dockerfile) builds, and never appears in the image', async () => {
  const outer = context({
    Dockerfile: 'FROM busybox\nCOPY . /x\nCMD ["ls", "-A", "/x"]\n',
    'ctx/a.txt': 'a\n',
  });
  const r = await build(['-q', '-f', join(outer, 'Dockerfile'), '-t', 'outside:1', join(outer, 'ctx')]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(await dockerOk(d, ['run', '--rm', 'outside:1']), 'a.txt\n');
  // With a .dockerignore of the user's: it stays (as with dockerd), the generated name does not.
  writeFileSync(join(outer, 'ctx', '.dockerignore'), 'b.txt\n');
  writeFileSync(join(outer, 'ctx', 'b.txt'), 'b\n');
  const r2 = await build(['-q', '-f', join(outer, 'Dockerfile'), '-t', 'outside:2', join(outer, 'ctx')]);
  assert.equal(r2.code, 0, r2.stderr + r2.stdout);
  assert.equal(await dockerOk(d, ['run', '--rm', 'outside:2']), '.dockerignore\na.txt\n');
});

test('RUN --mount: a cache directory per id kept between builds and out of the image; a bind of the context; tmpfs', async () => {
  const dir = context({
    Dockerfile: [
      '# syntax=docker/dockerfile:1.4',
      'FROM busybox',
      'ARG ROUND',
      "RUN --mount=type=cache,target=/cache,id=e2e-cache sh -c 'echo $ROUND >> /cache/log; cat /cache/log > /seen'",
      'RUN --mount=type=bind,source=data,target=/src cat /src/f.txt > /bound',
      "RUN --mount=type=tmpfs,target=/scratch sh -c 'echo x > /scratch/y && test -f /scratch/y'",
    ].join('\n'),
    'data/f.txt': 'from the context\n',
  });
  for (const round of ['one', 'two']) {
    const r = await build(['-q', '--build-arg', `ROUND=${round}`, '-t', `mounts:${round}`, dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
  }
  // The second build saw what the first left in the cache; neither image holds the cache's files.
  assert.equal(await dockerOk(d, ['run', '--rm', 'mounts:two', 'cat', '/seen']), 'one\ntwo\n');
  // Nor the mount points themselves, which the image did not have (BuildKit leaves none).
  assert.equal(
    await dockerOk(d, ['run', '--rm', 'mounts:two', 'sh', '-c', 'ls -d /cache /src /scratch 2>&1; true']),
    'ls: /cache: No such file or directory\nls: /src: No such file or directory\nls: /scratch: No such file or directory\n',
  );
  assert.equal(await dockerOk(d, ['run', '--rm', 'mounts:one', 'cat', '/bound']), 'from the context\n');
});

test('RUN --mount=type=secret with berth build --secret: the secret is there for the RUN and nowhere in the image', async () => {
  const secretFile = join(context({}), 'token');
  writeFileSync(secretFile, 'fil3-s3cret');
  const dir = context({
    Dockerfile: [
      'FROM busybox',
      // The secrets' digests only: the Dockerfile and what the RUNs write land in the image.
      'RUN --mount=type=secret,id=tok md5sum /run/secrets/tok | cut -c1-32 > /used',
      'RUN --mount=type=secret,id=api,target=/etc/api-key,uid=1000,mode=0440 stat -c "%u %a %s" /etc/api-key > /api',
      'RUN --mount=type=secret,id=absent ls /run/secrets/absent 2>/dev/null || echo skipped > /absent',
      'COPY . /ctx',
    ].join('\n'),
  });
  const env = { ...process.env, API_KEY_VAR: 'env-s3cret' };
  const secrets = ['--secret', `id=tok,src=${secretFile}`, '--secret', 'id=api,env=API_KEY_VAR'];
  const r = await run(join(REPO, 'bin/berth'), ['-H', d.host, 'build', ...secrets, '-t', 'secrets:1', dir], { env });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(
    await dockerOk(d, ['run', '--rm', 'secrets:1', 'cat', '/used', '/api', '/absent']),
    '1652caef6617d4a91a1f8e66815deb7d\n1000 440 10\nskipped\n',
  );
  assert.equal(
    await dockerOk(d, ['run', '--rm', 'secrets:1', 'sh', '-c', 'ls -d /run/secrets /etc/api-key 2>&1; ls /ctx']),
    'ls: /run/secrets: No such file or directory\nls: /etc/api-key: No such file or directory\nDockerfile\n',
  );
  const saved = await run('sh', [
    '-c',
    `docker -H ${d.host} save secrets:1 | tar -xO --wildcards '*' 2>/dev/null | zcat -f | grep -ac s3cret; true`,
  ]);
  assert.equal(saved.stdout.trim(), '0', 'no layer holds either secret');
  // A required secret that was not sent fails the build with BuildKit's words; so does a bad source.
  const required = context({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=tok,required true\n' });
  const missing = await berth(d, ['build', '-q', required]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /secret tok: not found/);
  const unreadable = await berth(d, ['build', '--secret', 'id=tok,src=/nonexistent/token', required]);
  assert.match(unreadable.stderr, /failed to read secret tok from \/nonexistent\/token/);
  // The docker CLI without buildx has no --secret (it needs BuildKit): its own refusal.
  assert.match((await build(['--secret', `id=tok,src=${secretFile}`, required])).stderr, /unknown flag: --secret/);
});

test('ADD --checksum: a download with the digest given is added, another fails the build; COPY --chmod and --link take effect', async () => {
  const { createServer } = await import('node:http');
  const { createHash } = await import('node:crypto');
  const body = 'checked over http\n';
  const server = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const good = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const bad = `sha256:${'0'.repeat(64)}`;
  try {
    const dir = context({
      Dockerfile: [
        '# syntax=docker/dockerfile:1.6',
        'FROM busybox',
        `ADD --checksum=${good} http://127.0.0.1:${port}/f.txt /dl/`,
        'COPY --chmod=0741 local.txt /local.txt',
        'COPY --link local.txt /linked.txt',
      ].join('\n'),
      'local.txt': 'local\n',
    });
    const r = await build(['-q', '-t', 'checksum:1', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(
      await dockerOk(d, [
        'run',
        '--rm',
        'checksum:1',
        'sh',
        '-c',
        'cat /dl/f.txt; stat -c "%a %n" /local.txt /linked.txt',
      ]),
      `${body}741 /local.txt\n644 /linked.txt\n`,
    );
    const wrong = context({ Dockerfile: `FROM busybox\nADD --checksum=${bad} http://127.0.0.1:${port}/f.txt /dl/\n` });
    const w = await build(['-q', wrong]);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, new RegExp(`digest mismatch ${bad}: ${good}`));
    const local = context({ Dockerfile: `FROM busybox\nADD --checksum=${good} local.txt /\n`, 'local.txt': 'x\n' });
    assert.match((await build(['-q', local])).stderr, /checksum can't be specified for non-HTTP\(S\) sources/);
  } finally {
    server.close();
  }
});

test('.dockerignore with ! exceptions, nested directories and names with spaces: the file list dockerd 20.10 gives', async () => {
  const files = [
    'a/b/c/deep.txt',
    'a/b/x.log',
    'a/top.md',
    'keep/k.txt',
    'with space/file name.txt',
    'with space/other.log',
    'logs/sub/a.log',
    'logs/important.log',
    'node_modules/pkg/i.js',
    'node_modules/keepme/k.js',
    'README.md',
    'name with space.txt',
    '.hidden',
  ];
  const dir = context({
    Dockerfile: 'FROM busybox\nCOPY . /ctx\n',
    '.dockerignore': [
      '# comment',
      '**/*.log',
      '!logs/important.log',
      'node_modules',
      '!node_modules/keepme',
      'a/b',
      '!a/b/c/deep.txt',
      'with space/file name.txt',
      '*.md',
      '!README.md',
      '.hidden',
    ].join('\n'),
    ...Object.fromEntries(files.map((f) => [f, `${f}\n`])),
  });
  const r = await build(['-q', '-t', 'ignored:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const found = (await dockerOk(d, ['run', '--rm', 'ignored:1', 'find', '/ctx'])).trim().split('\n').sort();
  // Recorded from dockerd 20.10.24 (Debian's docker.io) building the same context.
  assert.deepEqual(
    found,
    [
      '/ctx',
      '/ctx/.dockerignore',
      '/ctx/Dockerfile',
      '/ctx/README.md',
      '/ctx/a',
      '/ctx/a/b',
      '/ctx/a/b/c',
      '/ctx/a/b/c/deep.txt',
      '/ctx/a/top.md',
      '/ctx/keep',
      '/ctx/keep/k.txt',
      '/ctx/logs',
      '/ctx/logs/important.log',
      '/ctx/logs/sub',
      '/ctx/name with space.txt',
      '/ctx/node_modules',
      '/ctx/node_modules/keepme',
      '/ctx/node_modules/keepme/k.js',
      '/ctx/with space',
    ].sort(),
  );
});

test("rmi of a built image takes its intermediate images and their layers, as dockerd's; --no-prune keeps them", async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nRUN echo one > /one\nENV STEP=2\nCMD ["cat", "/one"]\n' });
  const built = async (tag: string) => {
    const r = await build(['--no-cache', '-t', tag, dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    // The image of each step, from the build's own output (" ---> <id>" after each step).
    return [...r.stdout.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]!);
  };
  const all = async () => (await dockerOk(d, ['images', '-aq', '--no-trunc'])).split('\n').filter(Boolean);
  const steps = await built('chain:1');
  assert.equal(steps.length, 4, 'FROM, RUN, ENV, CMD');
  const [, run, env, top] = steps as [string, string, string, string];
  const rmi = await dockerOk(d, ['rmi', 'chain:1']);
  const lines = rmi.trim().split('\n');
  assert.equal(lines[0], 'Untagged: chain:1');
  const deleted = lines.slice(1).map((l) => /^Deleted: sha256:([0-9a-f]{64})$/.exec(l)?.[1] ?? l);
  // The CMD image, the ENV image, the RUN image and the RUN step's layer (its chain ID): busybox, tagged, stays.
  assert.deepEqual(
    deleted.slice(0, 3).map((x) => x.slice(0, 12)),
    [top, env, run],
  );
  assert.equal(deleted.length, 4, rmi);
  const left = await all();
  for (const id of [run, env, top]) assert.ok(!left.some((l) => l.includes(id)), `${id} is gone from images -a`);
  assert.equal((await dockerOk(d, ['run', '--rm', 'busybox', 'true'])).trim(), '');

  const kept = await built('chain:2');
  assert.equal(
    (await dockerOk(d, ['rmi', '--no-prune', 'chain:2'])).trim().split('\n').length,
    2,
    'Untagged and one Deleted',
  );
  const after = await all();
  assert.ok(
    after.some((l) => l.includes(kept[2]!)),
    'the ENV step stays with --no-prune',
  );
  assert.ok(
    (await dockerOk(d, ['images', '-q', '--filter', 'dangling=true'])).split('\n').includes(kept[2]!),
    'dangling',
  );
  await dockerOk(d, ['rmi', kept[2]!]);
});
