// conmon's sync pipe read by the runtime driver: an exec's pid and exit code may arrive in one
// chunk (they do through berth-launcher when the exec is quick), and neither may be lost.
// A shell script stands in for conmon; nothing runs in a container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { RealHost } from '../host/index.ts';
import { RuncRuntime } from './index.ts';

const LAUNCHER = join(import.meta.dirname, '..', '..', 'build', 'berth-launcher');

async function withFakeConmon(script: string, fn: (rt: RuncRuntime, dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp('/tmp/berth-sync-test-');
  const host = new RealHost({ launcherPath: existsSync(LAUNCHER) ? LAUNCHER : undefined });
  try {
    const conmon = join(dir, 'conmon');
    await fs.writeFile(conmon, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    const rt = new RuncRuntime({ host, root: join(dir, 'root'), conmonPath: conmon, runtimePath: '/bin/true' });
    await rt.init();
    try {
      await fn(rt, dir);
    } finally {
      await rt.close();
    }
  } finally {
    host.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const exec = (rt: RuncRuntime, dir: string) =>
  rt.exec({
    id: 'c0ffee',
    sessionId: 'abcdef0123456789',
    dir: join(dir, 'session'),
    process: { args: ['true'] },
    logPath: join(dir, 'exec.log'),
    terminal: false,
    stdin: false,
  });

test('an exec whose pid and exit code come in one write: both read', async () => {
  await withFakeConmon(`printf '{"data": 4242}\\n{"data": 7}\\n' >&3`, async (rt, dir) => {
    const { pid, exit } = await exec(rt, dir);
    assert.equal(pid, 4242);
    assert.equal(await exit, 7);
  });
});

test('an exec whose exit code comes later, after the first conmon is gone', async () => {
  await withFakeConmon(
    `printf '{"data": 4243}\\n' >&3; (sleep 0.3; printf '{"data": 3}\\n' >&3) & exit 0`,
    async (rt, dir) => {
      const { pid, exit } = await exec(rt, dir);
      assert.equal(pid, 4243);
      assert.equal(await exit, 3);
    },
  );
});

test('the pipe closes without an exit code: the exit file conmon wrote says', async () => {
  await withFakeConmon(`printf '{"data": 4244}\\n' >&3; printf 9 > "$PWD/exits/c0ffee"`, async (rt, dir) => {
    const { exit } = await exec(rt, dir);
    assert.equal(await exit, 9);
  });
});

test('the runtime fails: its message, not a pid', async () => {
  await withFakeConmon(`printf '{"data": -1, "message": "exec failed: no such file"}\\n' >&3`, async (rt, dir) => {
    await assert.rejects(exec(rt, dir), /no such file/);
  });
});
