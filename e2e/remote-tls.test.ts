/**
 * The Engine API over TCP with mutual TLS, as dockerd serves it: berthd started with
 * `--tlsverify --tlscacert --tlscert --tlskey -H tcp://127.0.0.1:PORT`, driven by the stock
 * docker CLI (flags, DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, a docker context), by `berth` and
 * `berth compose`; clients without a certificate, with one of another CA or an expired one are
 * refused at the handshake; plain TCP is refused off loopback and warned about on it.
 * Certificates are throwaway ones made by openssl in a temporary directory; every address is
 * loopback (the one non-loopback address is only ever refused, never bound).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki, type Pki } from '../src/tls/testing.ts';
import {
  startDaemon,
  cleanup,
  run,
  DOCKER,
  REPO,
  startDaemonWithBusybox,
  freePort,
  type Daemon,
  type RunResult,
} from './harness.ts';

let d: Daemon;
let dir: string;
let pki: Pki;
let port: number;
let tcp: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-tls-e2e-'));
  pki = makePki(join(dir, 'pki'));
  port = await freePort();
  tcp = `tcp://127.0.0.1:${port}`;
  d = await startDaemonWithBusybox([
    '-H',
    tcp,
    '--tlsverify',
    '--tlscacert',
    pki.ca,
    '--tlscert',
    pki.serverCert,
    '--tlskey',
    pki.serverKey,
  ]);
});

after(async () => {
  await cleanup(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The docker CLI with only what the test gives it: no DOCKER_HOST of the harness, a private config dir. */
function dockerCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: join(dir, 'docker-config') };
  return run(DOCKER, args, { env: { ...base, ...env }, timeoutMs: 120_000 });
}

function berthCli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<RunResult> {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
  return run(join(REPO, 'bin/berth'), args, { env: { ...base, ...env }, input, timeoutMs: 180_000 });
}

const mutual = () => ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.clientCert, '--tlskey', pki.clientKey];

test('the stock docker CLI drives berthd over mutual TLS with its --tlsverify flags, streams included', async () => {
  const v = await dockerCli([...mutual(), '-H', tcp, 'version', '--format', '{{.Server.Platform.Name}}']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /Berth Engine/);
  // run --rm attaches (a hijacked connection) and waits: both over TLS
  const r = await dockerCli([...mutual(), '-H', tcp, 'run', '--rm', 'busybox', 'echo', 'over tls']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'over tls\n');
  // stdin too: the CLI ends it with TLS close_notify, after which the output must still flow
  const i = await run(DOCKER, [...mutual(), '-H', tcp, 'run', '--rm', '-i', 'busybox', 'cat'], {
    input: 'piped\n',
    env: { PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: join(dir, 'docker-config') },
  });
  assert.equal(i.code, 0, i.stderr);
  assert.equal(i.stdout, 'piped\n');
});

test('DOCKER_TLS_VERIFY with DOCKER_CERT_PATH, and a docker context with ca/cert/key, work unchanged', async () => {
  const env = { DOCKER_HOST: tcp, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: pki.dir };
  const ps = await dockerCli(['ps', '-a', '--format', '{{.ID}}'], env);
  assert.equal(ps.code, 0, ps.stderr);
  const create = await dockerCli([
    'context',
    'create',
    'berth-tls',
    '--docker',
    `host=${tcp},ca=${pki.ca},cert=${pki.clientCert},key=${pki.clientKey}`,
  ]);
  assert.equal(create.code, 0, create.stderr);
  const info = await dockerCli(['--context', 'berth-tls', 'info', '--format', '{{.OperatingSystem}} {{.Name}}']);
  assert.equal(info.code, 0, info.stderr);
  assert.ok(info.stdout.trim().length > 0);
});

test('berth uses the docker context that docker context create made: by --context, DOCKER_CONTEXT and context use', async () => {
  const config = { DOCKER_CONFIG: join(dir, 'berth-contexts') };
  const create = await dockerCli(
    [
      'context',
      'create',
      'berth-ctx',
      '--docker',
      `host=${tcp},ca=${pki.ca},cert=${pki.clientCert},key=${pki.clientKey}`,
    ],
    config,
  );
  assert.equal(create.code, 0, create.stderr);
  const version = ['version', '--format', '{{.Server.Platform.Name}}'];
  // no -H, no TLS flags: everything comes from the context
  const byFlag = await berthCli(['--context', 'berth-ctx', ...version], config);
  assert.equal(byFlag.code, 0, byFlag.stderr);
  assert.match(byFlag.stdout, /Berth Engine/);
  const byEnv = await berthCli(version, { ...config, DOCKER_CONTEXT: 'berth-ctx' });
  assert.equal(byEnv.code, 0, byEnv.stderr);
  assert.equal(byEnv.stdout, byFlag.stdout);
  assert.equal((await dockerCli(['context', 'use', 'berth-ctx'], config)).code, 0);
  const run = await berthCli(['run', '--rm', 'busybox', 'echo', 'through the context'], config);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'through the context\n');
  // as docker: an unknown context and -H with --context are refused before anything is sent
  const unknown = await berthCli(['--context', 'nosuch', 'ps'], config);
  const dockerUnknown = await dockerCli(['--context', 'nosuch', 'ps'], config);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, dockerUnknown.stderr);
  const both = await berthCli(['--context', 'berth-ctx', '-H', tcp, 'ps'], config);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /conflicting options: cannot specify both --host and --context/);
});

test('clients without a certificate, with one of another CA, or an expired one are refused at the handshake', async () => {
  const cases: Array<[string, string[]]> = [
    ['no certificate', ['--tlsverify', '--tlscacert', pki.ca]],
    [
      'another CA',
      ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.otherClientCert, '--tlskey', pki.otherClientKey],
    ],
    [
      'expired',
      ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.expiredClientCert, '--tlskey', pki.expiredClientKey],
    ],
  ];
  for (const [what, flags] of cases) {
    const r = await dockerCli([...flags, '-H', tcp, 'ps']);
    assert.notEqual(r.code, 0, `docker with ${what} must fail`);
    assert.doesNotMatch(r.stdout, /CONTAINER ID/, what);
    const b = await berthCli([...flags, '-H', tcp, 'ps']);
    assert.notEqual(b.code, 0, `berth with ${what} must fail`);
    assert.match(
      b.stderr,
      /error during connect: https:\/\/127\.0\.0\.1:\d+: the server probably has client authentication/,
      what,
    );
  }
  // At the TLS layer itself: the daemon answers nothing, not even an HTTP error.
  for (const cert of [undefined, pki.otherClientCert, pki.expiredClientCert]) {
    const got = await new Promise<string>((resolve) => {
      const key = cert === pki.otherClientCert ? pki.otherClientKey : pki.expiredClientKey;
      const s = connect({
        host: '127.0.0.1',
        port,
        ca: readFileSync(pki.ca),
        ...(cert ? { cert: readFileSync(cert), key: readFileSync(key) } : {}),
      });
      let data = '';
      s.on('secureConnect', () => s.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('data', (c) => (data += c));
      s.on('error', () => resolve(data));
      s.on('close', () => resolve(data));
    });
    assert.equal(got, '', 'no HTTP answer to a refused client');
  }
  assert.match(d.log(), /TLS handshake error from 127\.0\.0\.1:\d+: client didn't provide a certificate/);
  assert.match(d.log(), /TLS handshake error: certificate signed by unknown authority/);
  assert.match(d.log(), /TLS handshake error: certificate has expired or is not yet valid/);
  // and a client that does not speak TLS gets no API either
  const plain = await dockerCli(['-H', tcp, 'ps']);
  assert.notEqual(plain.code, 0);
});

test('berth takes the same flags and environment, and refuses a missing CA file as docker does', async () => {
  const ps = await berthCli([...mutual(), '-H', tcp, 'ps', '-a']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /CONTAINER ID/);
  const env = await berthCli(['version', '--format', '{{.Server.Version}}'], {
    DOCKER_HOST: tcp,
    DOCKER_TLS_VERIFY: '1',
    DOCKER_CERT_PATH: pki.dir,
  });
  assert.equal(env.code, 0, env.stderr);
  const run1 = await berthCli([...mutual(), '-H', tcp, 'run', '--rm', 'busybox', 'echo', 'berth over tls']);
  assert.equal(run1.code, 0, run1.stderr);
  assert.equal(run1.stdout, 'berth over tls\n');
  const missing = await berthCli(['--tlsverify', '-H', tcp, 'ps']);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /unable to resolve docker endpoint: open .*\.docker\/ca\.pem: no such file or directory/,
  );
  const docker = await dockerCli(['--tlsverify', '-H', tcp, 'ps']);
  assert.match(docker.stderr, /unable to resolve docker endpoint: open .*ca\.pem: no such file or directory/);
  // --tls alone encrypts without checking the daemon's certificate: a CA the daemon is not
  // signed by is then no obstacle, as with docker --tls
  const loose = await berthCli([
    '--tls',
    '--tlscacert',
    pki.otherCa,
    '--tlscert',
    pki.clientCert,
    '--tlskey',
    pki.clientKey,
    '-H',
    tcp,
    'ps',
  ]);
  assert.equal(loose.code, 0, loose.stderr);
  const strict = await berthCli([
    '--tlsverify',
    '--tlscacert',
    pki.otherCa,
    '--tlscert',
    pki.clientCert,
    '--tlskey',
    pki.clientKey,
    '-H',
    tcp,
    'ps',
  ]);
  assert.notEqual(strict.code, 0);
  assert.match(strict.stderr, /error during connect: https:\/\/127\.0\.0\.1:\d+: tls: /);
});

test('berth compose brings a project up and down over TLS', async () => {
  const project = join(dir, 'tlsproj');
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, 'compose.yaml'),
    'services:\n  app:\n    image: busybox\n    command: ["sleep", "300"]\n',
  );
  const flags = [...mutual(), '-H', tcp, 'compose', '--project-directory', project, '-p', 'tlsproj'];
  const up = await berthCli([...flags, 'up', '-d']);
  assert.equal(up.code, 0, up.stderr);
  const ps = await berthCli([...flags, 'ps']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /tlsproj-app-1/);
  const down = await berthCli([...flags, 'down', '-t', '1']);
  assert.equal(down.code, 0, down.stderr);
});

test('plain TCP off loopback is refused at start with nothing bound; on loopback it is warned about', async () => {
  // 0.0.0.0 is only ever refused here: berthd exits before it binds anything.
  const refused = spawnSync(
    join(REPO, 'bin/berthd'),
    [
      '--data-root',
      join(dir, 'r-data'),
      '--exec-root',
      join(dir, 'r-run'),
      '--pidfile',
      join(dir, 'r.pid'),
      '-H',
      'tcp://0.0.0.0:2375',
      '--bridge',
      'none',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /refusing to listen on tcp:\/\/0\.0\.0\.0:2375: binding to an IP address without --tlsverify/,
  );
  assert.match(refused.stderr, /explicitly specifying '--tls=false' or '--tlsverify=false'/);
  assert.equal(existsSync(join(dir, 'r-data')), false, 'nothing was made');

  const p = await freePort();
  const plain = await startDaemon(['-H', `tcp://127.0.0.1:${p}`]);
  try {
    assert.match(
      plain.log(),
      /Binding to IP address without --tlsverify is insecure and gives root access on this machine/,
    );
    const info = await dockerCli(['-H', `tcp://127.0.0.1:${p}`, 'info']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stderr + info.stdout, /API is accessible on http:\/\/127\.0\.0\.1:\d+ without encryption/);
  } finally {
    await cleanup(plain);
  }
});

test('berthd refuses certificates it cannot use, in the words dockerd uses', () => {
  const r = spawnSync(
    join(REPO, 'bin/berthd'),
    ['--data-root', join(dir, 'c-data'), '--exec-root', join(dir, 'c-run'), '--pidfile', join(dir, 'c.pid')].concat([
      '-H',
      `tcp://127.0.0.1:${port + 1}`,
      '--tlsverify',
      '--tlscert',
      pki.serverCert,
      '--tlskey',
      pki.serverKey,
    ]),
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: dir, DOCKER_CERT_PATH: '', DOCKER_CONFIG: '' } },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /invalid TLS configuration: open .*\.docker\/ca\.pem: no such file or directory/);
});
