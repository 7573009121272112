/**
 * The query parameters of the Engine API's endpoints against the values dockerd 20.10 takes:
 * every value it accepts is accepted, what it refuses is refused (Berth answers 400 where
 * dockerd 20.10 answers some of its refusals with a 500), and where a value changes what comes
 * back (booleans, `tail`, `since`/`until`) the answer is dockerd's.
 *
 * The table was made by running the same requests against dockerd 20.10 (`docker.io`) beside
 * Berth. Set BERTH_E2E_AGAINST=unix:///path/docker.sock to run it against such a daemon
 * again (it needs a `busybox` image there); by default it starts its own berthd.
 * Requests that would change something name containers or images that do not exist, so an
 * accepted value is seen as a 404 (the lookup comes after the parameters, in dockerd as here).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startDaemon, cleanup, dockerOk, bootstrapBusybox, eventually, type Daemon } from './harness.ts';

const against = process.env.BERTH_E2E_AGAINST;
let d: Daemon;

before(async () => {
  if (against) {
    d = { host: against, sock: new URL(against).pathname } as Daemon;
  } else {
    d = await startDaemon();
    await bootstrapBusybox(d);
  }
  await dockerOk(d, ['rm', '-f', 'qp-run', 'qp-done']).catch(() => {});
  await dockerOk(d, ['run', '-d', '--name', 'qp-run', 'busybox', 'sleep', '1000']);
  await dockerOk(d, ['run', '--name', 'qp-done', 'busybox', 'sh', '-c', 'echo out; sleep 0.2; echo err >&2']);
});
after(async () => {
  if (against) await dockerOk(d, ['rm', '-f', 'qp-run', 'qp-done']).catch(() => {});
  else if (d) await cleanup(d);
});

function call(method: string, path: string, body?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: d.sock, method, path: `/v1.41${path}`, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const q = encodeURIComponent;
const TRUE = ['1', 'true', 'True', 'TRUE', 'yes', 'on', 'off', '2', 'x', ' 1 '];
const FALSE = ['', '0', 'false', 'False', 'FALSE', 'no', 'NO', 'none', ' false '];
const INT_OK = ['5', '-1', '0', '+2', '007'];
const INT_BAD = ['1.5', 'abc', ' 3', '99999999999999999999', '0x10', '1e3'];
const TS_OK = ['1', '1.5', '1700000000.123456789', '-1', '0', '99999999999'];
const TS_BAD = ['1700000000.', '.5', 'abc', '2026-01-01T00:00:00Z', '10m', '1h30m', '1e3'];
const NO_MATCH = '"label":["berth-e2e-no-such-label"]';

interface Row {
  what: string;
  method: string;
  path: (v: string) => string;
  body?: string;
  accepted: readonly string[];
  refused: readonly string[];
  /** The status of an accepted value. */
  ok: number;
  /** What an accepted (or refused) value's body says, where the status cannot tell. */
  okBody?: RegExp;
  refusedBody?: RegExp;
}

const rows: Row[] = [
  {
    what: 'logs tail',
    method: 'GET',
    path: (v) => `/containers/qp-done/logs?stdout=1&tail=${q(v)}`,
    accepted: ['-1', 'all', '0', '2', '+3', '3.5', 'abc', '', ' 2', '-0', '-5'],
    refused: [],
    ok: 200,
  },
  {
    what: 'logs since',
    method: 'GET',
    path: (v) => `/containers/qp-done/logs?stdout=1&since=${q(v)}`,
    accepted: TS_OK,
    refused: TS_BAD,
    ok: 200,
  },
  {
    what: 'logs until',
    method: 'GET',
    path: (v) => `/containers/qp-done/logs?stdout=1&until=${q(v)}`,
    accepted: TS_OK,
    refused: TS_BAD,
    ok: 200,
  },
  {
    what: 'logs stdout (the only stream asked for)',
    method: 'GET',
    path: (v) => `/containers/qp-done/logs?stdout=${q(v)}`,
    accepted: TRUE,
    refused: FALSE,
    ok: 200,
    refusedBody: /Bad parameters: you must choose at least one stream/,
  },
  {
    what: 'logs timestamps, follow, details',
    method: 'GET',
    path: (v) => `/containers/qp-done/logs?stdout=1&timestamps=${q(v)}&follow=${q(v)}&details=${q(v)}`,
    accepted: [...TRUE, ...FALSE],
    refused: [],
    ok: 200,
  },
  ...(['stop', 'restart'] as const).map((op): Row => ({
    what: `${op} t`,
    method: 'POST',
    path: (v) => `/containers/nosuch/${op}?t=${q(v)}`,
    accepted: [...INT_OK, ''],
    refused: INT_BAD,
    ok: 404,
    refusedBody: /strconv.Atoi: parsing/,
  })),
  {
    what: 'containers limit',
    method: 'GET',
    path: (v) => `/containers/json?limit=${q(v)}`,
    accepted: [...INT_OK, ''],
    refused: INT_BAD,
    ok: 200,
  },
  {
    what: 'resize h (a stopped container)',
    method: 'POST',
    path: (v) => `/containers/qp-done/resize?h=${q(v)}&w=80`,
    accepted: INT_OK,
    refused: [...INT_BAD, ''],
    ok: 409,
  },
  {
    what: 'exec resize w',
    method: 'POST',
    path: (v) => `/exec/nosuch/resize?h=20&w=${q(v)}`,
    accepted: INT_OK,
    refused: [...INT_BAD, ''],
    ok: 404,
  },
  {
    what: 'kill signal',
    method: 'POST',
    path: (v) => `/containers/nosuch/kill?signal=${q(v)}`,
    accepted: ['', 'KILL', 'SIGKILL', '9', 'kill', 'sigkill', 'HUP', 'SIGRTMIN+3', '65', '-9'],
    refused: ['0', 'bogus', '1.0'],
    ok: 404,
    refusedBody: /Invalid signal/,
  },
  {
    what: 'attach detachKeys',
    method: 'POST',
    path: (v) => `/containers/nosuch/attach?stream=1&stdout=1&detachKeys=${q(v)}`,
    accepted: ['', 'ctrl-p,ctrl-q', 'ctrl-x', 'a', 'ctrl-@'],
    refused: ['ctrl-', 'bogus,,', 'ctrl-1'],
    ok: 404,
    refusedBody: /Invalid detach keys/,
  },
  {
    what: 'rename name',
    method: 'POST',
    path: (v) => `/containers/nosuch/rename?name=${q(v)}`,
    accepted: ['x', 'qp-done'],
    refused: [''],
    ok: 404,
  },
  {
    what: 'create platform',
    method: 'POST',
    path: (v) => `/containers/create?platform=${q(v)}`,
    body: JSON.stringify({ Image: 'berth-e2e-no-such-image' }),
    accepted: ['', 'linux', 'linux/amd64'],
    refused: ['bogus/x/y/z'],
    ok: 404,
  },
  ...(
    [
      ['rm force, v, link', 'DELETE', (v: string) => `/containers/nosuch?force=${q(v)}&v=${q(v)}&link=${q(v)}`],
      ['rmi force, noprune', 'DELETE', (v: string) => `/images/berth-e2e-nosuch?force=${q(v)}&noprune=${q(v)}`],
      ['stats stream', 'GET', (v: string) => `/containers/nosuch/stats?stream=${q(v)}`],
      ['commit pause', 'POST', (v: string) => `/commit?container=nosuch&pause=${q(v)}`],
      ['archive copyUIDGID', 'PUT', (v: string) => `/containers/nosuch/archive?path=/&copyUIDGID=${q(v)}`],
      [
        'attach logs, stream, stdin',
        'POST',
        (v: string) => `/containers/nosuch/attach?logs=${q(v)}&stream=1&stdin=${q(v)}`,
      ],
    ] as const
  ).map(([what, method, path]): Row => ({ what, method, path, accepted: [...TRUE, ...FALSE], refused: [], ok: 404 })),
  {
    what: 'containers all, size',
    method: 'GET',
    path: (v) => `/containers/json?all=${q(v)}&size=${q(v)}`,
    accepted: [...TRUE, ...FALSE],
    refused: [],
    ok: 200,
  },
  {
    what: 'images all, digests',
    method: 'GET',
    path: (v) => `/images/json?all=${q(v)}&digests=${q(v)}`,
    accepted: [...TRUE, ...FALSE],
    refused: [],
    ok: 200,
  },
  {
    what: 'filters (JSON)',
    method: 'GET',
    path: (v) => `/containers/json?filters=${q(v)}`,
    accepted: ['', '{}', '{"name":["qp"]}', '{"name":{"qp":true}}'],
    refused: ['bogus', '[]', '{"label":"x"}', '{"bogus":["x"]}'],
    ok: 200,
  },
  {
    what: 'events since (until=1)',
    method: 'GET',
    path: (v) => `/events?since=${q(v)}&until=1`,
    accepted: ['', '1', '0', '-1', '0.5'],
    refused: [...TS_BAD, '1.5', '2'],
    ok: 200,
  },
  {
    what: 'events until (since=1)',
    method: 'GET',
    path: (v) => `/events?since=1&until=${q(v)}`,
    // (Without an until, -1 or empty, events stream for ever: not in the table.)
    accepted: ['1', '1.5', '99', '+2'],
    refused: [...TS_BAD, '0', '0.5'],
    ok: 200,
  },
  ...(['containers', 'images'] as const).map((kind): Row => ({
    what: `${kind} prune until`,
    method: 'POST',
    path: (v) => `/${kind}/prune?filters=${q(`{${NO_MATCH},"until":[${JSON.stringify(v)}]}`)}`,
    accepted: ['1', '1.5', '0', '2026-01-01T00:00:00Z', '2026-01-01', '10m', '1h30m'],
    refused: ['', '-1', 'abc', '1700000000.'],
    ok: 200,
  })),
  {
    what: 'save names (one name a parameter)',
    method: 'GET',
    path: (v) => `/images/get?names=${q(v)}`,
    accepted: ['busybox'],
    refused: ['busybox,busybox', ''],
    ok: 200,
  },
  {
    what: 'build shmsize (parsed)',
    method: 'POST',
    path: (v) => `/build?shmsize=${q(v)}`,
    body: '',
    accepted: ['', '1024', '-1'],
    refused: ['abc', '1.5', '1g'],
    // An empty context: an accepted value gets as far as looking for the Dockerfile.
    ok: -1,
    okBody: /Cannot locate specified Dockerfile/,
    refusedBody: /strconv.ParseInt/,
  },
  {
    what: 'build memory, cpushares (0 when they do not parse)',
    method: 'POST',
    path: (v) => `/build?memory=${q(v)}&cpushares=${q(v)}&memswap=${q(v)}`,
    body: '',
    accepted: ['', '1024', '-1', 'abc', '1.5', '1g'],
    refused: [],
    ok: -1,
    okBody: /Cannot locate specified Dockerfile/,
  },
  {
    what: 'build cachefrom (a JSON list)',
    method: 'POST',
    path: (v) => `/build?cachefrom=${q(v)}`,
    body: '',
    accepted: ['', '[]', '["busybox"]', 'null'],
    refused: ['{}', 'bogus', '[1]'],
    ok: -1,
    okBody: /Cannot locate specified Dockerfile/,
  },
  {
    what: 'build q, nocache, rm, forcerm, pull',
    method: 'POST',
    path: (v) => `/build?q=${q(v)}&nocache=${q(v)}&rm=${q(v)}&forcerm=${q(v)}&pull=${q(v)}`,
    body: '',
    accepted: [...TRUE, ...FALSE],
    refused: [],
    ok: -1,
    okBody: /Cannot locate specified Dockerfile/,
  },
];

for (const row of rows) {
  test(`${row.what}: dockerd's values accepted, its refusals refused`, async () => {
    for (const v of row.accepted) {
      const r = await call(row.method, row.path(v), row.body);
      const label = `${row.what} ${JSON.stringify(v)}: ${r.status} ${r.body.toString().slice(0, 200)}`;
      if (row.ok >= 0) assert.equal(r.status, row.ok, label);
      else assert.ok(r.status !== 400 || row.okBody?.test(r.body.toString()), label);
      if (row.okBody) assert.match(r.body.toString(), row.okBody, label);
    }
    for (const v of row.refused) {
      const r = await call(row.method, row.path(v), row.body);
      const label = `${row.what} ${JSON.stringify(v)}: ${r.status} ${r.body.toString().slice(0, 200)}`;
      // dockerd 20.10 answers some of these with 500 (an unwrapped parse error); Berth with 400.
      assert.ok(against ? r.status === 400 || r.status === 500 : r.status === 400, label);
      if (row.refusedBody) assert.match(r.body.toString(), row.refusedBody, label);
    }
  });
}

/** The frames of a multiplexed log stream, as text per stream. */
function demux(b: Buffer): { out: string; err: string } {
  let out = '';
  let err = '';
  for (let i = 0; i + 8 <= b.length;) {
    const n = b.readUInt32BE(i + 4);
    const s = b.subarray(i + 8, i + 8 + n).toString();
    if (b[i] === 1) out += s;
    else err += s;
    i += 8 + n;
  }
  return { out, err };
}

test('logs: what tail, since, until and the stream booleans select is what dockerd selects', async () => {
  const logs = async (query: string) => demux((await call('GET', `/containers/qp-done/logs?${query}`)).body);
  const both = { out: 'out\n', err: 'err\n' };
  const none = { out: '', err: '' };
  // testcontainers asks for tail=-1 on every wait: every line.
  for (const tail of ['-1', 'all', 'abc', '3.5', '-5', '', '2'])
    assert.deepEqual(await logs(`stdout=1&stderr=1&tail=${q(tail)}`), both, `tail=${tail}`);
  assert.deepEqual(await logs('stdout=1&stderr=1&tail=0'), none);
  assert.deepEqual(await logs('stdout=1&stderr=1&tail=1'), { out: '', err: 'err\n' });
  // since/until: fractional seconds; until=0 is no bound, until in the past nothing.
  const now = Date.now() / 1000;
  assert.deepEqual(await logs(`stdout=1&stderr=1&since=${(now - 3600).toFixed(6)}`), both);
  assert.deepEqual(await logs(`stdout=1&stderr=1&since=${(now + 3600).toFixed(6)}`), none);
  assert.deepEqual(await logs('stdout=1&stderr=1&until=0'), both);
  assert.deepEqual(await logs('stdout=1&stderr=1&until=1.5'), none);
  assert.deepEqual(await logs('stdout=1&stderr=1&since=-1'), both);
  // Booleans as dockerd reads them: True and yes are true, FALSE and none are false.
  assert.deepEqual(await logs('stdout=True&stderr=none'), { out: 'out\n', err: '' });
  assert.deepEqual(await logs('stdout=FALSE&stderr=yes'), { out: '', err: 'err\n' });
});

test('booleans change what comes back as in dockerd: all=yes lists stopped containers, force=True ignores a missing volume', async () => {
  const names = async (all: string) =>
    (
      JSON.parse(
        (await call('GET', `/containers/json?all=${q(all)}&filters=${q('{"name":["qp-"]}')}`)).body.toString(),
      ) as Array<{ Names: string[] }>
    )
      .map((c) => c.Names[0])
      .sort();
  for (const v of TRUE) assert.deepEqual(await names(v), ['/qp-done', '/qp-run'], `all=${v}`);
  for (const v of FALSE) assert.deepEqual(await names(v), ['/qp-run'], `all=${JSON.stringify(v)}`);
  for (const v of ['True', 'yes', '1']) assert.equal((await call('DELETE', `/volumes/nosuch?force=${v}`)).status, 204);
  for (const v of ['False', 'no', '0']) assert.equal((await call('DELETE', `/volumes/nosuch?force=${v}`)).status, 404);
  // stats: stream defaults to true; stream=0 answers one sample and ends.
  const one = await call('GET', '/containers/qp-run/stats?stream=no');
  assert.equal(one.status, 200);
  assert.equal(one.body.toString().trim().split('\n').length, 1);
  assert.ok(await eventually(async () => (await call('GET', '/containers/qp-run/json')).status === 200));
});
