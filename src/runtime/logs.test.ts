import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, appendFile, rename, link } from 'node:fs/promises';
import { appendFileSync, existsSync, linkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogs } from './index.ts';

const line = (t: string, s: string, f: string, text: string) => `2026-01-01T00:00:${t}.123456789Z ${s} ${f} ${text}\n`;

async function collect(it: AsyncIterable<{ stream: string; data: Buffer }>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(`${e.stream}:${e.data.toString()}`);
  return out;
}

test('k8s-file lines: partial lines join, tail counts complete lines, since filters', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(
    path,
    line('01', 'stdout', 'F', 'one') +
      line('02', 'stderr', 'F', 'two') +
      line('03', 'stdout', 'P', 'thr') +
      line('03', 'stdout', 'F', 'ee') +
      line('04', 'stdout', 'F', 'four'),
  );
  assert.deepEqual(await collect(readLogs(path, { follow: false })), [
    'stdout:one\n',
    'stderr:two\n',
    'stdout:three\n',
    'stdout:four\n',
  ]);
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 2 })), ['stdout:three\n', 'stdout:four\n']);
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 0 })), []);
  assert.deepEqual(await collect(readLogs(path, { follow: false, since: new Date('2026-01-01T00:00:02.5Z') })), [
    'stdout:three\n',
    'stdout:four\n',
  ]);
});

test('tail reads from the end of a large file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(path, Array.from({ length: 20000 }, (_, i) => line('01', 'stdout', 'F', `line ${i}`)).join(''));
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 3 })), [
    'stdout:line 19997\n',
    'stdout:line 19998\n',
    'stdout:line 19999\n',
  ]);
});

test('follow delivers lines written later and ends after the exit, drained', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  let exit!: () => void;
  const exited = new Promise<void>((r) => (exit = r));
  const got = collect(readLogs(path, { follow: true, untilExit: exited }));
  await new Promise((r) => setTimeout(r, 50));
  await writeFile(path, line('01', 'stdout', 'F', 'early'));
  await new Promise((r) => setTimeout(r, 50));
  await appendFile(path, line('02', 'stderr', 'F', 'late'));
  exit();
  assert.deepEqual(await got, ['stdout:early\n', 'stderr:late\n']);
});

test('partial lines of the two streams interleaved join per stream; timestamps prefix; a cut last line is left out of tail', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(
    path,
    line('01', 'stdout', 'P', 'ab') +
      line('01', 'stderr', 'F', 'err') +
      line('02', 'stdout', 'F', 'cd') +
      line('03', 'stdout', 'F', 'last') +
      '2026-01-01T00:00:04.0Z stdout F being writ',
  );
  assert.deepEqual(await collect(readLogs(path, { follow: false })), [
    'stderr:err\n',
    'stdout:abcd\n',
    'stdout:last\n',
  ]);
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 1 })), ['stdout:last\n']);
  assert.deepEqual(
    await collect(readLogs(path, { follow: false, tail: 2 })),
    ['stdout:abcd\n', 'stdout:last\n'],
    'a line starts at its first partial entry',
  );
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 100 })), [
    'stderr:err\n',
    'stdout:abcd\n',
    'stdout:last\n',
  ]);
  const mixed = join(dir, 'mixed.log');
  await writeFile(
    mixed,
    line('01', 'stdout', 'P', 'ab') +
      line('02', 'stderr', 'F', 'old') +
      line('03', 'stdout', 'F', 'cd') +
      line('04', 'stderr', 'P', 'unfinis'),
  );
  assert.deepEqual(
    await collect(readLogs(mixed, { follow: false, tail: 1 })),
    ['stdout:abcd\n', 'stderr:unfinis'],
    'a line of the other stream that is not shown is skipped',
  );
  assert.deepEqual(await collect(readLogs(mixed, { follow: false, tail: 2 })), [
    'stderr:old\n',
    'stdout:abcd\n',
    'stderr:unfinis',
  ]);
  const stamped = await collect(readLogs(path, { follow: false, tail: 1, timestamps: true }));
  assert.deepEqual(stamped, ['stdout:2026-01-01T00:00:03.123456789Z last\n']);
});

test('follow waits for the file to appear, sees a partial line at once, and goes on in a rotated file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  const ac = new AbortController();
  const seen: string[] = [];
  let notify: (() => void) | undefined;
  const waitFor = (n: number) =>
    new Promise<void>((r) => {
      notify = () => seen.length >= n && r();
      notify();
    });
  const reader = (async () => {
    for await (const e of readLogs(path, { follow: true, signal: ac.signal })) {
      seen.push(`${e.stream}:${e.line.toString()}`);
      notify?.();
    }
  })();
  await new Promise((r) => setTimeout(r, 30));
  await writeFile(path, line('01', 'stdout', 'P', 'Password: '));
  await waitFor(1);
  assert.deepEqual(seen, ['stdout:Password: ']);
  await appendFile(path, line('02', 'stdout', 'F', 'ok'));
  await waitFor(2);
  // conmon rotates by writing a new file and renaming it over the log.
  await writeFile(`${path}.tmp`, line('03', 'stderr', 'F', 'rotated'));
  await rename(`${path}.tmp`, path);
  await waitFor(3);
  ac.abort();
  await reader;
  assert.deepEqual(seen, ['stdout:Password: ', 'stdout:ok\n', 'stderr:rotated\n']);
});

test('a reader that follows a log that never appears ends when the container exits', async () => {
  const started = Date.now();
  assert.deepEqual(
    await collect(
      readLogs(join(tmpdir(), 'berth-logs-none', 'c.log'), {
        follow: true,
        untilExit: new Promise((r) => setTimeout(r, 50)),
      }),
    ),
    [],
  );
  assert.ok(Date.now() - started < 1500);
});

/** One rotation as berth-monitor's rotate_log makes it, step by step (sync: no reader runs between two calls). */
function rotateSync(path: string, maxFiles: number, upTo = 4): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, '');
  rmSync(`${path}.${maxFiles - 1}`, { force: true });
  for (let k = maxFiles - 2; k >= 1; k--)
    if (existsSync(`${path}.${k}`)) renameSync(`${path}.${k}`, `${path}.${k + 1}`);
  if (upTo < 3) return;
  linkSync(path, `${path}.1`);
  if (upTo < 4) return;
  renameSync(tmp, path);
}

test('a follower that sleeps through several rotations reads every file kept, each to its end, in order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(path, line('01', 'stdout', 'F', 'a'));
  const ac = new AbortController();
  const seen: string[] = [];
  let notify: (() => void) | undefined;
  const reader = (async () => {
    for await (const e of readLogs(path, { follow: true, signal: ac.signal })) {
      seen.push(e.line.toString().trim());
      notify?.();
    }
  })();
  await new Promise<void>((r) => (notify = () => seen.length >= 1 && r()));
  // The reader is at the end of the log; it runs again only when all this is done: a line
  // more in the file it holds, two whole rotations, a line in the newest log.
  appendFileSync(path, line('02', 'stdout', 'F', 'b'));
  rotateSync(path, 5);
  appendFileSync(path, line('03', 'stdout', 'F', 'c'));
  rotateSync(path, 5);
  appendFileSync(path, line('04', 'stdout', 'F', 'd'));
  await new Promise<void>((r) => {
    notify = () => seen.length >= 4 && r();
    notify();
  });
  ac.abort();
  await reader;
  assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
});

test('a reader that comes during a rotation sees each line once, in order, at every step of it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const step of [1, 2, 3, 4]) {
    const path = join(dir, `c${step}.log`);
    // .2 = x, .1 = y, the log z; a rotation (max-file=4) stopped after `step` of its four steps.
    writeFileSync(`${path}.2`, line('01', 'stdout', 'F', 'x'));
    writeFileSync(`${path}.1`, line('02', 'stdout', 'F', 'y'));
    writeFileSync(path, line('03', 'stdout', 'F', 'z'));
    rotateSync(path, 4, step);
    const all = (await collect(readLogs(path, { follow: false }))).map((l) => l.trim());
    assert.deepEqual(all, ['stdout:x', 'stdout:y', 'stdout:z'], `after step ${step}`);
    const tail = (await collect(readLogs(path, { follow: false, tail: 2 }))).map((l) => l.trim());
    assert.deepEqual(tail, ['stdout:y', 'stdout:z'], `tail after step ${step}`);
  }
  // conmon's way (LogRotator): the full log only at `.live` until the rotator moves it to `.1`.
  const path = join(dir, 'conmon.log');
  writeFileSync(`${path}.1`, line('01', 'stdout', 'F', 'x'));
  writeFileSync(`${path}.live`, line('02', 'stdout', 'F', 'y'));
  writeFileSync(path, line('03', 'stdout', 'F', 'z'));
  assert.deepEqual(
    (await collect(readLogs(path, { follow: false }))).map((l) => l.trim()),
    ['stdout:x', 'stdout:y', 'stdout:z'],
  );
});

test("a log read between conmon's replacement and the rotator's move reads the replaced file (.live) between .1 and the log", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(`${path}.2`, line('01', 'stdout', 'F', 'oldest'));
  await writeFile(`${path}.1`, line('02', 'stdout', 'F', 'older'));
  // conmon has renamed a fresh file over the log; .live still holds the full one, not yet .1.
  await writeFile(`${path}.live`, line('03', 'stdout', 'F', 'replaced'));
  await writeFile(path, line('04', 'stdout', 'F', 'current'));
  const all = ['stdout:oldest\n', 'stdout:older\n', 'stdout:replaced\n', 'stdout:current\n'];
  assert.deepEqual(await collect(readLogs(path, { follow: false })), all);
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 3 })), all.slice(1));
  // Once moved, .live is the log's own link again: read once, as the log.
  await rename(`${path}.1`, `${path}.2`);
  await rename(`${path}.live`, `${path}.1`);
  await link(path, `${path}.live`);
  assert.deepEqual(await collect(readLogs(path, { follow: false })), all.slice(1));
});

test('tail with rotated files: from the log alone when it holds enough, from the older files’ ends when not, then followed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(`${path}.2`, line('01', 'stdout', 'F', 'a') + line('02', 'stdout', 'F', 'b'));
  await writeFile(`${path}.1`, line('03', 'stdout', 'F', 'c') + line('04', 'stderr', 'F', 'd'));
  await writeFile(
    path,
    line('05', 'stdout', 'F', 'e') + line('06', 'stdout', 'P', 'f') + line('06', 'stdout', 'F', 'g'),
  );
  const tail = async (n: number) => (await collect(readLogs(path, { follow: false, tail: n }))).map((l) => l.trim());
  assert.deepEqual(await tail(1), ['stdout:fg']);
  assert.deepEqual(await tail(2), ['stdout:e', 'stdout:fg']);
  assert.deepEqual(await tail(3), ['stderr:d', 'stdout:e', 'stdout:fg']);
  assert.deepEqual(await tail(100), ['stdout:a', 'stdout:b', 'stdout:c', 'stderr:d', 'stdout:e', 'stdout:fg']);
  // A tail the log holds, followed: what the log gets next comes after it.
  const ac = new AbortController();
  const seen: string[] = [];
  let notify: (() => void) | undefined;
  const reader = (async () => {
    for await (const e of readLogs(path, { follow: true, tail: 1, signal: ac.signal })) {
      seen.push(e.line.toString().trim());
      notify?.();
    }
  })();
  await new Promise<void>((r) => (notify = () => seen.length >= 1 && r()));
  await appendFile(path, line('07', 'stdout', 'F', 'h'));
  await new Promise<void>((r) => {
    notify = () => seen.length >= 2 && r();
    notify();
  });
  ac.abort();
  await reader;
  assert.deepEqual(seen, ['fg', 'h']);
});

test('tail of lines longer than what a tail keeps of its count reads them again, whole', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  const big = (c: string) => c.repeat(700_000);
  await writeFile(
    path,
    line('01', 'stdout', 'F', big('x')) + line('02', 'stdout', 'F', big('y')) + line('03', 'stderr', 'F', 'z'),
  );
  const got = await collect(readLogs(path, { follow: false, tail: 2 }));
  assert.deepEqual(
    got.map((l) => l.length),
    [`stdout:${big('y')}\n`.length, 'stderr:z\n'.length],
  );
  assert.equal(got[0], `stdout:${big('y')}\n`);
  const all = await collect(readLogs(path, { follow: false, tail: 3 }));
  assert.equal(all[0], `stdout:${big('x')}\n`);
});
