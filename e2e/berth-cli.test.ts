/**
 * The `berth` CLI against a private berthd: its commands, output columns and exit codes follow
 * the docker CLI's. Needs the daemon (src/daemon/main.ts); without it every test fails saying so.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, cleanup, berth, docker, eventually, REPO, type Daemon, type RunResult } from './harness.ts';

const DAEMON_MAIN = join(REPO, 'src/daemon/main.ts');
let d: Daemon | undefined;
let bootError: Error | undefined;

before(async () => {
  if (!existsSync(DAEMON_MAIN)) {
    bootError = new Error(
      `berthd is missing: ${DAEMON_MAIN} does not exist, so bin/berthd cannot start and the berth CLI has no daemon to drive`,
    );
    return;
  }
  try {
    d = await startDaemon();
  } catch (e) {
    bootError = e as Error;
  }
});

after(() => cleanup(d)); // stops berthd by its pid, removes its monitors, mounts and temp dirs

function daemon(): Daemon {
  if (bootError) throw bootError;
  return d!;
}

async function run(args: string[], input?: string): Promise<RunResult> {
  return berth(daemon(), args, { input });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await run(args, input);
  assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Start offsets of the columns of a docker table header (cells are separated by 3+ spaces). */
function columnStarts(header: string): number[] {
  const starts = [0];
  const re = / {3,}(?=\S)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) !== null) starts.push(m.index + m[0].length);
  return starts;
}

/** Splits a table row at the header's column offsets. */
function cells(row: string, starts: number[]): string[] {
  return starts.map((s, i) => row.slice(s, starts[i + 1]).trim());
}

test('berth image bootstrap busybox renders progress like pull and ends with the image ID', async () => {
  const out = await ok(['image', 'bootstrap', 'busybox']);
  const lines = out.trimEnd().split('\n');
  const id = lines[lines.length - 1]!;
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  assert.ok(lines.length > 1, `progress lines before the ID: ${out}`);
  assert.equal(
    (await ok(['image', 'bootstrap', '-q', 'busybox'])).trim(),
    id,
    'the busybox image is reproducible; -q prints only its ID',
  );
});

test("berth images: docker's columns, human sizes, -q and --format", async () => {
  const out = await ok(['images']);
  const [header, ...rows] = out.trimEnd().split('\n');
  assert.match(header!, /^REPOSITORY {3}TAG {7}IMAGE ID {7}CREATED {2,}SIZE$/);
  const starts = columnStarts(header!);
  const row = rows.map((r) => cells(r, starts)).find((c) => c[0] === 'busybox');
  assert.ok(row, `a busybox row in:\n${out}`);
  const [, tag, id, created, size] = row!;
  assert.equal(tag, 'latest');
  assert.match(id!, /^[a-f0-9]{12}$/);
  assert.match(created!, / ago$/);
  assert.match(size!, /^\d+(\.\d+)?[kMG]?B$/);
  const inspectId = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  assert.equal(inspectId.slice(7, 19), id);
  assert.ok((await ok(['images', '-q'])).split('\n').includes(id!));
  assert.equal((await ok(['images', '--format', '{{.Repository}}:{{.Tag}}', 'busybox'])).trim(), 'busybox:latest');
});

test('berth run --rm prints the output; exit codes and stderr propagate', async () => {
  assert.equal(await ok(['run', '--rm', 'busybox', 'echo', 'hi']), 'hi\n');
  const r = await run(['run', '--name', 'three', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  const env = await ok([
    'run',
    '--rm',
    '-e',
    'A=1',
    '-w',
    '/tmp',
    '--entrypoint',
    'sh',
    'busybox',
    '-c',
    'echo $A $(pwd)',
  ]);
  assert.equal(env, '1 /tmp\n');
});

test("berth ps -a: docker's columns with the daemon's status text", async () => {
  const out = await ok(['ps', '-a']);
  const [header, ...rows] = out.trimEnd().split('\n');
  assert.match(header!, /^CONTAINER ID {3}IMAGE {5}COMMAND {2,}CREATED {2,}STATUS {2,}PORTS {5}NAMES$/);
  const starts = columnStarts(header!);
  const three = rows.map((r) => cells(r, starts)).find((c) => c[6] === 'three');
  assert.ok(three, `a row for "three" in:\n${out}`);
  assert.match(three![0]!, /^[a-f0-9]{12}$/);
  assert.equal(three![1], 'busybox');
  assert.match(three![2]!, /^".*"$/);
  assert.match(three![3]!, / ago$/);
  assert.match(three![4]!, /^Exited \(3\) .* ago$/);
  assert.equal(three![5], '');
  const json = JSON.parse((await ok(['ps', '-a', '--filter', 'name=three', '--format', 'json'])).trim()) as Record<
    string,
    string
  >;
  assert.equal(json.Names, 'three');
  assert.equal(json.State, 'exited');
  assert.deepEqual(Object.keys(json), [...Object.keys(json)].sort(), 'keys sorted as docker prints them');
  assert.equal(
    await ok(['ps', '-a', '--filter', 'name=three', '--format', 'table {{.Names}}\t{{.State}}']),
    'NAMES     STATE\nthree     exited\n',
  );
});

test('berth run -d, logs, inspect -f, stop, rm -f', async () => {
  const id = (
    await ok([
      'run',
      '-d',
      '--name',
      'bg',
      'busybox',
      'sh',
      '-c',
      'echo ready; echo warn >&2; trap "exit 0" TERM; while :; do sleep 0.1; done',
    ])
  ).trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  await eventually(async () => (await ok(['logs', 'bg'])).includes('ready'));
  const logs = await run(['logs', 'bg']);
  assert.equal(logs.stdout, 'ready\n');
  assert.equal(logs.stderr, 'warn\n');
  const tail = await run(['logs', '-t', '--tail', '1', 'bg']);
  assert.match(tail.stdout + tail.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (ready|warn)\n$/);
  assert.equal(
    (await ok(['inspect', '-f', '{{.State.Status}} {{json .Config.Cmd}}', 'bg'])).trim().split(' ')[0],
    'running',
  );
  assert.equal(await ok(['ps', '-q', '--no-trunc', '--filter', 'name=bg']), `${id}\n`);
  assert.equal(await ok(['stop', 'bg']), 'bg\n');
  assert.equal((await ok(['inspect', '-f', '{{.State.ExitCode}}', 'bg'])).trim(), '0');
  assert.equal(await ok(['rm', '-f', 'bg', 'three']), 'bg\nthree\n');
  assert.equal(await ok(['ps', '-aq']), '');
  const gone = await run(['rm', 'bg']);
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr, 'Error response from daemon: No such container: bg\n');
  const inspect = await run(['inspect', 'bg']);
  assert.equal(inspect.code, 1);
  assert.equal(inspect.stdout, '[]\n');
  assert.equal(inspect.stderr, 'Error: No such object: bg\n');
});

test('berth refuses like docker: missing images (125), bad flags (125), missing arguments (1)', async () => {
  const missing = await run(['run', '--rm', 'nosuch:1']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /^Unable to find image 'nosuch:1' locally\n/);
  assert.match(missing.stderr, /\nberth: .+\n\nRun 'berth run --help' for more information\n$/);
  const flag = await run(['ps', '--bogus']);
  assert.equal(flag.code, 125);
  assert.equal(
    flag.stderr,
    "unknown flag: --bogus\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n",
  );
  const args = await run(['rm']);
  assert.equal(args.code, 1);
  assert.match(args.stderr, /^berth: 'berth rm' requires at least 1 argument\n/);
});

/**
 * The two CLIs run one after the other, so a relative time may tick between them ("1 second
 * ago" against "2 seconds ago") and shift a table's columns by a space: compare without them.
 */
const sameSecond = (out: string) =>
  out.replace(/(\d+|About an?|Less than a) (second|minute|hour)s? ago/g, 'some time ago').replace(/ {2,}/g, '  ');

test('berth system df (-v, --format) and system/builder prune print what docker prints', async () => {
  const dd = daemon();
  const both = async (args: string[], input?: string) => {
    const [b, k] = [await run(args, input), await docker(dd, args, { input })];
    // docker warns that its legacy builder is deprecated; berth has no such warning.
    return { berth: b.stdout, docker: k.stdout, code: [b.code, k.code] };
  };
  await ok(['run', '--name', 'stopped-one', 'busybox', 'true']);
  await ok(['volume', 'create', 'named-vol']);
  // An anonymous volume its container left behind: what prune --volumes removes (named ones stay).
  await ok(['run', '--name', 'left-a-volume', '-v', '/data', 'busybox', 'true']);
  const anonymous = (await ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'left-a-volume'])).trim();
  await ok(['rm', 'left-a-volume']);
  for (const args of [
    ['system', 'df'],
    ['system', 'df', '-v'],
    ['system', 'df', '--format', '{{.Type}}: {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}'],
    ['system', 'df', '--format', 'json'],
  ]) {
    const r = await both(args);
    assert.deepEqual(r.code, [0, 0]);
    assert.equal(sameSecond(r.berth), sameSecond(r.docker), args.join(' '));
  }
  assert.match((await ok(['system', 'df'])).split('\n')[2]!, /^Containers\s+1\s+0\s+/);
  // Declined: the same warning, nothing removed.
  for (const args of [
    ['system', 'prune'],
    ['system', 'prune', '-a', '--volumes'],
    ['builder', 'prune'],
  ]) {
    const r = await both(args, 'n\n');
    assert.equal(r.berth, r.docker, args.join(' '));
  }
  assert.match(await ok(['ps', '-a', '--format', '{{.Names}}']), /stopped-one/);
  const pruned = await ok(['system', 'prune', '-f', '--volumes']);
  assert.match(
    pruned,
    new RegExp(
      `^Deleted Containers:\\n[0-9a-f]{64}\\n\\nDeleted Volumes:\\n${anonymous}\\n\\nTotal reclaimed space: \\S+\\n$`,
    ),
  );
  assert.match(await ok(['volume', 'ls', '-q']), /^named-vol$/m);
  assert.doesNotMatch(await ok(['ps', '-a', '--format', '{{.Names}}']), /stopped-one/);
  assert.equal(await ok(['builder', 'prune', '-f']), 'Total reclaimed space: 0B\n');
});
