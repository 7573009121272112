import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
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
  await writeFile(path, line('01', 'stdout', 'F', 'one') + line('02', 'stderr', 'F', 'two') + line('03', 'stdout', 'P', 'thr') + line('03', 'stdout', 'F', 'ee') + line('04', 'stdout', 'F', 'four'));
  assert.deepEqual(await collect(readLogs(path, { follow: false })), ['stdout:one\n', 'stderr:two\n', 'stdout:three\n', 'stdout:four\n']);
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 2 })), ['stdout:three\n', 'stdout:four\n']);
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 0 })), []);
  assert.deepEqual(await collect(readLogs(path, { follow: false, since: new Date('2026-01-01T00:00:02.5Z') })), ['stdout:three\n', 'stdout:four\n']);
});

test('tail reads from the end of a large file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c.log');
  await writeFile(path, Array.from({ length: 20000 }, (_, i) => line('01', 'stdout', 'F', `line ${i}`)).join(''));
  assert.deepEqual(await collect(readLogs(path, { follow: false, tail: 3 })), ['stdout:line 19997\n', 'stdout:line 19998\n', 'stdout:line 19999\n']);
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
