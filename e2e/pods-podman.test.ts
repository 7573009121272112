/**
 * What a Podman user types at pods, against a private berthd (no network of its own): `pod rm
 * -f -t` stopping members with their stop signal before the removal (through `berth`, curl's
 * `?force=&timeout=` and `podman --remote`), `--all`, `--ignore` and `--pod-id-file` with
 * Podman's exit codes and messages, every name looked up before any pod is touched, `pod ps`'s
 * filters, `--sort` and `--noheading`, `pod create --replace/--pod-id-file/--label-file`, and
 * `kube play --start=false` and `--network`. The expected words and codes are Podman 4.3's own (run here).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, berth, cleanup, eventually, run, startDaemonWithBusybox } from './harness.ts';

let d: Daemon;
let dir: string;
before(async () => {
  d = await startDaemonWithBusybox();
  dir = mkdtempSync(join(tmpdir(), 'berth-podman-e2e-'));
});
after(async () => {
  await cleanup(d);
  rmSync(dir, { recursive: true, force: true });
});

async function ok(args: string[]): Promise<string> {
  const r = await berth(d, args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const podman = (args: string[]) =>
  run('podman', ['--remote', '--url', `unix://${d.sock}`, ...args], { timeoutMs: 60_000 });

/**
 * A pod with a member that, stopped by SIGTERM, writes `stopped` to `<out>/<name>` on the host
 * first; killed, it writes nothing. Returns the file the member writes.
 */
async function podWithWitness(name: string): Promise<string> {
  const out = mkdtempSync(join(dir, `${name}-`));
  await ok(['pod', 'create', '--name', name]);
  await ok([
    'run',
    '-d',
    '--pod',
    name,
    '-v',
    `${out}:/out`,
    'busybox',
    'sh',
    '-c',
    `trap 'echo stopped > /out/${name}; exit 0' TERM; touch /out/ready; while :; do sleep 0.1; done`,
  ]);
  await eventually(() => existsSync(join(out, 'ready')));
  return join(out, name);
}

test('pod rm -f -t stops the members with their stop signal before removing them; -f alone kills them; -t needs -f', async () => {
  const graceful = await podWithWitness('rmt');
  const noForce = await berth(d, ['pod', 'rm', '-t', '5', 'rmt']);
  assert.equal(noForce.code, 125);
  assert.equal(noForce.stderr, 'Error: --force option must be specified to use the --time option\n');
  const id = (await ok(['pod', 'inspect', '-f', '{{.Id}}', 'rmt'])).trim();
  assert.equal(await ok(['pod', 'rm', '-f', '-t', '5', 'rmt']), `${id}\n`);
  assert.equal(readFileSync(graceful, 'utf8'), 'stopped\n', 'the member ran its TERM trap');
  assert.equal((await berth(d, ['pod', 'exists', 'rmt'])).code, 1);

  const killed = await podWithWitness('rmf');
  await ok(['pod', 'rm', '-f', 'rmf']);
  assert.equal(existsSync(killed), false, 'rm -f without -t kills, as docker rm -f does');
  const neg = await berth(d, ['pod', 'rm', '-f', '-t', '-1', 'x']);
  assert.equal(neg.code, 125);
  assert.match(neg.stderr, /invalid argument "-1" for "-t, --time" flag/);
});

test("Libpod's DELETE /libpod/pods/{name} takes force and timeout as Podman's client sends them, and refuses a timeout that is not a number", async () => {
  const graceful = await podWithWitness('rmapi');
  const curl = async (method: string, path: string) => {
    const r = await run('curl', [
      '-s',
      '-o',
      '-',
      '-w',
      '\n%{http_code}',
      '--unix-socket',
      d.sock,
      '-X',
      method,
      `http://d/v4.3.1/libpod/pods${path}`,
    ]);
    const lines = r.stdout.split('\n');
    return { status: Number(lines.pop()), body: lines.join('\n') };
  };
  const bad = await curl('DELETE', '/rmapi?force=true&timeout=soon');
  assert.equal(bad.status, 400, bad.body);
  assert.match(JSON.parse(bad.body).message, /timeout: "soon" is not a number of seconds/);
  const del = await curl('DELETE', '/rmapi?force=true&timeout=5');
  assert.equal(del.status, 200, del.body);
  assert.equal(readFileSync(graceful, 'utf8'), 'stopped\n');

  // podman --remote pod rm -f -t N sends the same query.
  const viaPodman = await podWithWitness('rmpodman');
  const r = await podman(['pod', 'rm', '-f', '-t', '5', 'rmpodman']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(viaPodman, 'utf8'), 'stopped\n');
});

test("pod start/stop/rm --all, --ignore and --pod-id-file as Podman's: names are looked up before anything is done, with Podman's exit codes", async () => {
  const idFile = join(dir, 'all-a.id');
  await ok(['pod', 'create', '--name', 'all-a', '--pod-id-file', idFile]);
  const idA = readFileSync(idFile, 'utf8');
  assert.match(idA, /^[0-9a-f]{64}$/);
  const again = await berth(d, ['pod', 'create', '--name', 'all-b', '--pod-id-file', idFile]);
  assert.equal(again.code, 125);
  assert.equal(again.stderr, `Error: pod id file exists. Ensure another pod is not using it or delete ${idFile}\n`);
  assert.equal((await berth(d, ['pod', 'exists', 'all-b'])).code, 1, 'nothing made when the file exists');
  const idB = (await ok(['pod', 'create', '--name', 'all-b'])).trim();
  await ok(['create', '--pod', 'all-a', 'busybox', 'sleep', '1000']);

  // A missing name fails the command before any pod is touched.
  const missing = await berth(d, ['pod', 'start', 'all-a', 'nothere']);
  assert.equal(missing.code, 125);
  assert.equal(missing.stderr, 'Error: no pod with name or ID nothere found: no such pod\n');
  assert.equal(missing.stdout, '');
  assert.equal((await ok(['pod', 'inspect', '-f', '{{.State}}', 'all-a'])).trim(), 'Created');
  assert.equal(await ok(['pod', 'start', '--pod-id-file', idFile]), `${idA}\n`);
  assert.equal(await ok(['pod', 'stop', '-i', '-t', '0', 'nothere', 'all-a']), `${idA}\n`);

  for (const [args, msg] of [
    [['pod', 'stop', '-a', 'all-a'], 'Error: no arguments are needed with --all\n'],
    [['pod', 'stop'], 'Error: you must provide at least one name or id\n'],
  ] as const) {
    const r = await berth(d, [...args]);
    assert.equal(r.code, 125, args.join(' '));
    assert.equal(r.stderr, msg);
  }
  const rmMissing = await berth(d, ['pod', 'rm', 'all-b', 'nothere']);
  assert.equal(rmMissing.code, 1, "pod rm's code for no such pod is Podman's 1");
  assert.equal((await berth(d, ['pod', 'exists', 'all-b'])).code, 0, 'all-b is still there');
  assert.equal(await ok(['pod', 'rm', '-i', 'nothere']), '', '--ignore prints nothing for a missing pod');
  assert.equal(await ok(['pod', 'rm', '-f', 'nothere']), '', '-f ignores a missing pod, as docker rm -f does');

  await ok(['pod', 'start', '-a']);
  assert.equal((await ok(['pod', 'inspect', '-f', '{{.State}}', 'all-a'])).trim(), 'Running');
  const removed = (await ok(['pod', 'rm', '-a', '-f'])).trim().split('\n').sort();
  assert.deepEqual(removed, [idA, idB].sort());
  assert.equal((await ok(['pod', 'ps', '-q'])).trim(), '');
});

test("pod ps filters by the members' names, statuses and number, by network and creation time, sorts and drops its header as Podman's", async () => {
  await ok(['pod', 'create', '--name', 'ps-one', '--label', 'tier=web']);
  await ok(['pod', 'create', '--name', 'ps-two', '--network', 'none']);
  await ok(['run', '-d', '--pod', 'ps-one', '--name', 'ps-one-web', 'busybox', 'sleep', '1000']);
  try {
    const names = async (...filters: string[]) =>
      (await ok(['pod', 'ps', '--sort', 'name', '--format', '{{.Name}}', ...filters.flatMap((f) => ['--filter', f])]))
        .trim()
        .split('\n')
        .filter(Boolean);
    assert.deepEqual(await names('ctr-names=^ps-one-web$'), ['ps-one']);
    assert.deepEqual(await names('ctr-status=running'), ['ps-one']);
    assert.deepEqual(await names('ctr-status=created', 'name=^ps-'), ['ps-two']);
    assert.deepEqual(await names('ctr-number=2'), ['ps-one'], 'the infra counts, as in Podman');
    assert.deepEqual(await names('status=created', 'name=^ps-'), ['ps-two']);
    assert.deepEqual(await names('label=tier=web'), ['ps-one']);
    assert.deepEqual(await names('until=1h', 'name=^ps-'), [], 'none made more than an hour ago');
    assert.deepEqual(await names('until=0s', 'name=^ps-'), ['ps-one', 'ps-two']);
    assert.deepEqual(await names('network=none'), [], 'a pod on no network is on none of them');
    for (const [filter, msg] of [
      ['bogus=1', 'Error: bogus is an invalid filter\n'],
      ['status=sleeping', 'Error: sleeping is not a valid pod status\n'],
      ['ctr-status=sleeping', 'Error: sleeping is not a valid status\n'],
    ]) {
      const r = await berth(d, ['pod', 'ps', '--filter', filter!]);
      assert.equal(r.code, 125, filter);
      assert.equal(r.stderr, msg);
    }
    // --sort number: fewest containers first; --noheading: rows alone.
    const rows = (await ok(['pod', 'ps', '--sort', 'number', '--noheading', '--filter', 'name=^ps-']))
      .trim()
      .split('\n');
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /^[0-9a-f]{12}\s+ps-two\s+Created\s/);
    assert.match(rows[1]!, /^[0-9a-f]{12}\s+ps-one\s+Running\s/);
    const bad = await berth(d, ['pod', 'ps', '--sort', 'size']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, 'Error: invalid option for --sort, options are: id, names, or number\n');
    const both = await berth(d, ['pod', 'ps', '-q', '--format', '{{.Name}}']);
    assert.equal(both.code, 125);
    assert.equal(both.stderr, 'Error: quiet and format cannot be used together\n');
    // Podman's client sends the same filters; its own CLI sorts and prints.
    const remote = await podman([
      'pod',
      'ps',
      '--filter',
      'ctr-number=2',
      '--filter',
      'name=^ps-',
      '--format',
      '{{.Name}}',
    ]);
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(remote.stdout, 'ps-one\n');
  } finally {
    await berth(d, ['pod', 'rm', '-f', 'ps-one', 'ps-two']);
  }
});

test('pod create --replace makes the pod anew under its name, --label-file adds labels, and --replace needs a name', async () => {
  const labels = join(dir, 'labels');
  writeFileSync(labels, '# the pod\nteam=pods\nenv=test\n');
  const first = (await ok(['pod', 'create', '--name', 'again', '--label-file', labels, '--label', 'env=e2e'])).trim();
  assert.deepEqual(JSON.parse(await ok(['pod', 'inspect', '-f', '{{json .Labels}}', 'again'])), {
    team: 'pods',
    env: 'e2e',
  });
  await ok(['run', '-d', '--pod', 'again', 'busybox', 'sleep', '1000']);
  const taken = await berth(d, ['pod', 'create', '--name', 'again']);
  assert.equal(taken.code, 125);
  assert.match(taken.stderr, /pod already exists/);
  const second = (await ok(['pod', 'create', '--name', 'again', '--replace'])).trim();
  assert.notEqual(second, first);
  assert.equal((await ok(['pod', 'inspect', '-f', '{{.NumContainers}}', 'again'])).trim(), '1');
  assert.equal(
    (await ok(['ps', '-aq', '--filter', `label=io.berth.pod.id=${first}`])).trim(),
    '',
    'the old members are gone',
  );
  const noName = await berth(d, ['pod', 'create', '--replace']);
  assert.equal(noName.code, 125);
  assert.equal(noName.stderr, 'Error: cannot replace pod without --name being set\n');
  await ok(['pod', 'rm', '-f', 'again']);
});

test('kube play --start=false leaves the pod created, a later play with --replace starts it, and --network none keeps its members off any network', async () => {
  const yaml = join(dir, 'pod.yaml');
  writeFileSync(
    yaml,
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: later}',
      'spec:',
      '  containers:',
      "  - {name: idle, image: busybox, imagePullPolicy: Never, command: [sleep, '1000']}",
      '',
    ].join('\n'),
  );
  await ok(['kube', 'play', '-q', '--start=false', yaml]);
  try {
    assert.equal((await ok(['pod', 'inspect', '-f', '{{.State}}', 'later'])).trim(), 'Created');
    await ok(['kube', 'play', '-q', '--replace', yaml]);
    assert.equal((await ok(['pod', 'inspect', '-f', '{{.State}}', 'later'])).trim(), 'Running');
    const networks = async () => (await ok(['pod', 'inspect', '-f', '{{json .InfraConfig.Networks}}', 'later'])).trim();
    assert.equal(await networks(), '["bridge"]');
    // --network, as Podman's: here none, so the infra (and the members in its namespace) on no network.
    await ok(['kube', 'play', '-q', '--network', 'none', yaml]);
    assert.equal(await networks(), 'null');
    const infra = (await ok(['pod', 'inspect', '-f', '{{.InfraContainerID}}', 'later'])).trim();
    assert.equal((await ok(['inspect', '-f', '{{.HostConfig.NetworkMode}}', infra])).trim(), 'none');
    assert.equal((await ok(['exec', 'later-idle', 'ls', '/sys/class/net'])).trim(), 'lo');
  } finally {
    await berth(d, ['kube', 'down', '-q', yaml]);
  }
});
