/**
 * `berth compose` against a private berthd with its own bridge: a project with a built
 * service (health-checked, an alias on a second network), a web service publishing a port on
 * 127.0.0.1 with a named volume and `depends_on: service_healthy`, and a worker to scale.
 * up/ps/logs/exec/run/config, recreation of only the changed service, --scale, down -v, a
 * malformed file changing nothing, attached `up`, and what docker-compose 1.29 makes of it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Terminal } from './pty.ts';
import {
  cleanup,
  dockerOk,
  eventually,
  run,
  REPO,
  startDaemonWithBusybox,
  type Daemon,
  type RunResult,
} from './harness.ts';

const BRIDGE = `bbc${process.pid % 100000}`;
const PORT = 30000 + ((process.pid + 7919) % 20000);
let d: Daemon;
let dir: string;
let P: string;

/** `berth compose ...` run in `cwd` (the project directory unless told). */
function compose(args: string[], cwd = dir, timeoutMs = 180_000): Promise<RunResult & { all: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(join(REPO, 'bin/berth'), ['-H', d.host, 'compose', ...args], {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      resolve({ code: code ?? 1, stdout, stderr, all: stdout + stderr });
    });
    p.stdin.end();
  });
}

const curl = (url: string) => spawnSync('curl', ['-s', '--max-time', '3', url], { encoding: 'utf8' }).stdout ?? '';

function writeProject(webGreeting: string): void {
  writeFileSync(
    join(dir, 'compose.yaml'),
    `
services:
  app:
    build:
      context: ./app
      args: {GREETING: hello}
    networks:
      back: {aliases: [api]}
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/"]
      interval: 1s
  web:
    image: busybox
    command: sh -c 'echo ${webGreeting} > /data/motd; echo web says ${webGreeting}; mkdir -p /www; echo web > /www/index.html; exec httpd -f -p 80 -h /www'
    environment: ["GREETING=\${GREETING:-unset}"]
    ports: ["127.0.0.1:${PORT}:80"]
    stop_grace_period: 1s
    volumes: [data:/data]
    depends_on:
      app: {condition: service_healthy}
    networks: [front, back]
  worker:
    image: busybox
    command: sleep 600
    init: true
    networks: [front]
    x-note: extension fields are ignored
networks:
  front: {}
  back: {}
volumes:
  data: {}
`,
  );
}

before(async () => {
  d = await startDaemonWithBusybox(['--bridge', BRIDGE]);
  // a directory name compose must normalise into the project name
  dir = mkdtempSync(join(tmpdir(), 'Berth.Compose-'));
  P = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '');
  mkdirSync(join(dir, 'app'));
  writeFileSync(
    join(dir, 'app', 'Dockerfile'),
    'FROM busybox\nARG GREETING=hi\nRUN mkdir -p /www && echo "$GREETING from app" > /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
  );
  writeFileSync(join(dir, '.env'), 'GREETING=from-dotenv\n');
  writeProject('first');
});

after(async () => {
  if (d) await compose(['down', '-v', '-t', '0']).catch(() => {});
  await cleanup(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const names = async (filter: string[] = []) =>
  (await dockerOk(d, ['ps', '-a', '--format', '{{.Names}}', ...filter])).split('\n').filter(Boolean).sort();

test('a malformed compose file is refused with its file, key and line, and changes nothing', async () => {
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  const before = [await names(), await dockerOk(d, ['network', 'ls', '-q']), await dockerOk(d, ['volume', 'ls', '-q'])];
  writeFileSync(
    join(bad, 'docker-compose.yml'),
    'services:\n  web:\n    image: busybox\n    volumes: [data:/data]\n    portz: ["80"]\nvolumes: {data: {}}\n',
  );
  let r = await compose(['up', '-d'], bad);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `${join(bad, 'docker-compose.yml')}: line 5: services.web: additional property "portz" is not allowed\n`,
  );
  writeFileSync(
    join(bad, 'docker-compose.yml'),
    'services:\n  a: {image: busybox, depends_on: [b]}\n  b: {image: busybox, depends_on: [a]}\n',
  );
  r = await compose(['up', '-d'], bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /dependency cycle detected: a -> b -> a/);
  writeFileSync(join(bad, 'docker-compose.yml'), 'services:\n  a: {image: busybox, networks: [nope]}\n');
  r = await compose(['up', '-d'], bad);
  assert.match(r.stderr, /service "a" refers to undefined network nope/);
  assert.deepEqual(
    [await names(), await dockerOk(d, ['network', 'ls', '-q']), await dockerOk(d, ['volume', 'ls', '-q'])],
    before,
  );
});

test('up -d builds, creates networks and the volume, and starts in dependency order', async () => {
  const up = await compose(['up', '-d']);
  assert.equal(up.code, 0, up.all);
  for (const line of [
    ` Network ${P}_front  Created`,
    ` Network ${P}_back  Created`,
    ` Volume "${P}_data"  Created`,
    ' Service app  Built',
    ` Container ${P}-app-1  Healthy`,
    ` Container ${P}-web-1  Started`,
  ]) {
    assert.ok(up.stderr.includes(line), `${line}\n${up.all}`);
  }
  // the web container started only after app was healthy
  assert.ok(up.stderr.indexOf(`Container ${P}-app-1  Healthy`) < up.stderr.indexOf(`Container ${P}-web-1  Started`));
  assert.deepEqual(await names(), [`${P}-app-1`, `${P}-web-1`, `${P}-worker-1`]);
  assert.equal(await eventually(() => curl(`http://127.0.0.1:${PORT}/`).trim()), 'web');
});

test('services reach each other by name and by alias, only on the networks they share', async () => {
  assert.equal(
    (await dockerOk(d, ['exec', `${P}-web-1`, 'wget', '-qO-', 'http://api:8080/'])).trim(),
    'hello from app',
  );
  assert.equal(
    (await dockerOk(d, ['exec', `${P}-web-1`, 'wget', '-qO-', 'http://app:8080/'])).trim(),
    'hello from app',
  );
  assert.equal((await dockerOk(d, ['exec', `${P}-app-1`, 'wget', '-qO-', 'http://web/'])).trim(), 'web');
  assert.equal((await dockerOk(d, ['exec', `${P}-worker-1`, 'wget', '-qO-', 'http://web/'])).trim(), 'web');
  // worker is only on front: app (only on back) is not a name it can resolve
  const r = await run(
    '/usr/local/bin/docker',
    ['exec', `${P}-worker-1`, 'wget', '-T', '2', '-qO-', 'http://app:8080/'],
    { env: { ...process.env, DOCKER_HOST: d.host } },
  );
  assert.notEqual(r.code, 0);
});

test('containers, networks and volumes carry docker compose v2 labels', async () => {
  const labels = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .Config.Labels}}', `${P}-web-1`]));
  assert.equal(labels['com.docker.compose.project'], P);
  assert.equal(labels['com.docker.compose.service'], 'web');
  assert.equal(labels['com.docker.compose.container-number'], '1');
  assert.equal(labels['com.docker.compose.oneoff'], 'False');
  assert.equal(labels['com.docker.compose.project.working_dir'], dir);
  assert.equal(labels['com.docker.compose.project.config_files'], join(dir, 'compose.yaml'));
  assert.equal(labels['com.docker.compose.depends_on'], 'app:service_healthy:false');
  assert.match(labels['com.docker.compose.config-hash'], /^[0-9a-f]{64}$/);
  assert.match(labels['com.docker.compose.image'], /^sha256:[0-9a-f]{64}$/);
  assert.ok(labels['com.docker.compose.version']);
  const net = JSON.parse(await dockerOk(d, ['network', 'inspect', '-f', '{{json .Labels}}', `${P}_back`]));
  assert.equal(net['com.docker.compose.project'], P);
  assert.equal(net['com.docker.compose.network'], 'back');
  const vol = JSON.parse(await dockerOk(d, ['volume', 'inspect', '-f', '{{json .Labels}}', `${P}_data`]));
  assert.equal(vol['com.docker.compose.project'], P);
  assert.equal(vol['com.docker.compose.volume'], 'data');
  // .env reached the interpolation
  assert.match(await dockerOk(d, ['inspect', '-f', '{{json .Config.Env}}', `${P}-web-1`]), /GREETING=from-dotenv/);
});

test('ps, logs, exec, run --rm, top, port, images, ls, config', async () => {
  const ps = await compose(['ps']);
  assert.equal(ps.code, 0, ps.all);
  assert.match(ps.stdout, /^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS\n/);
  assert.match(ps.stdout, new RegExp(`${P}-web-1\\s+busybox\\s+".*"\\s+web\\s+.*Up .*127\\.0\\.0\\.1:${PORT}->80/tcp`));
  assert.match(ps.stdout, new RegExp(`${P}-app-1\\s+${P}-app\\s+.*\\(healthy\\)`));
  const json = (await compose(['ps', '--format', 'json'])).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    json.map((c) => c.Service),
    ['app', 'web', 'worker'],
  );
  assert.equal((await compose(['ps', '-q'])).stdout.trim().split('\n').length, 3);
  assert.equal((await compose(['ps', '--services'])).stdout, 'app\nweb\nworker\n');

  const logs = await eventually(async () => {
    const r = await compose(['logs', 'web']);
    return r.stdout.includes('web says first') ? r.stdout : '';
  });
  assert.match(logs, /^web-1 {2}\| web says first$/m);
  assert.equal((await compose(['logs', '--no-log-prefix', 'web'])).stdout.split('\n')[0], 'web says first');

  let r = await compose(['exec', '-T', 'web', 'cat', '/data/motd']);
  assert.equal(r.code, 0, r.all);
  assert.equal(r.stdout, 'first\n');
  r = await compose(['exec', '-T', '-e', 'X=42', '-w', '/data', 'web', 'sh', '-c', 'echo $X $(pwd); exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, '42 /data\n');

  r = await compose(['run', '--rm', '-T', 'worker', 'sh', '-c', 'echo one-off; wget -qO- http://web/']);
  assert.equal(r.code, 0, r.all);
  assert.equal(r.stdout, 'one-off\nweb\n');
  assert.deepEqual(await names(['--filter', 'label=com.docker.compose.oneoff=True']), []);

  r = await compose(['top', 'worker']);
  assert.match(r.stdout, new RegExp(`^${P}-worker-1\\nUID\\s+PID`));
  assert.match(r.stdout, /sleep 600/);
  assert.equal((await compose(['port', 'web', '80'])).stdout, `127.0.0.1:${PORT}\n`);
  assert.match((await compose(['images'])).stdout, new RegExp(`${P}-app-1\\s+${P}-app\\s+latest`));
  assert.match((await compose(['ls'])).stdout, new RegExp(`${P}\\s+running\\(3\\)\\s+${join(dir, 'compose.yaml')}`));

  r = await compose(['config']);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, new RegExp(`^name: ${P}\\nservices:\\n  app:\\n    build:\\n      context: ${dir}/app\\n`));
  assert.match(r.stdout, /published: "\d+"\n\s+host_ip: 127\.0\.0\.1/);
  assert.doesNotMatch(r.stdout, /x-note/);
  assert.equal((await compose(['config', '--services'])).stdout, 'app\nweb\nworker\n');
  assert.equal((await compose(['config', '--volumes'])).stdout, 'data\n');
  r = await compose(['config', '-q']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '');
});

test('up again recreates only the changed service; the volume keeps its data', async () => {
  const id = async (n: string) => (await dockerOk(d, ['inspect', '-f', '{{.Id}}', n])).trim();
  const before = { app: await id(`${P}-app-1`), web: await id(`${P}-web-1`), worker: await id(`${P}-worker-1`) };
  let r = await compose(['up', '-d']);
  assert.equal(r.code, 0, r.all);
  assert.doesNotMatch(r.stderr, /Recreate/);
  assert.deepEqual(
    { app: await id(`${P}-app-1`), web: await id(`${P}-web-1`), worker: await id(`${P}-worker-1`) },
    before,
  );
  writeProject('second');
  r = await compose(['up', '-d']);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stderr, new RegExp(` Container ${P}-web-1  Recreated`));
  assert.doesNotMatch(r.stderr, /app-1 {2}Recreate|worker-1 {2}Recreate/);
  assert.equal(await id(`${P}-app-1`), before.app);
  assert.equal(await id(`${P}-worker-1`), before.worker);
  assert.notEqual(await id(`${P}-web-1`), before.web);
  assert.equal(
    await eventually(
      async () => (await compose(['exec', '-T', 'web', 'cat', '/data/motd'])).stdout.trim() === 'second',
    ),
    true,
  );
  // --force-recreate recreates what did not change
  r = await compose(['up', '-d', '--force-recreate', 'worker']);
  assert.equal(r.code, 0, r.all);
  assert.notEqual(await id(`${P}-worker-1`), before.worker);
});

test('--scale adds and removes replicas', async () => {
  let r = await compose(['up', '-d', '--scale', 'worker=3']);
  assert.equal(r.code, 0, r.all);
  assert.deepEqual(await names(['--filter', 'label=com.docker.compose.service=worker']), [
    `${P}-worker-1`,
    `${P}-worker-2`,
    `${P}-worker-3`,
  ]);
  assert.equal((await dockerOk(d, ['exec', `${P}-worker-3`, 'wget', '-qO-', 'http://web/'])).trim(), 'web');
  r = await compose(['up', '-d', '--scale', 'worker=1']);
  assert.equal(r.code, 0, r.all);
  assert.deepEqual(await names(['--filter', 'label=com.docker.compose.service=worker']), [`${P}-worker-1`]);
});

test('docker-compose 1.29 sees what berth compose made (reported, not required)', async (t) => {
  const r = await run('docker-compose', ['-p', P, '--project-directory', dir, '-f', join(dir, 'compose.yaml'), 'ps'], {
    env: { ...process.env, DOCKER_HOST: d.host },
    timeoutMs: 60_000,
  }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  t.diagnostic(`docker-compose -p ${P} ps (exit ${r.code}):\n${r.stdout}${r.stderr}`);
});

test('berth compose manages what docker-compose 1.29 made', async () => {
  const old = join(dir, 'old');
  mkdirSync(old);
  writeFileSync(
    join(old, 'docker-compose.yml'),
    'version: "3.8"\nservices:\n  svc:\n    image: busybox\n    command: sleep 300\n    init: true\n',
  );
  const env = { ...process.env, DOCKER_HOST: d.host };
  const up = await run(
    'docker-compose',
    ['-p', 'old', '--project-directory', old, '-f', join(old, 'docker-compose.yml'), 'up', '-d'],
    { env, timeoutMs: 60_000 },
  );
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const ps = await compose(['-p', 'old', 'ps'], old);
  assert.match(ps.stdout, /^old_svc_1\s+busybox\s+"sleep 300"\s+svc\s+/m);
  const down = await compose(['-p', 'old', 'down', '-t', '0'], old);
  assert.equal(down.code, 0, down.all);
  assert.deepEqual(await names(['--filter', 'label=com.docker.compose.project=old']), []);
  assert.equal((await dockerOk(d, ['network', 'ls', '-q', '--filter', 'name=old_default'])).trim(), '');
});

test('stop, start, restart, pause, unpause, kill and rm', async () => {
  let r = await compose(['stop', 'worker']);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stderr, new RegExp(` Container ${P}-worker-1  Stopped`));
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Running}}', `${P}-worker-1`])).trim(), 'false');
  r = await compose(['start', 'worker']);
  assert.equal(r.code, 0, r.all);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Running}}', `${P}-worker-1`])).trim(), 'true');
  assert.equal((await compose(['pause', 'worker'])).code, 0);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Status}}', `${P}-worker-1`])).trim(), 'paused');
  assert.equal((await compose(['unpause', 'worker'])).code, 0);
  assert.equal((await compose(['restart', '-t', '0', 'worker'])).code, 0);
  assert.equal((await compose(['kill', 'worker'])).code, 0);
  r = await compose(['rm', '-f', 'worker']);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stderr, new RegExp(` Container ${P}-worker-1  Removed`));
  assert.deepEqual(await names(['--filter', 'label=com.docker.compose.service=worker']), []);
});

test('exec gives a TTY when stdin is a terminal, none with -T', async () => {
  const env = { ...process.env, PATH: process.env.PATH };
  let t = new Terminal(
    `cd '${dir}' && '${join(REPO, 'bin/berth')}' -H '${d.host}' compose exec web sh -c 'tty; exit 7'`,
    env,
  );
  await t.expect(/\/dev\/pts\/\d+/);
  assert.equal(await t.wait(), 7);
  t = new Terminal(`cd '${dir}' && '${join(REPO, 'bin/berth')}' -H '${d.host}' compose exec -T web tty`, env);
  await t.expect(/not a tty/);
  assert.equal(await t.wait(), 1);
});

test('down -v removes the containers, the networks and the volume (by project name alone, from elsewhere)', async () => {
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere);
  const r = await compose(['-p', P, 'down', '-v', '-t', '1'], elsewhere);
  assert.equal(r.code, 0, r.all);
  assert.deepEqual(await names(), []);
  assert.equal(
    (await dockerOk(d, ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${P}`])).trim(),
    '',
  );
  assert.equal((await dockerOk(d, ['volume', 'ls', '-q'])).trim(), '');
});

test("up without -d prints the services' output with their prefixes until they end", async () => {
  const fg = join(dir, 'fg');
  mkdirSync(fg);
  writeFileSync(
    join(fg, 'docker-compose.yaml'),
    'services:\n  hello:\n    image: busybox\n    command: sh -c "echo hello from fg; sleep 1; echo bye"\n',
  );
  const r = await compose(['-p', 'fg', 'up'], fg, 60_000);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /^Attaching to hello-1$/m);
  assert.match(r.stdout, /^hello-1 {2}\| hello from fg\nhello-1 {2}\| bye$/m);
  assert.match(r.stdout, /^hello-1 exited with code 0$/m);
  assert.equal((await compose(['-p', 'fg', 'down'], fg)).code, 0);
});

test('attached up stops the project on Ctrl-C', async () => {
  const fg = join(dir, 'fg2');
  mkdirSync(fg);
  writeFileSync(
    join(fg, 'compose.yaml'),
    'services:\n  ticker:\n    image: busybox\n    command: sh -c \'trap "echo got TERM; exit 0" TERM; while true; do echo tick; sleep 0.3; done\'\n',
  );
  const t = new Terminal(`cd '${fg}' && '${join(REPO, 'bin/berth')}' -H '${d.host}' compose -p fg2 up`, process.env);
  // coloured on a terminal: the prefix ends with a colour reset
  await t.expect(/ticker-1 {2}\| (?:\x1b\[0m)?tick/, 30_000);
  t.send('\x03');
  await t.expect(/Gracefully stopping/);
  await t.expect(/ticker-1 exited with code 0/);
  await t.wait(30_000);
  assert.equal((await dockerOk(d, ['inspect', '-f', '{{.State.Running}}', 'fg2-ticker-1'])).trim(), 'false');
  assert.equal((await compose(['-p', 'fg2', 'down'], fg)).code, 0);
});
