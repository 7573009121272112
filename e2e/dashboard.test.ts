/**
 * `berth dashboard` against a private berthd, driven with plain HTTP as a browser would: the
 * token exchange, refusals without the token, for a rebinding Host and for a path-injection
 * id, container actions whose effect the real docker CLI sees, a followed log stream, events,
 * a clean exit on SIGTERM; and, when Debian's chromium-headless-shell is installed, that the
 * page renders the container list.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanup,
  docker,
  dockerOk,
  eventually,
  sleep,
  REPO,
  startDaemonWithBusybox,
  freePort,
  type Daemon,
} from './harness.ts';

const CHROMIUM = '/usr/bin/chromium-headless-shell';
let d: Daemon;
let dash: ChildProcess;
let dashOut = '';
let base = '';
let token = '';
let port = 0;
let cid = '';

interface Res {
  status: number;
  type: string;
  body: string;
  headers: IncomingMessage['headers'];
}

function http(method: string, path: string, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString(),
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const withToken = () => ({ Cookie: `berth_dashboard_${port}=${token}` });
const apiCall = (method: string, path: string) => http(method, `/api/${path}`, withToken());

async function inspectState(name: string): Promise<string> {
  return (await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', name])).trim();
}

/** A promise of a feed's `{"live":true}` line, and the check to give the stream what it read. */
function liveness(): { live: Promise<void>; seen: (text: string) => boolean } {
  let resolve!: () => void;
  const live = new Promise<void>((r) => (resolve = r));
  return {
    live,
    seen: (text) => {
      if (/"live":true/.test(text)) resolve();
      return true;
    },
  };
}

/** Opens a streamed answer and collects its text until `until` holds or `ms` pass; then closes it. */
function stream(
  path: string,
  until: (text: string) => boolean,
  ms = 15_000,
): Promise<{ text: string; status: number }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = request({ host: '127.0.0.1', port, path: `/api/${path}`, headers: withToken() }, (res) => {
      res.setEncoding('utf8');
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        req.destroy();
        resolve({ text, status: res.statusCode ?? 0 });
      };
      const timer = setTimeout(done, ms);
      res.on('data', (c: string) => {
        text += c;
        if (until(text)) done();
      });
      res.on('end', done);
      // the dashboard going away ends the stream without an 'end'
      res.on('close', done);
    });
    req.on('error', (e) => (text ? undefined : reject(e)));
    req.end();
  });
}

before(async () => {
  d = await startDaemonWithBusybox();
  // the trap lets a stop end it at once (a shell as pid 1 ignores SIGTERM otherwise, and stop waits 10 s)
  cid = (
    await dockerOk(d, [
      'run',
      '-d',
      '--name',
      'dash-web',
      'busybox',
      'sh',
      '-c',
      'trap "exit 0" TERM; i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.3; done',
    ])
  ).trim();
  port = await freePort();
  dash = spawn(join(REPO, 'bin/berth'), ['-H', d.host, 'dashboard', '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dash.stdout!.on('data', (c: Buffer) => (dashOut += c.toString()));
  dash.stderr!.on('data', (c: Buffer) => (dashOut += c.toString()));
  const url = await eventually(() => /Berth dashboard: (http:\/\/\S+)/.exec(dashOut)?.[1], 20_000, 50);
  assert.ok(url, `no URL printed:\n${dashOut}`);
  const m = /^(http:\/\/127\.0\.0\.1:(\d+))\/\?token=([A-Za-z0-9_-]+)$/.exec(url);
  assert.ok(m, url);
  [base, token] = [m[1]!, m[3]!];
  assert.equal(Number(m[2]), port);
});

after(async () => {
  if (dash && dash.exitCode === null && dash.signalCode === null) dash.kill('SIGKILL');
  await cleanup(d);
});

test('the printed URL trades its token for a cookie, and the page loads', async () => {
  const trade = await http('GET', `/?token=${token}`);
  assert.equal(trade.status, 303);
  const cookie = String(trade.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const page = await http('GET', '/', withToken());
  assert.equal(page.status, 200);
  assert.match(page.type, /^text\/html/);
  assert.match(page.body, /data-app="berth-dashboard"/);
  assert.match(page.body, /src="\/app\.js"/);
  const js = await http('GET', '/app.js', withToken());
  assert.equal(js.status, 200);
  assert.match(js.body, /containerActions/);
  assert.ok(base.startsWith('http://127.0.0.1:'));
});

test('without the token nothing answers', async () => {
  assert.equal((await http('GET', '/')).status, 401);
  for (const [method, path] of [
    ['GET', '/api/containers'],
    ['POST', `/api/containers/${cid}/stop`],
    ['GET', '/api/events'],
  ] as const) {
    const r = await http(method, path);
    assert.ok(r.status === 401 || r.status === 403, `${method} ${path}: ${r.status}`);
    const wrong = await http(method, path, { Cookie: `berth_dashboard_${port}=not-the-token` });
    assert.ok(wrong.status === 401 || wrong.status === 403, `${method} ${path} (wrong token): ${wrong.status}`);
  }
  assert.equal(await inspectState('dash-web'), 'running');
});

test('with the token the container list has the container', async () => {
  const r = await apiCall('GET', 'containers');
  assert.equal(r.status, 200);
  const list = JSON.parse(r.body) as { id: string; name: string; state: string; status: string; image: string }[];
  const c = list.find((x) => x.id === cid);
  assert.ok(c, r.body);
  assert.equal(c.name, 'dash-web');
  assert.equal(c.state, 'running');
  assert.match(c.status, /^Up /);
  assert.equal(c.image, 'busybox');
  const o = JSON.parse((await apiCall('GET', 'overview')).body) as { containers: { running: number }; images: number };
  assert.equal(o.containers.running, 1);
  assert.equal(o.images, 1);
});

test('a DNS-rebinding Host and a path-injection id are refused', async () => {
  const rebound = await http('GET', '/api/containers', { ...withToken(), Host: `rebind.example:${port}` });
  assert.equal(rebound.status, 403);
  const crossSite = await http('POST', `/api/containers/${cid}/stop`, {
    ...withToken(),
    Origin: 'http://evil.example',
  });
  assert.equal(crossSite.status, 403);
  for (const path of [
    'containers/..%2F..%2Fimages%2Fbusybox/stop',
    'containers/..%2Fdash-web/stop',
    'containers/../containers/dash-web/stop',
  ]) {
    const r = await http('POST', `/api/${path}`, withToken());
    assert.equal(r.status, 400, `${path}: ${r.status} ${r.body}`);
  }
  const img = await http('DELETE', '/api/images/..%2F..%2Fcontainers%2Fdash-web', withToken());
  assert.equal(img.status, 400);
  assert.equal((await apiCall('POST', 'containers/create')).status, 405);
  assert.equal((await apiCall('POST', `containers/${cid}/exec`)).status, 404);
  assert.equal(await inspectState('dash-web'), 'running');
  assert.equal((await docker(d, ['image', 'inspect', 'busybox'])).code, 0);
});

test('the followed log stream delivers a line printed after the request started', async () => {
  const before = (await dockerOk(d, ['logs', '--tail', '1', 'dash-web'])).trim();
  const n = Number(/line-(\d+)/.exec(before)?.[1] ?? 0);
  assert.ok(n > 0, before);
  const { text, status } = await stream(`containers/${cid}/logs?tail=0&follow=1`, (t) => /line-(\d+)\n/.test(t));
  assert.equal(status, 200);
  const got = Number(/line-(\d+)\n/.exec(text)?.[1] ?? 0);
  assert.ok(got > n, `expected a line after line-${n}, got ${JSON.stringify(text)}`);
  const tail = await apiCall('GET', `containers/${cid}/logs?tail=3`);
  assert.equal(tail.status, 200);
  assert.equal(tail.body.trim().split('\n').length, 3);
});

test('live stats and top answer for the running container', async () => {
  const { text } = await stream(`containers/${cid}/stats`, (t) => t.includes('\n'));
  const s = JSON.parse(text.split('\n')[0]!) as { cpu: string; mem: string };
  assert.match(s.cpu, /^\d+\.\d\d%$/);
  assert.match(s.mem, /B \/ /);
  const top = JSON.parse((await apiCall('GET', `containers/${cid}/top`)).body) as {
    Titles: string[];
    Processes: string[][];
  };
  assert.ok(top.Titles.includes('PID'));
  assert.ok(top.Processes.length >= 1);
});

test('stop and start through the dashboard change the state docker inspect sees; events report them', async () => {
  // The feed's first line says it is live (subscribed): a fixed 200 ms stood in for that.
  const { live, seen } = liveness();
  const events = stream('events', (t) => seen(t) && /"action":"start"/.test(t), 30_000);
  await Promise.race([live, events]);
  const stop = await apiCall('POST', `containers/${cid}/stop`);
  assert.equal(stop.status, 200, stop.body);
  assert.equal(await inspectState('dash-web'), 'exited');
  const row = (JSON.parse((await apiCall('GET', 'containers')).body) as { id: string; status: string }[]).find(
    (x) => x.id === cid,
  );
  assert.match(row!.status, /^Exited \(\d+\)/);
  const start = await apiCall('POST', `containers/${cid}/start`);
  assert.equal(start.status, 200, start.body);
  assert.equal(await inspectState('dash-web'), 'running');
  const { text } = await events;
  assert.match(text, /"live":true/);
  assert.match(text, /"type":"container","action":"stop"/);
  assert.match(text, /"action":"start"/);
});

test("removal shows the daemon's refusal (image in use, container running)", async () => {
  const img = await apiCall('DELETE', 'images/busybox');
  assert.equal(img.status, 409);
  assert.match(JSON.parse(img.body).message, /container \w+ is using its referenced image/);
  const refused = await apiCall('DELETE', `containers/${cid}`);
  assert.equal(refused.status, 409);
  assert.match(JSON.parse(refused.body).message, /running/);
  assert.equal(await inspectState('dash-web'), 'running');
});

test(
  "the page renders the container list and a container's logs in a headless browser",
  { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (apt-get install chromium-headless-shell)` },
  () => {
    const profile = mkdtempSync(join(tmpdir(), 'berth-chromium-'));
    try {
      const r = spawnSync(
        CHROMIUM,
        [
          '--no-sandbox',
          '--disable-gpu',
          `--user-data-dir=${profile}`,
          '--virtual-time-budget=5000',
          '--dump-dom',
          `${base}/?token=${token}#/containers`,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      const main = /<main[^>]*>([\s\S]*)<\/main>/.exec(r.stdout)?.[1] ?? '';
      assert.match(main, /<th>Name<\/th>/, main || r.stdout.slice(0, 2000));
      assert.match(main, />dash-web<\/a>/);
      assert.match(main, /<span class="state running">running<\/span>/);
      assert.match(main, /<button type="button">Stop<\/button>/);
      // the detail view opens on the container's logs, followed live
      const detail = spawnSync(
        CHROMIUM,
        [
          '--no-sandbox',
          '--disable-gpu',
          `--user-data-dir=${profile}`,
          '--virtual-time-budget=5000',
          '--dump-dom',
          `${base}/?token=${token}#/containers/${cid}`,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.match(detail.stdout, /<pre class="mono">[^<]*line-\d+\n/, detail.stdout.slice(0, 3000));
      assert.match(detail.stdout, /<h2><span class="title">dash-web/);
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  },
);

/** How many unix-socket connections the dashboard holds: its connections to the daemon (the browser's are TCP). */
function daemonConnections(pid: number): number {
  const unix = new Set(
    readFileSync('/proc/net/unix', 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[6])
      .filter(Boolean),
  );
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      return !!m && unix.has(m[1]!);
    } catch {
      return false;
    }
  }).length;
}

test('closing a followed log stream closes its connection to the daemon', async () => {
  const pid = dash.pid!;
  // idle keep-alive connections stay pooled; the stream takes one of them or a new one, and must give it up
  const idle = daemonConnections(pid);
  let close = () => {};
  await new Promise<void>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/containers/${cid}/logs?tail=0&follow=1`,
        headers: withToken(),
        agent: false,
      },
      (res) => {
        res.once('data', () => resolve());
      },
    );
    close = () => req.destroy();
    req.on('error', () => {});
    setTimeout(() => reject(new Error('no log line within 10 s')), 10_000).unref();
    req.end();
  });
  const streaming = daemonConnections(pid);
  assert.ok(streaming >= 1, `no daemon connection while streaming (${streaming})`);
  close();
  // the container prints every 0.3 s, so a leaked daemon request would stay busy, never idle
  const released = await eventually(() => daemonConnections(pid) < streaming, 5_000);
  assert.ok(
    released,
    `the dashboard still holds ${daemonConnections(pid)} daemon connections (${streaming} while streaming, ${idle} before)`,
  );
});

test('remove with force through the dashboard, then SIGTERM ends it cleanly with a stream open', async () => {
  const rm = await apiCall('DELETE', `containers/${cid}?force=1`);
  assert.equal(rm.status, 200, rm.body);
  const gone = await docker(d, ['inspect', 'dash-web']);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /No such (object|container)/i);

  const { live, seen } = liveness();
  const open = stream('events', (t) => !seen(t), 30_000);
  await Promise.race([live, open]);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    dash.once('exit', (code, signal) => r({ code, signal })),
  );
  dash.kill('SIGTERM');
  const result = await Promise.race([exited, sleep(10_000).then(() => undefined)]);
  assert.ok(result, `berth dashboard did not exit within 10 s of SIGTERM:\n${dashOut}`);
  assert.deepEqual(result, { code: 0, signal: null });
  await open;
  await assert.rejects(http('GET', '/', withToken()), /ECONNREFUSED/);
});

test('berth dashboard --tls-cert/--tls-key serves HTTPS: the token over TLS only, a Secure cookie', async () => {
  const { makePki } = await import('../src/tls/testing.ts');
  const dir = mkdtempSync(join(tmpdir(), 'berth-dash-tls-'));
  const pki = makePki(join(dir, 'pki'));
  const p = await freePort();
  let out = '';
  const tlsDash = spawn(
    join(REPO, 'bin/berth'),
    ['-H', d.host, 'dashboard', '--listen', `127.0.0.1:${p}`, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  tlsDash.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  tlsDash.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  try {
    const url = await eventually(() => /Berth dashboard: (https:\/\/\S+)/.exec(out)?.[1], 20_000, 50);
    assert.ok(url, `no https URL printed:\n${out}`);
    const curl = (...args: string[]) =>
      spawnSync('curl', ['-s', '--cacert', pki.ca, ...args], { encoding: 'utf8', timeout: 30_000 });
    const exchange = curl('-o', '/dev/null', '-D', '-', url);
    assert.match(exchange.stdout, /^HTTP\/1\.1 303/);
    assert.match(exchange.stdout, /set-cookie: berth_dashboard_\d+=[^;]+; HttpOnly; SameSite=Strict; Path=\/; Secure/i);
    const token = new URL(url).searchParams.get('token')!;
    const overview = curl('-H', `Authorization: Bearer ${token}`, `https://127.0.0.1:${p}/api/overview`);
    assert.match(overview.stdout, /"images"/, overview.stdout + overview.stderr);
    const plain = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${p}/`], {
      encoding: 'utf8',
    });
    assert.notEqual(plain.stdout, '200', 'no page over plain HTTP');
  } finally {
    tlsDash.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  const half = spawnSync(join(REPO, 'bin/berth'), ['-H', d.host, 'dashboard', '--tls-cert', 'x.pem'], {
    encoding: 'utf8',
  });
  assert.equal(half.status, 125);
  assert.match(half.stderr, /--tls-cert and --tls-key go together/);
});
