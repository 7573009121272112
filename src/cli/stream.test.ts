import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonMessage, SystemInfo, SystemVersion } from '../client/index.ts';
import { displayJsonMessages, goDuration, progressString } from './progress.ts';
import { DetachFilter, parseDetachKeys } from './attach.ts';
import { getTimestamp, timestampFlag } from './timestamps.ts';
import { parseArgs } from './flags.ts';
import { StatusError } from './cli.ts';
import { eventLine, infoText, versionText } from './system.ts';

async function* msgs(...m: JsonMessage[]): AsyncGenerator<JsonMessage> {
  yield* m;
}

function sink(isTTY: boolean, columns = 200) {
  const out = {
    text: '',
    isTTY,
    columns,
    write: (s: string) => {
      out.text += s;
      return true;
    },
  };
  return out;
}

test('progress off a terminal: status lines only, no bars', async () => {
  const out = sink(false);
  let aux = '';
  await displayJsonMessages(
    msgs(
      { status: 'Pulling from library/busybox', id: 'latest' },
      { status: 'Pulling fs layer', progressDetail: {}, id: 'a1b2' },
      { status: 'Downloading', progressDetail: { current: 100, total: 1000 }, progress: '[=>  ]', id: 'a1b2' },
      { status: 'Download complete', progressDetail: {}, id: 'a1b2' },
      { aux: { ID: 'sha256:abc' } },
      { status: 'Status: Downloaded newer image for busybox:latest' },
      { stream: 'Step 1/2 : FROM busybox\n' },
    ),
    out,
    (m) => {
      aux = m.aux!.ID!;
    },
  );
  assert.equal(
    out.text,
    'latest: Pulling from library/busybox\na1b2: Pulling fs layer\na1b2: Download complete\nStatus: Downloaded newer image for busybox:latest\nStep 1/2 : FROM busybox\n',
  );
  assert.equal(aux, 'sha256:abc');
});

test('progress on a terminal: one line per layer id, redrawn in place', async () => {
  const out = sink(true, 120);
  await displayJsonMessages(
    msgs(
      { status: 'Pulling fs layer', progressDetail: {}, id: 'l1' },
      { status: 'Pulling fs layer', progressDetail: {}, id: 'l2' },
      { status: 'Downloading', progressDetail: { current: 500, total: 1000 }, id: 'l1' },
    ),
    out,
  );
  assert.equal(
    out.text,
    '\n\x1b[1A\x1b[2K\rl1: Pulling fs layer \r\x1b[1B' +
      '\n\x1b[1A\x1b[2K\rl2: Pulling fs layer \r\x1b[1B' +
      `\x1b[2A\x1b[2K\rl1: Downloading [${'='.repeat(25)}>${' '.repeat(25)}]     500B/1kB\r\x1b[2B`,
  );
});

test('stream errors surface after the lines before them', async () => {
  const out = sink(false);
  async function* failing(): AsyncGenerator<JsonMessage> {
    yield { stream: 'Step 1/1 : RUN exit 2\n' };
    throw new Error("The command '/bin/sh -c exit 2' returned a non-zero code: 2");
  }
  await assert.rejects(displayJsonMessages(failing(), out), /non-zero code: 2/);
  assert.equal(out.text, 'Step 1/1 : RUN exit 2\n');
});

test('progress bar text', () => {
  assert.equal(progressString({ current: 0, total: 0 }, 200), '');
  assert.equal(progressString({ current: 2048 }, 200), ' 2.048kB');
  assert.equal(progressString({ current: 1000, total: 1000 }, 80), '     1kB/1kB');
  assert.equal(progressString({ current: 3, total: 10, units: 'layers' }, 80), '3/10 layers');
  assert.equal(progressString({ current: 500, total: 1000, start: 100 }, 80, 110_000), '    500B/1kB 10s');
  assert.equal(goDuration(3723), '1h2m3s');
  assert.equal(goDuration(0), '0s');
});

test('detach keys: parsing and the held-back sequence', () => {
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('a,ctrl-@,ctrl-['), [97, 0, 27]);
  assert.throws(() => parseDetachKeys('ctrl-1x'), /Unknown character/);
  const f = new DetachFilter([16, 17]);
  assert.deepEqual(f.push(Buffer.from([104, 16])), { data: Buffer.from([104]), detached: false });
  assert.deepEqual(f.push(Buffer.from([105])), { data: Buffer.from([16, 105]), detached: false });
  assert.deepEqual(f.push(Buffer.from([16])), { data: Buffer.alloc(0), detached: false });
  assert.equal(f.push(Buffer.from([17])).detached, true);
});

test('--since/--until values as the API wants them', () => {
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);
  assert.equal(getTimestamp('10m', now), String(now / 1000 - 600));
  assert.equal(getTimestamp('1700000000', now), '1700000000');
  assert.equal(getTimestamp('2013-01-02T13:23:37Z', now), '1357133017.000000000');
  assert.equal(getTimestamp('2013-01-02T13:23:37.5Z', now), '1357133017.500000000');
  assert.throws(() => getTimestamp('yesterday', now), /failed to parse/);
});

test('events, version and info text', () => {
  process.env.TZ = 'UTC';
  assert.equal(
    eventLine({
      Type: 'container',
      Action: 'create',
      Actor: { ID: 'abc', Attributes: { name: 'x', image: 'busybox' } },
      scope: 'local',
      time: 1795354294,
      timeNano: '1795354294517268258',
    }),
    '2026-11-22T13:31:34.517268258Z container create abc (image=busybox, name=x)\n',
  );
  const v = versionText(
    {
      Version: '0.1.0',
      ApiVersion: '1.45',
      DefaultAPIVersion: '1.47',
      GitCommit: 'n/a',
      BuildTime: 'n/a',
      Os: 'linux',
      Arch: 'amd64',
      Context: 'default',
    },
    {
      Version: '0.1.0',
      ApiVersion: '1.45',
      MinAPIVersion: '1.24',
      Os: 'linux',
      Arch: 'amd64',
      Components: [
        {
          Name: 'Engine',
          Version: '0.1.0',
          Details: { ApiVersion: '1.45', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' },
        },
      ],
    } as unknown as SystemVersion,
  );
  assert.match(v, /^Client:\n Version:           0\.1\.0\n API version:       1\.45 \(downgraded from 1\.47\)\n/);
  assert.match(
    v,
    /\nServer:\n Engine:\n  Version:          0\.1\.0\n  API version:      1\.45 \(minimum version 1\.24\)\n/,
  );
  const i = infoText(
    {
      Containers: 2,
      ContainersRunning: 1,
      ContainersPaused: 0,
      ContainersStopped: 1,
      Images: 3,
      ServerVersion: '0.1.0',
      Driver: 'overlay2',
      MemTotal: 25274000000,
      SecurityOptions: ['name=seccomp,profile=builtin'],
    } as SystemInfo,
    ' Version:    0.1.0\n',
  );
  assert.match(
    i,
    /^Client:\n Version:    0\.1\.0\n\nServer:\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 3\n Server Version: 0\.1\.0\n Storage Driver: overlay2\n/,
  );
  assert.match(i, / Security Options:\n  seccomp\n   Profile: builtin\n/);
  assert.match(i, / Total Memory: 23\.54GiB\n/);
});

test('--since/--until: absent is undefined, a value becomes the API timestamp, an unreadable one ends the command with status 1 in the words the command gives it', () => {
  const spec = {
    usage: 'logs',
    description: '',
    flags: [
      { long: 'since', type: 'string' as const },
      { long: 'until', type: 'string' as const },
    ],
  };
  const { flags } = parseArgs(['--since', '1700000000', '--until', 'yesterday'], spec);
  assert.equal(timestampFlag(parseArgs([], spec).flags, 'since'), undefined);
  assert.equal(timestampFlag(flags, 'since'), '1700000000');
  assert.throws(
    () => timestampFlag(flags, 'until'),
    (e) =>
      e instanceof StatusError &&
      e.code === 1 &&
      e.message === 'failed to parse value as time or duration: "yesterday"',
  );
  assert.throws(
    () => timestampFlag(flags, 'until', (m) => `invalid value for "until": ${m}`),
    (e) =>
      e instanceof StatusError &&
      e.message === 'invalid value for "until": failed to parse value as time or duration: "yesterday"',
  );
});
