/** The `berth` CLI against berthd: its commands and output follow the docker CLI's. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, cleanup, berth, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  if (d) await cleanup(d);
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await berth(d, args, { input });
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('berth image bootstrap busybox makes a tagged image, listed like docker images', async () => {
  const id = (await ok(['image', 'bootstrap', 'busybox'])).trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const list = await ok(['images']);
  assert.match(list, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  assert.match(list, new RegExp(`^busybox\\s+latest\\s+${id.slice(7, 19)}\\s+`, 'm'));
  assert.equal((await ok(['image', 'bootstrap', 'busybox'])).trim(), id, 'the busybox layer is reproducible');
});

test('berth run prints output and propagates the exit code', async () => {
  assert.equal(await ok(['run', '--rm', 'busybox', 'echo', 'hi']), 'hi\n');
  const r = await berth(d, ['run', '--name', 'three', 'busybox', 'sh', '-c', 'echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stderr, 'err\n');
  const ps = await ok(['ps', '-a']);
  assert.match(ps, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
  assert.match(ps, /Exited \(3\) .* ago\s+three$/m);
  const missing = await berth(d, ['run', '--rm', 'nosuch:1']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /Unable to find image 'nosuch:1' locally/);
});

test('berth run -d, logs, inspect -f, stop, rm -f', async () => {
  const id = (await ok(['run', '-d', '--name', 'bg', 'busybox', 'sh', '-c', 'echo ready; trap "exit 0" TERM; while :; do sleep 0.1; done'])).trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  for (let i = 0; i < 50 && !(await ok(['logs', 'bg'])).includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await ok(['logs', 'bg']), 'ready\n');
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 'bg'])).trim(), 'running');
  assert.equal((await ok(['stop', 'bg'])).trim(), 'bg');
  assert.equal((await ok(['inspect', '-f', '{{.State.ExitCode}}', 'bg'])).trim(), '0');
  await ok(['rm', '-f', 'bg', 'three']);
  assert.equal((await ok(['ps', '-aq'])).trim(), '');
  const gone = await berth(d, ['rm', 'bg']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No such container: bg/);
});
