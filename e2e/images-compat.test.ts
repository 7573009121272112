/**
 * The images side answering as dockerd 20.10 does, through the real `docker` CLI: each test is a
 * difference found by running the same commands against dockerd and Berth (the compatimg
 * sweep), and fails on the tree before its fix.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, docker, dockerOk, startDaemonWithBusybox, type Daemon } from './harness.ts';

let d: Daemon;
const made: string[] = [];
before(async () => (d = await startDaemonWithBusybox()));
after(async () => {
  await cleanup(d);
  for (const p of made) rmSync(p, { recursive: true, force: true });
});

const env = { DOCKER_BUILDKIT: '0' };

function context(dockerfile: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-imgcompat-'));
  made.push(dir);
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

/** `docker build` on the legacy builder (as dockerd 20.10 without BuildKit), failing the test if it fails. */
async function buildOk(args: string[]): Promise<string> {
  const r = await docker(d, ['build', ...args], { env });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return r.stdout;
}

const lines = (s: string) => s.trim().split('\n').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('docker images --filter before/since keep the images created strictly before or after the one named', async () => {
  // Created a second apart at least: dockerd compares creation times.
  const first = context('FROM busybox\nLABEL order=first\n');
  const second = context('FROM busybox\nLABEL order=second\n');
  await buildOk(['-q', '-t', 'order:first', first]);
  await sleep(1100);
  await buildOk(['-q', '-t', 'order:second', second]);
  const fmt = ['--format', '{{.Repository}}:{{.Tag}}'];
  const before = lines(await dockerOk(d, ['images', ...fmt, '--filter', 'before=order:second']));
  assert.ok(before.includes('order:first') && before.includes('busybox:latest'), before.join(' '));
  assert.ok(!before.includes('order:second'), 'not the image itself');
  const since = lines(await dockerOk(d, ['images', ...fmt, '--filter', 'since=order:first']));
  assert.deepEqual(since, ['order:second']);
  const missing = await docker(d, ['images', '--filter', 'since=nosuch']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such image: nosuch:latest/);
});

test('docker images --filter dangling=true leaves out intermediate images, as the plain listing does', async () => {
  // A build's intermediate images are untagged parents of the tagged one: not dangling.
  await buildOk(['-q', '-t', 'layered:1', context('FROM busybox\nENV A=1\nENV B=2\nCMD ["true"]\n')]);
  assert.equal((await dockerOk(d, ['images', '-q', '--filter', 'dangling=true'])).trim(), '');
  assert.equal((await dockerOk(d, ['images', '-aq', '--filter', 'dangling=true'])).trim(), '', 'nor with -a');
  assert.ok(lines(await dockerOk(d, ['images', '-aq'])).length >= 4, '-a alone lists them');
  // One that lost its tag to a rebuild is dangling.
  await buildOk(['-q', '-t', 'layered:1', context('FROM busybox\nENV A=1\nENV B=3\nCMD ["true"]\n')]);
  assert.equal(lines(await dockerOk(d, ['images', '-q', '--filter', 'dangling=true'])).length, 1);
});

test('docker images NAME lists only the tags that match, so rmi $(docker images -q NAME) names the image once', async () => {
  await dockerOk(d, ['tag', 'busybox', 'other/name:a']);
  await dockerOk(d, ['tag', 'busybox', 'other/name:b']);
  try {
    const rows = lines(await dockerOk(d, ['images', '--format', '{{.Repository}}:{{.Tag}}', 'other/name']));
    assert.deepEqual(rows.sort(), ['other/name:a', 'other/name:b']);
    assert.deepEqual(lines(await dockerOk(d, ['images', '--format', '{{.Tag}}', 'busybox'])), ['latest']);
    const ids = lines(await dockerOk(d, ['images', '-q', 'busybox']));
    assert.equal(ids.length, 1, ids.join(' '));
  } finally {
    await dockerOk(d, ['rmi', 'other/name:a', 'other/name:b']);
  }
});

test('docker rmi -f ID of an image with child images refuses before untagging anything', async () => {
  await buildOk(['-q', '-t', 'child:1', context('FROM busybox\nLABEL child=1\n')]);
  await dockerOk(d, ['tag', 'busybox', 'parent:alias']);
  try {
    const id = (await dockerOk(d, ['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim().slice(7, 19);
    for (const args of [
      ['rmi', id],
      ['rmi', '-f', id],
    ]) {
      const r = await docker(d, args);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr.trim(),
        `Error response from daemon: conflict: unable to delete ${id} (cannot be forced) - image has dependent child images`,
      );
    }
    const tags = (await dockerOk(d, ['image', 'inspect', '-f', '{{json .RepoTags}}', id])).trim();
    assert.equal(tags, '["busybox:latest","parent:alias"]', 'the tags are all still there');
  } finally {
    await dockerOk(d, ['rmi', 'parent:alias', 'child:1']);
  }
});

test('docker build with a new --build-arg finds the ARG and ENV steps cached; the RUN that reads it runs', async () => {
  const dir = context('FROM busybox\nARG VER=1\nENV A=b\nRUN echo "v=$VER" > /v\nCMD ["cat", "/v"]\n');
  await buildOk(['-t', 'argcache:1', dir]);
  const r = await docker(d, ['build', '--build-arg', 'VER=7', '-t', 'argcache:7', dir], { env });
  assert.equal(r.code, 0, r.stderr);
  const steps = r.stdout.split(/^Step /m).slice(1);
  assert.match(steps[1]!, /^2\/5 : ARG VER=1\n ---> Using cache\n/);
  assert.match(steps[2]!, /^3\/5 : ENV A=b\n ---> Using cache\n/);
  assert.match(steps[3]!, /^4\/5 : RUN echo "v=\$VER" > \/v\n ---> Running in /);
  assert.equal(await dockerOk(d, ['run', '--rm', 'argcache:7']), 'v=7\n');
  assert.equal(await dockerOk(d, ['run', '--rm', 'argcache:1']), 'v=1\n');
});

test('docker commit -c ENTRYPOINT leaves the Cmd null, not the container command', async () => {
  await dockerOk(d, ['run', '--name', 'tocommit', 'busybox', 'sh', '-c', 'echo x > /x']);
  try {
    await dockerOk(d, ['commit', '-c', 'ENTRYPOINT ["cat"]', 'tocommit', 'committed:ep']);
    const cfg = (
      await dockerOk(d, ['image', 'inspect', '-f', '{{json .Config.Entrypoint}} {{json .Config.Cmd}}', 'committed:ep'])
    ).trim();
    assert.equal(cfg, '["cat"] null');
    await dockerOk(d, ['commit', '-c', 'CMD ["/x"]', '-c', 'ENTRYPOINT ["cat"]', 'tocommit', 'committed:both']);
    assert.equal(await dockerOk(d, ['run', '--rm', 'committed:both']), 'x\n');
  } finally {
    await dockerOk(d, ['rm', 'tocommit']);
  }
});

test('docker image prune --filter dangling=false prunes every unused image, as -a does', async () => {
  // busybox stays: a container uses it. The CLI sends its own dangling=true beside the user's false.
  await dockerOk(d, ['create', '--name', 'holder', 'busybox', 'true']);
  try {
    await buildOk(['-q', '-t', 'prunable:1', context('FROM busybox\nLABEL prunable=1\n')]);
    const r = await dockerOk(d, ['image', 'prune', '-f', '--filter', 'dangling=false']);
    assert.match(r, /^untagged: prunable:1$/m);
    assert.equal((await docker(d, ['image', 'inspect', 'prunable:1'])).code, 1);
    assert.equal((await docker(d, ['image', 'inspect', 'busybox'])).code, 0);
  } finally {
    await dockerOk(d, ['rm', 'holder']);
  }
});

test('docker history shows a COPY source digest as dockerd 20.10 writes it for the same context', async () => {
  const dir = context('FROM busybox\nCOPY f.txt /f.txt\n');
  writeFileSync(join(dir, 'f.txt'), 'file\n');
  chmodSync(join(dir, 'f.txt'), 0o644);
  await buildOk(['-q', '-t', 'copyhash:1', dir]);
  const history = await dockerOk(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'copyhash:1']);
  // dockerd 20.10's line for this context, byte for byte
  assert.match(
    history,
    /^\/bin\/sh -c #\(nop\) COPY file:fccd022b5850b74becb1ac249b1fb9e240ecc413b554d71985caeba8f2aca2f3 in \/f\.txt $/m,
  );
});

test("docker system df counts the images docker images lists, not a build's intermediates", async () => {
  await buildOk(['-q', '-t', 'dfcount:1', context('FROM busybox\nENV X=1\nENV Y=2\nLABEL df=1\n')]);
  const listed = lines(await dockerOk(d, ['images', '-q'])).length;
  assert.ok(lines(await dockerOk(d, ['images', '-aq'])).length >= listed + 2, 'the build left intermediates');
  const df = await dockerOk(d, ['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
  assert.match(df, new RegExp(`^Images ${listed}$`, 'm'), df);
});

test('docker build --label adds one LABEL step a label, sorted, values literal, on the --target stage', async () => {
  const dir = context('FROM busybox AS base\nENV HOME=/root\nFROM base\nRUN true\n');
  const labels = ['--label', 'z=last', '--label', 'a=$HOME "q"', '--label', 'm'];
  const out = await buildOk([...labels, '-t', 'labelled:1', dir]);
  assert.deepEqual(out.match(/^Step \d+\/\d+ : LABEL .*$/gm) ?? [], [
    'Step 5/7 : LABEL a=$HOME "q"',
    'Step 6/7 : LABEL m=',
    'Step 7/7 : LABEL z=last',
  ]);
  const got = (await dockerOk(d, ['image', 'inspect', '-f', '{{json .Config.Labels}}', 'labelled:1'])).trim();
  assert.deepEqual(JSON.parse(got), { a: '$HOME "q"', m: '', z: 'last' });
  const history = await dockerOk(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'labelled:1']);
  assert.match(history, /^\/bin\/sh -c #\(nop\)  LABEL z=last$/m);
  // With --target the labels go on the target stage, as dockerd cuts the stages there first.
  const target = await buildOk(['--target', 'base', ...labels, '-t', 'labelled:base', dir]);
  assert.match(target, /^Step 5\/5 : LABEL z=last$/m);
  const based = (await dockerOk(d, ['image', 'inspect', '-f', '{{json .Config.Labels}}', 'labelled:base'])).trim();
  assert.deepEqual(JSON.parse(based), { a: '$HOME "q"', m: '', z: 'last' });
});

test('docker history shows EXPOSE with its words sorted as written, then expanded, as dockerd writes it', async () => {
  await buildOk(['-q', '-t', 'exposed:1', context('FROM busybox\nENV P=7000\nEXPOSE 9000 80/tcp 1000 $P\n')]);
  const history = await dockerOk(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'exposed:1']);
  assert.match(history, /^\/bin\/sh -c #\(nop\) {2}EXPOSE 7000 1000 80\/tcp 9000$/m);
});
