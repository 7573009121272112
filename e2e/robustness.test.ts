/**
 * Failures on the way that must not leave anyone waiting for ever. A checkout whose C helpers
 * were not built (or were removed): berthd must say so and which command builds them, not
 * start and leave `docker run -i` waiting for its input (the test runs a copy of the checkout
 * without `build/berth-attach`, so this checkout's build/, which other tests use, is left
 * alone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, docker } from './harness.ts';

test('without build/berth-attach berthd refuses to start, names the missing helper and `npm run setup`', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-helpers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, 'checkout');
  for (const part of ['bin', 'src', 'package.json']) cpSync(join(REPO, part), join(copy, part), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
  cpSync(join(REPO, 'build'), join(copy, 'build'), { recursive: true });
  rmSync(join(copy, 'build', 'berth-attach'));

  const sock = join(dir, 'berth.sock');
  const berthd = spawn(
    join(copy, 'bin', 'berthd'),
    [
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'run'),
      '-H',
      `unix://${sock}`,
      '--pidfile',
      join(dir, 'berthd.pid'),
      '--bridge',
      'none',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out: Buffer[] = [];
  berthd.stdout.on('data', (c: Buffer) => out.push(c));
  berthd.stderr.on('data', (c: Buffer) => out.push(c));
  const killer = setTimeout(() => berthd.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => berthd.on('exit', (c) => r(c)));
  clearTimeout(killer);
  const log = Buffer.concat(out).toString();
  assert.equal(code, 1, log);
  assert.match(log, /failed to start daemon: .*build\/berth-attach is missing: build it with `npm run setup`/);
  assert.equal(existsSync(join(dir, 'berthd.pid')), false, 'the pid file goes with it');
  // And a client is told at once that nothing listens, rather than waiting.
  const r = await docker({ host: `unix://${sock}` } as Parameters<typeof docker>[0], ['run', '-i', 'busybox'], {
    input: 'hello\n',
    timeoutMs: 30_000,
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Cannot connect to the Docker daemon/);
});
