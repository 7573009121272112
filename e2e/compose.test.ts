/**
 * Compose against berthd: Debian's docker-compose 1.29 (Python, docker-py) brings up a project
 * of two services on its own network, with a named volume, a published port on loopback, a
 * health check and DNS between the services; recreates a changed service; takes it all down.
 *
 * What it exercises beyond the docker CLI: compose disconnects and reconnects each container
 * from its network to give it aliases, renames a container before recreating it, and reads
 * the image's `ContainerConfig`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, docker, dockerOk, eventually, run, startDaemonWithBusybox, type Daemon } from './harness.ts';

const BRIDGE = `bcp${process.pid % 100000}`;
const PORT = 30000 + (process.pid % 20000);
let d: Daemon;
let dir: string;

const compose = (args: string[]) =>
  run('docker-compose', ['-p', 'demo', ...args], {
    env: { ...process.env, DOCKER_HOST: d.host, COMPOSE_INTERACTIVE_NO_CLI: '1' },
    timeoutMs: 120_000,
  }).then((r) => {
    // compose writes its progress to stderr; the tests read both.
    return { ...r, all: r.stdout + r.stderr };
  });
/** compose in the project directory (it reads docker-compose.yml from its working directory). */
const composeIn = (args: string[]) =>
  compose(['--project-directory', dir, '-f', join(dir, 'docker-compose.yml'), ...args]);

const curl = (url: string) => spawnSync('curl', ['-s', '--max-time', '3', url], { encoding: 'utf8' });

function writeProject(clientGreeting: string): void {
  writeFileSync(
    join(dir, 'docker-compose.yml'),
    `version: "3.8"
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /www && cat /data/motd > /www/index.html 2>/dev/null || echo hello from web > /www/index.html; exec httpd -f -p 8080 -h /www'
    ports: ["127.0.0.1:${PORT}:8080"]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/"]
      interval: 1s
  client:
    image: busybox
    command: sh -c 'until wget -qO- http://web:8080/; do sleep 0.2; done; echo ${clientGreeting}; exec sleep 600'
    depends_on: [web]
    init: true
volumes:
  data: {}
`,
  );
}

before(async () => {
  d = await startDaemonWithBusybox(['--bridge', BRIDGE]);
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-'));
});
after(async () => {
  if (d) await composeIn(['down', '-v', '--timeout', '0']).catch(() => {});
  await cleanup(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('docker-compose up: services run, reach each other by name, publish their port, get healthy', async () => {
  writeProject('first');
  const up = await composeIn(['up', '-d']);
  assert.equal(up.code, 0, up.all);
  assert.match(up.all, /Creating network "demo_default"/);
  assert.match(up.all, /Creating volume "demo_data"/);
  assert.equal(await eventually(() => (curl(`http://127.0.0.1:${PORT}/`).stdout ?? '').trim()), 'hello from web');
  // The client found the web server by its service name.
  const logs = await eventually(async () =>
    (await composeIn(['logs', 'client'])).stdout.includes('first') ? (await composeIn(['logs', 'client'])).stdout : '',
  );
  assert.match(logs, /hello from web[\s\S]*first/);
  const ps = await composeIn(['ps']);
  assert.match(ps.stdout, new RegExp(`demo_web_1 .* Up .*127\\.0\\.0\\.1:${PORT}->8080/tcp`));
  assert.match(ps.stdout, /demo_client_1 .* Up/);
  assert.equal(
    await eventually(
      async () => (await dockerOk(d, ['inspect', '-f', '{{.State.Health.Status}}', 'demo_web_1'])).trim() === 'healthy',
      15_000,
    ),
    true,
  );
  // Both in the project's network under their service names, as compose asked.
  const nets = JSON.parse(await dockerOk(d, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'demo_web_1']));
  assert.deepEqual(Object.keys(nets), ['demo_default']);
  assert.ok(nets.demo_default.Aliases.includes('web'));
  assert.equal(
    (await dockerOk(d, ['inspect', '-f', '{{.HostConfig.NetworkMode}}', 'demo_web_1'])).trim(),
    'demo_default',
  );
});

test('docker-compose up again recreates a changed service and keeps the volume', async () => {
  await dockerOk(d, ['exec', 'demo_web_1', 'sh', '-c', 'echo kept in the volume > /data/motd']);
  writeProject('second');
  const up = await composeIn(['up', '-d']);
  assert.equal(up.code, 0, up.all);
  assert.match(up.all, /Recreating demo_client_1/);
  const logs = await eventually(async () => {
    const out = (await composeIn(['logs', 'client'])).stdout;
    return out.includes('second') ? out : '';
  });
  assert.match(logs, /second/);
  // The web service was recreated too (its dependency changed nothing, but compose decides):
  // either way, what the volume holds survives.
  await dockerOk(d, ['restart', '-t', '0', 'demo_web_1']);
  assert.equal(await eventually(() => (curl(`http://127.0.0.1:${PORT}/`).stdout ?? '').trim()), 'kept in the volume');
  const names = (await dockerOk(d, ['ps', '-a', '--format', '{{.Names}}'])).trim().split('\n').sort();
  assert.deepEqual(names, ['demo_client_1', 'demo_web_1'], 'the renamed old container is gone');
});

test('docker-compose down -v removes the containers, the network and the volume', async () => {
  const down = await composeIn(['down', '-v', '--timeout', '0']);
  assert.equal(down.code, 0, down.all);
  assert.equal((await dockerOk(d, ['ps', '-aq'])).trim(), '');
  assert.doesNotMatch(await dockerOk(d, ['network', 'ls', '--format', '{{.Name}}']), /demo_default/);
  assert.doesNotMatch(await dockerOk(d, ['volume', 'ls', '--format', '{{.Name}}']), /demo_data/);
  assert.notEqual(curl(`http://127.0.0.1:${PORT}/`).status, 0, 'nothing listens any more');
  assert.equal((await docker(d, ['inspect', 'demo_web_1'])).code, 1);
});
