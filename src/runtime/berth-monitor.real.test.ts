/**
 * Berth's own monitor (berth-monitor.c, `berthd --monitor berth`) with real containers: every
 * test of runtime.real.test.ts again under it, and what only the e2e tests check under conmon
 * (stdin through the attach socket, the log's size cap), and what it is for: one small process
 * per container. Needs root, runc, busybox-static and build/berth-monitor (npm run setup).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { RealHost } from '../host/index.ts';
import { RuncRuntime, type Exit, type LogLine } from './index.ts';
import { makeBusyboxRootfs, makeTestBundle } from './testing.ts';

const MONITOR = resolve(import.meta.dirname, '..', '..', 'build', 'berth-monitor');
const usable =
  process.getuid?.() === 0 && existsSync('/usr/bin/runc') && existsSync('/bin/busybox') && existsSync(MONITOR);
const skip = usable ? false : 'needs root, runc, busybox-static and build/berth-monitor';

if (usable) {
  process.env.BERTH_TEST_MONITOR = MONITOR;
  await import('./runtime.real.test.ts');
}

const host = new RealHost();
let tmp = '';
let rootfs = '';
let rt: RuncRuntime;
const made: string[] = [];

before(async () => {
  if (!usable) return;
  tmp = await fs.mkdtemp('/tmp/berth-monitor-test-');
  rootfs = await makeBusyboxRootfs(join(tmp, 'rootfs'));
  rt = new RuncRuntime({ host, root: join(tmp, 'exec'), conmonPath: MONITOR });
  await rt.init();
});

after(async () => {
  if (!usable) return;
  for (const id of made) await rt.delete(id, true).catch(() => {});
  await rt.close();
  await fs.rm(tmp, { recursive: true, force: true });
  for (const c of await fs.readdir('/sys/fs/cgroup').catch(() => [])) {
    await fs.rmdir(join('/sys/fs/cgroup', c, 'berth-test')).catch(() => {});
  }
});

async function container(args: string[]) {
  const id = `berth-mon-test-${randomBytes(4).toString('hex')}`;
  const bundle = join(tmp, id);
  await makeTestBundle({ id, dir: bundle, rootfs, args });
  made.push(id);
  return { id, bundle, logPath: join(bundle, 'ctr.log') };
}

function nextExit(id: string, ms = 20_000): Promise<Exit> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no exit event for ${id} within ${ms} ms`)), ms);
    const off = rt.onExit((e) => {
      if (e.id !== id) return;
      clearTimeout(timer);
      off();
      ok(e);
    });
  });
}

async function logOf(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of rt.readLogs(path, { follow: false }) as AsyncIterable<LogLine>)
    out.push(`${l.stream}:${l.line.toString()}`);
  return out;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("input through the attach socket reaches the container's stdin; its end closes stdin", { skip }, async () => {
  const c = await container(['sh', '-c', 'while read l; do echo "got $l"; done; echo eof; exit 3']);
  const exit = nextExit(c.id);
  await rt.create({ ...c, terminal: false, stdin: true });
  await rt.start(c.id);
  const s = rt.openStdin(c.id);
  s.input.write('one\n');
  s.input.end('two\n');
  assert.equal((await exit).exitCode, 3);
  await s.done;
  assert.deepEqual(await logOf(c.logPath), ['stdout:got one\n', 'stdout:got two\n', 'stdout:eof\n']);
});

test('with leaveStdinOpen, the end of a client does not close the container stdin', { skip }, async () => {
  const c = await container(['sh', '-c', 'read a; echo "got $a"; read b; echo "then $b"']);
  const exit = nextExit(c.id);
  await rt.create({ ...c, terminal: false, stdin: true, leaveStdinOpen: true });
  await rt.start(c.id);
  // A client whose input ended stays connected for the output, as with conmon: its session ends with the container.
  const first = rt.openStdin(c.id);
  first.input.end('one\n');
  for (let i = 0; i < 100 && (await logOf(c.logPath)).length === 0; i++) await delay(50);
  await delay(300);
  assert.equal(await rt.isAlive(c.id), true, 'still reading: its stdin is open');
  const second = rt.openStdin(c.id);
  second.input.end('two\n');
  assert.equal((await exit).exitCode, 0);
  await Promise.all([first.done, second.done]);
  assert.deepEqual(await logOf(c.logPath), ['stdout:got one\n', 'stdout:then two\n']);
});

test(
  'the log stays under its size cap: a fresh file replaces a full one, the last lines are kept',
  { skip },
  async () => {
    const c = await container(['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done']);
    const exit = nextExit(c.id);
    await rt.create({ ...c, terminal: false, stdin: false, logSizeMax: 2000 });
    await rt.start(c.id);
    assert.equal((await exit).exitCode, 0);
    assert.ok((await fs.stat(c.logPath)).size <= 2000, 'within the cap');
    const lines = await logOf(c.logPath);
    assert.equal(lines.at(-1), 'stdout:line-299\n');
    assert.ok(lines.length < 300);
  },
);

test(
  'with --log-max-files the monitor rotates its log itself: every line of a fast writer is in .N … .1 and the log, in order',
  { skip },
  async () => {
    // ~60 bytes an entry, 4000 lines at a 3000-byte cap: some 80 rotations, faster than any
    // daemon could follow; no LogRotator runs here.
    const c = await container(['sh', '-c', 'i=0; while [ $i -lt 4000 ]; do echo line-$i; i=$((i+1)); done']);
    const exit = nextExit(c.id);
    const { logsRotated } = await rt.create({
      ...c,
      terminal: false,
      stdin: false,
      logSizeMax: 3000,
      logMaxFiles: 200,
    });
    assert.equal(logsRotated, true);
    await rt.start(c.id);
    assert.equal((await exit).exitCode, 0);
    const names = (await fs.readdir(c.bundle)).filter((n) => /^ctr\.log\.\d+$/.test(n));
    assert.ok(names.length > 50, `${names.length} rotated files`);
    const inOrder = [
      ...names
        .map((n) => Number(n.slice(8)))
        .sort((a, b) => b - a)
        .map((k) => `${c.logPath}.${k}`),
      c.logPath,
    ];
    // Entries as the files hold them (a pipe's chunk may cut a line: its P parts join the F that ends it).
    const lines: string[] = [];
    let part = '';
    for (const f of inOrder) {
      assert.ok((await fs.stat(f)).size <= 3000, `${f} is within the cap`);
      for (const entry of (await fs.readFile(f, 'utf8')).split('\n').filter(Boolean)) {
        const [, , flag, ...data] = entry.split(' ');
        part += data.join(' ');
        if (flag !== 'F') continue;
        lines.push(part);
        part = '';
      }
    }
    const want = Array.from({ length: 4000 }, (_, i) => `line-${i}`);
    assert.deepEqual(lines, want, 'no line lost, none twice');
    assert.deepEqual(
      await logOf(c.logPath),
      want.map((l) => `stdout:${l}\n`),
      'and the reader reads them all',
    );
    assert.ok(!existsSync(`${c.logPath}.tmp`) && !existsSync(`${c.logPath}.live`));

    // max-file=3: the two newest full files and the log, the oldest dropped.
    const d = await container(['sh', '-c', 'i=0; while [ $i -lt 1000 ]; do echo line-$i; i=$((i+1)); done']);
    const exitD = nextExit(d.id);
    await rt.create({ ...d, terminal: false, stdin: false, logSizeMax: 3000, logMaxFiles: 3 });
    await rt.start(d.id);
    assert.equal((await exitD).exitCode, 0);
    assert.deepEqual((await fs.readdir(d.bundle)).filter((n) => n.startsWith('ctr.log')).sort(), [
      'ctr.log',
      'ctr.log.1',
      'ctr.log.2',
    ]);
    const kept = (await logOf(d.logPath)).map((l) => Number(/line-(\d+)/.exec(l)![1]));
    assert.equal(kept.at(-1), 999);
    assert.deepEqual(
      kept,
      Array.from({ length: kept.length }, (_, k) => kept[0]! + k),
      'a whole run of the newest lines',
    );
    assert.ok(kept.length > 100 && kept[0]! > 0);
  },
);

test(
  'one process per container beside its own: the monitor, with at most 72 kB of its own memory and page tables',
  { skip },
  async () => {
    const c = await container(['sleep', '100']);
    const exit = nextExit(c.id);
    const { pid } = await rt.create({ ...c, terminal: false, stdin: false });
    await rt.start(c.id);
    const monitor = Number((await fs.readFile(join(c.bundle, 'conmon.pid'), 'utf8')).trim());
    const children = (await fs.readFile(`/proc/${monitor}/task/${monitor}/children`, 'utf8')).trim().split(/\s+/);
    assert.deepEqual(children.map(Number), [pid], "the container's init is the monitor's only child");
    // Its code is shared by every monitor (a static binary's pages in the page cache): what each
    // one costs is its anonymous memory and its page tables (conmon's: about 330 + 56 kB; built
    // against glibc, berth-monitor's were 72 + 36 kB, against musl and with a shallow stack 24-28
    // + 24 kB).
    const status = await fs.readFile(`/proc/${monitor}/status`, 'utf8');
    const anon = Number(/^RssAnon:\s+(\d+) kB/m.exec(status)?.[1]);
    const pageTables = Number(/^VmPTE:\s+(\d+) kB/m.exec(status)?.[1]);
    assert.ok(anon + pageTables <= 72, `anonymous memory ${anon} kB, page tables ${pageTables} kB`);
    await rt.kill(c.id, 'SIGKILL');
    assert.equal((await exit).exitCode, 137);
  },
);
