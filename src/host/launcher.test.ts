// RealHost starting programs through the real berth-launcher (built by scripts/setup.sh).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { RealHost, launcherMismatch } from './index.ts';
import { LAUNCHER_PROTOCOL } from './launcher.ts';

const LAUNCHER = join(import.meta.dirname, '..', '..', 'build', 'berth-launcher');
const host = new RealHost({ launcherPath: LAUNCHER });
after(() => host.close());

const skip = existsSync(LAUNCHER) ? false : 'build/berth-launcher is missing (npm run setup builds it)';

/**
 * Polls `find` every 10 ms until it returns something, for up to 10 s: what a started program
 * has done a moment after its start (forked, unshared, execed) depends on the machine's load.
 */
async function eventually<T>(what: string, find: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (const until = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 10))) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > until) assert.fail(`${what}: not within 10 s`);
  }
}

test('run: output, exit code and errors as with a direct spawn', { skip }, async () => {
  const ok = await host.run('sh', ['-c', 'echo out; echo err >&2']);
  assert.deepEqual(ok, { code: 0, stdout: 'out\n', stderr: 'err\n' });
  const failed = await host.run('sh', ['-c', 'echo why >&2; exit 3'], { allowFailure: true });
  assert.equal(failed.code, 3);
  assert.equal(failed.stderr, 'why\n');
  await assert.rejects(host.run('sh', ['-c', 'echo nope >&2; exit 4']), /exit 4: nope/);
  await assert.rejects(host.run('no-such-program-berth', []), /ENOENT/);
});

test('run: input, working directory and environment reach the program', { skip }, async () => {
  const input = 'line one\nline two\n'.repeat(20_000); // more than a pipe holds
  const r = await host.run('cat', [], { input });
  assert.equal(r.stdout, input);
  assert.equal((await host.run('pwd', [], { cwd: '/usr/bin' })).stdout, '/usr/bin\n');
  assert.equal(
    (await host.run('sh', ['-c', 'echo "$BERTH_X"'], { env: { PATH: process.env.PATH, BERTH_X: 'set' } })).stdout,
    'set\n',
  );
  await assert.rejects(host.run('pwd', [], { cwd: '/no/such/dir' }), /ENOENT/);
});

test('run: large output arrives whole and in order', { skip }, async () => {
  const r = await host.run('sh', ['-c', 'seq 1 200000']);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 200_000);
  assert.equal(lines[0], '1');
  assert.equal(lines[199_999], '200000');
});

test('run: a timeout ends the program', { skip }, async () => {
  const t0 = Date.now();
  const r = await host.run('sleep', ['5'], { timeoutMs: 100, allowFailure: true });
  assert.notEqual(r.code, 0);
  assert.ok(Date.now() - t0 < 3000, 'the sleep was cut short');
});

test('run: many at once, each gets its own output', { skip }, async () => {
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => host.run('sh', ['-c', `sleep 0.0$((${i} % 5)); echo ${i}`])),
  );
  assert.deepEqual(
    results.map((r) => r.stdout),
    Array.from({ length: 40 }, (_, i) => `${i}\n`),
  );
});

test('spawn: fd 3 pipe, a session of its own, stdin stream, kill', { skip }, async () => {
  const child = host.spawn('sh', ['-c', 'echo sync >&3; ps -o sid= -p $$ >&2; cat'], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const fd3 = child.stdio[3] as Readable;
  const synced = new Promise<string>((resolve) => fd3.once('data', (c: Buffer) => resolve(c.toString())));
  const sid = new Promise<string>((resolve) => child.stderr!.once('data', (c: Buffer) => resolve(c.toString().trim())));
  const echoed = new Promise<string>((resolve) => child.stdout!.once('data', (c: Buffer) => resolve(c.toString())));
  assert.equal(await synced, 'sync\n');
  assert.equal(Number(await sid), child.pid, 'the program leads its own session');
  child.stdin!.write('hello\n');
  assert.equal(await echoed, 'hello\n');
  const exited = new Promise<[number | null, string | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  child.kill('SIGKILL');
  assert.deepEqual(await exited, [null, 'SIGKILL']);
});

test(
  'spawn with a niceness: the program and what it starts run at it, and setPriority takes one back',
  { skip },
  async () => {
    const nice = (pid: string) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16];
    // The shell starts a child (sleep) and says both pids.
    const child = host.spawn('sh', ['-c', 'sleep 30 & echo $$ $!; wait'], { nice: 7 });
    const line = await new Promise<string>((resolve) =>
      child.stdout!.once('data', (c: Buffer) => resolve(c.toString())),
    );
    const [shell, sleeper] = line.trim().split(' ') as [string, string];
    assert.equal(nice(shell), '7');
    assert.equal(nice(sleeper), '7', 'its child inherits it');
    host.setPriority(Number(sleeper), 0);
    assert.equal(nice(sleeper), '0');
    assert.equal(nice(shell), '7');
    process.kill(Number(sleeper));
    await new Promise((r) => child.once('exit', r));
  },
);

test(
  'a program gets only the descriptors it was given, not what berthd or the launcher inherited',
  { skip },
  async () => {
    // The launcher started as berthd would be from a shell holding a pipe without O_CLOEXEC
    // (fd 251 was seen in every monitor), and with a descriptor at 3 that only fd3 may replace.
    const dir = await fs.mkdtemp('/tmp/berth-launcher-');
    const inherited = new RealHost({ launcherPath: join(dir, 'berth-launcher') });
    try {
      await fs.writeFile(
        join(dir, 'berth-launcher'),
        `#!/bin/bash\nexec 3</dev/null 251</dev/null\nexec ${JSON.stringify(LAUNCHER)} "$@"\n`,
        { mode: 0o755 },
      );
      // The descriptors of a program once it runs (the launcher answers after the exec).
      const fds = async (stdio: Array<'pipe' | 'ignore'>) => {
        const child = inherited.spawn('sleep', ['30'], { stdio });
        await new Promise((resolve, reject) => {
          child.once('spawn', resolve);
          child.once('exit', () => reject(new Error('the launcher or sleep ended before the spawn')));
        });
        // SPAWNED comes at the exec, before sleep's dynamic loader has opened (and closed) its
        // libraries and locale files, which take fd 3 for a moment: wait until it sleeps.
        for (let tries = 0; tries < 500; tries++) {
          const wchan = await fs.readFile(`/proc/${child.pid}/wchan`, 'utf8').catch(() => '');
          if (wchan.includes('nanosleep')) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        const open = (await fs.readdir(`/proc/${child.pid}/fd`)).map(Number).sort((x, y) => x - y);
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        return open.join(' ');
      };
      assert.equal(await fds(['ignore', 'ignore', 'pipe']), '0 1 2');
      assert.equal(await fds(['ignore', 'ignore', 'pipe', 'pipe']), '0 1 2 3', 'fd 3 when it was asked for');
    } finally {
      inherited.close();
      await fs.rm(dir, { recursive: true });
    }
  },
);

test('spawn: ending stdin gives the program end of file', { skip }, async () => {
  const child = host.spawn('wc', ['-c'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const closed = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  child.stdin!.end('12345');
  assert.equal(await closed, 0);
  assert.equal(out.trim(), '5');
});

test('a program in flight keeps the process alive; the launcher alone does not', { skip }, async () => {
  // Without close(): the script must wait for the program, then end by itself.
  const script = `
    import { RealHost } from ${JSON.stringify(join(import.meta.dirname, 'index.ts'))};
    const host = new RealHost({ launcherPath: ${JSON.stringify(LAUNCHER)} });
    const r = await host.run('sh', ['-c', 'sleep 0.3; echo done']);
    process.stdout.write(r.stdout);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.signal, null, 'ended by itself, not by the timeout');
  assert.equal(r.stdout, 'done\n');
  assert.equal(r.status, 0);
});

test(
  'an overlay mounted and lazily unmounted with the system calls, relative lower paths from cwd',
  { skip: skip || (process.getuid?.() === 0 ? false : 'needs root') },
  async (t) => {
    const dir = await fs.mkdtemp('/tmp/berth-launcher-test-');
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    for (const d of ['layers/a', 'layers/b', 'upper', 'work', 'merged'])
      await fs.mkdir(join(dir, d), { recursive: true });
    await fs.writeFile(join(dir, 'layers/a/from-a'), 'a');
    await fs.writeFile(join(dir, 'layers/b/from-b'), 'b');
    const merged = join(dir, 'merged');
    await host.mount(
      'overlay',
      'overlay',
      merged,
      ['lowerdir=a:b', `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`],
      { cwd: join(dir, 'layers') },
    );
    t.after(() => host.unmount(merged));
    assert.deepEqual((await fs.readdir(merged)).sort(), ['from-a', 'from-b']);
    await fs.writeFile(join(merged, 'new'), 'n');
    assert.equal(await fs.readFile(join(dir, 'upper/new'), 'utf8'), 'n', 'writes land in the upper directory');
    // The launcher came back to its own directory: a program started without cwd runs there.
    assert.equal((await host.run('pwd', [])).stdout.trim(), process.cwd());
    await host.unmount(merged);
    assert.deepEqual(await fs.readdir(merged), []);
    await host.unmount(merged); // not mounted any more: nothing to do
    await assert.rejects(
      host.mount('overlay', 'overlay', merged, ['lowerdir=nope'], { cwd: join(dir, 'layers') }),
      /mount overlay on .*: ENOENT|EINVAL/,
    );
  },
);

test('a launcher that dies fails what was in flight; the next program starts a new one', { skip }, async () => {
  const own = new RealHost({ launcherPath: LAUNCHER });
  try {
    const running = own.run('sleep', ['31.5'], { allowFailure: true });
    // This process's launchers (the file's shared host's and this one's), and the one whose child
    // the sleep is, once it has forked and execed it (a fixed 200 ms was not always enough).
    const owner = await eventually('the sleep started by a launcher of this process', () =>
      spawnSync('pgrep', ['-P', String(process.pid), '-x', 'berth-launcher'], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .map((pid) => ({
          pid: Number(pid),
          sleeper: Number(spawnSync('pgrep', ['-P', pid, '-f', '^sleep 31.5$'], { encoding: 'utf8' }).stdout.trim()),
        }))
        .find((x) => x.sleeper > 0),
    );
    process.kill(owner.pid, 'SIGKILL');
    const r = await running;
    assert.notEqual(r.code, 0, 'the program in flight is reported as ended');
    process.kill(owner.sleeper, 'SIGKILL'); // orphaned, not ended: programs outlive their launcher
    assert.equal((await own.run('echo', ['again'])).stdout, 'again\n');
  } finally {
    own.close();
  }
});

test(
  'a program run in another network namespace sees only that namespace',
  { skip: skip || (process.getuid?.() === 0 ? false : 'needs root') },
  async (t) => {
    // A namespace of our own, held by a sleep we start and kill.
    const holder = host.spawn('unshare', ['--net', 'sleep', '30'], { stdio: ['ignore', 'ignore', 'ignore'] });
    t.after(() => holder.kill('SIGKILL'));
    await new Promise((r) => holder.once('spawn', r));
    const netns = `/proc/${holder.pid}/ns/net`;
    // The spawn is unshare's exec: its namespace is the host's until it has unshared (then it
    // execs sleep). A fixed 100 ms stood in for that, and under load read the host's links.
    const own = await fs.readlink('/proc/self/ns/net');
    await eventually('unshare in a network namespace of its own', async () =>
      (await fs.readlink(netns).catch(() => own)) !== own ? true : undefined,
    );
    const links = (ns?: string) =>
      host.run('ip', ['-o', 'link', 'show'], { netns: ns }).then((r) =>
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(': ')[1]),
      );
    assert.deepEqual(await links(netns), ['lo']);
    assert.ok((await links()).length > 1, 'the host has more than a loopback');
    // The same through Node's spawn (nsenter) when there is no launcher.
    assert.deepEqual(
      await new RealHost().run('ip', ['-o', 'link', 'show'], { netns }).then((r) =>
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(': ')[1]),
      ),
      ['lo'],
    );
    await assert.rejects(host.run('true', [], { netns: '/proc/999999999/ns/net' }), /ENOENT/);
  },
);

test('a slow reader holds back the writer of its stdin; nothing is lost', { skip }, async () => {
  // The program reads nothing for half a second, then everything. A pipe holds 64 KiB, so the
  // writer of 8 MiB cannot be done before the reader starts, unless something (the launcher)
  // takes it all into memory.
  const child = host.spawn('sh', ['-c', 'sleep 0.5; wc -c'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const closed = new Promise((r) => child.once('close', r));
  const chunk = Buffer.alloc(64 * 1024, 120);
  const t0 = Date.now();
  let sent = 0;
  while (sent < 8 * 1024 * 1024) {
    sent += chunk.length;
    if (!child.stdin!.write(chunk)) await new Promise((r) => child.stdin!.once('drain', r));
  }
  const handedOver = Date.now() - t0;
  child.stdin!.end();
  await closed;
  assert.ok(handedOver >= 400, `the writer was held back until the program read (${handedOver} ms)`);
  assert.equal(out.trim(), String(sent));
});

test('a launcher built from another checkout is recognised before it is used', { skip }, async () => {
  assert.equal(launcherMismatch(LAUNCHER), undefined);
  // A launcher from before `--protocol` ignores its arguments, reads its stdin to the end and
  // says nothing: cat does the same.
  assert.match(launcherMismatch('/bin/cat') ?? '', new RegExp(`speaks protocol 1, this berthd ${LAUNCHER_PROTOCOL}$`));
  const other = LAUNCHER_PROTOCOL + 1;
  const dir = await fs.mkdtemp('/tmp/berth-launcher-');
  try {
    const newer = join(dir, 'berth-launcher');
    await fs.writeFile(newer, `#!/bin/sh\necho ${other}\n`, { mode: 0o755 });
    assert.match(launcherMismatch(newer) ?? '', new RegExp(`speaks protocol ${other},`));
    assert.match(launcherMismatch(join(dir, 'missing')) ?? '', /ENOENT/);
    // A binary with the mark is read, not run: this one would fail if it were started.
    const marked = join(dir, 'marked');
    await fs.writeFile(marked, `#!/nonexistent\n\0berth-launcher-protocol=${other};\0`, { mode: 0o755 });
    assert.match(
      launcherMismatch(marked) ?? '',
      new RegExp(`speaks protocol ${other}, this berthd ${LAUNCHER_PROTOCOL}$`),
    );
    await fs.chmod(marked, 0o644);
    assert.match(launcherMismatch(marked) ?? '', /EACCES/);
  } finally {
    await fs.rm(dir, { recursive: true });
  }
});

test(
  'xattrs: the attributes of the files given, a symlink not followed, files gone or without any left out',
  { skip: skip || (process.getuid?.() === 0 ? false : 'needs root (trusted.* attributes)') },
  async () => {
    const root = await fs.mkdtemp('/tmp/berth-xattrs-');
    try {
      await fs.mkdir(join(root, 'opaque'));
      await fs.mkdir(join(root, 'plain'));
      await fs.writeFile(join(root, 'file'), 'x');
      await fs.symlink(join(root, 'opaque'), join(root, 'link'));
      const set = (p: string, name: string, value: string) =>
        assert.equal(spawnSync('setfattr', ['-h', '-n', name, '-v', value, join(root, p)]).status, 0);
      set('opaque', 'trusted.overlay.opaque', 'y');
      set('file', 'user.other', 'z'.repeat(300));
      const paths = ['opaque', 'plain', 'file', 'link', 'gone', 'file/under'].map((p) => join(root, p));
      const { found, failed } = await host.xattrs!.xattrsOf(paths, ['trusted.overlay.opaque', 'user.other']);
      assert.equal(failed, undefined);
      const flat = [...found].flatMap(([i, a]) => [...a].map(([n, v]) => `${i}:${n}=${v.toString()}`)).sort();
      assert.deepEqual(flat, ['0:trusted.overlay.opaque=y', `2:user.other=${'z'.repeat(300)}`]);
      assert.deepEqual(await host.xattrs!.xattrsOf([], ['user.other']), { found: new Map() });
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  },
);
