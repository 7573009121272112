/**
 * berth-registry over HTTPS (`--tls-cert/--tls-key`, `--tls-client-ca`) and Berth's registry
 * client trusting it the way dockerd does: the registry's CA in `<certs.d>/<host:port>/ca.crt`,
 * a client certificate as `client.cert`/`client.key` beside it. `docker login/push/pull` go
 * through a berthd whose `--registry-certs-dir` is a temporary directory (nothing is written to
 * /etc). Basic auth over plain HTTP off loopback is refused at start. Loopback only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { makePki, type Pki } from '../src/tls/testing.ts';
import { startDaemon, cleanup, docker, dockerOk, bootstrapBusybox, sleep, REPO, type Daemon } from './harness.ts';

let d: Daemon;
let scratch: string;
let pki: Pki;
let certsD: string;
const servers: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A berth-registry with TLS on a free loopback port; up once curl gets any HTTPS answer from it. */
async function startTlsRegistry(name: string, extra: string[] = []): Promise<string> {
  const host = `127.0.0.1:${await freePort()}`;
  const args = [
    '--listen',
    host,
    '--root',
    join(scratch, name),
    '--tls-cert',
    pki.serverCert,
    '--tls-key',
    pki.serverKey,
  ];
  servers.push(spawn(join(REPO, 'bin/berth-registry'), [...args, ...extra], { stdio: 'ignore' }));
  for (let i = 0; i < 200; i++) {
    const r = spawnSync(
      'curl',
      [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--cacert',
        pki.ca,
        '--cert',
        pki.clientCert,
        '--key',
        pki.clientKey,
        `https://${host}/v2/`,
      ],
      { encoding: 'utf8' },
    );
    if (r.stdout === '200' || r.stdout === '401') return host;
    await sleep(50);
  }
  throw new Error('berth-registry did not come up over TLS');
}

/** certs.d entry for `host`: its CA, and a client certificate when asked. */
function trust(host: string, ca: string, client = false): void {
  const dir = join(certsD, host);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(ca, join(dir, 'ca.crt'));
  if (client) {
    copyFileSync(pki.clientCert, join(dir, 'client.cert'));
    copyFileSync(pki.clientKey, join(dir, 'client.key'));
  }
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-e2e-registry-tls-'));
  process.env.DOCKER_CONFIG = join(scratch, 'docker');
  pki = makePki(join(scratch, 'pki'));
  certsD = join(scratch, 'certs.d');
  mkdirSync(certsD);
  d = await startDaemon(['--registry-certs-dir', certsD]);
  await bootstrapBusybox(d);
});

after(async () => {
  if (d) await cleanup(d);
  for (const s of servers) s.kill('SIGTERM');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('docker login, push and pull through berthd to an HTTPS berth-registry whose CA is in certs.d', async () => {
  const htpasswd = join(scratch, 'htpasswd');
  writeFileSync(htpasswd, `tester:${bcrypt.hashSync('secret', 5).replace(/^\$2[ab]\$/, '$2y$')}\n`);
  const host = await startTlsRegistry('authed', ['--htpasswd', htpasswd]);
  trust(host, pki.ca);
  const curl = spawnSync('curl', ['-s', '--cacert', pki.ca, '-u', 'tester:secret', `https://${host}/v2/_catalog`], {
    encoding: 'utf8',
  });
  assert.equal(curl.stdout.trim(), '{"repositories":[]}');
  const bad = await docker(d, ['login', '-u', 'tester', '--password-stdin', host], { input: 'wrong\n' });
  assert.match(bad.stderr, new RegExp(`login attempt to https://${host}/v2/ failed with status: 401 Unauthorized`));
  const ok = await docker(d, ['login', '-u', 'tester', '--password-stdin', host], { input: 'secret\n' });
  assert.equal(ok.code, 0, ok.stderr);
  await dockerOk(d, ['tag', 'busybox', `${host}/tls/busybox:1`]);
  assert.match(await dockerOk(d, ['push', `${host}/tls/busybox:1`]), /^1: digest: sha256:/m);
  await dockerOk(d, ['rmi', `${host}/tls/busybox:1`]);
  assert.match(await dockerOk(d, ['pull', `${host}/tls/busybox:1`]), /Status: Downloaded newer image/);

  // The CA is read at every pull: one that did not sign the registry's certificate is refused.
  trust(host, pki.otherCa);
  await dockerOk(d, ['rmi', `${host}/tls/busybox:1`]);
  const untrusted = await docker(d, ['pull', `${host}/tls/busybox:1`]);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /certificate|self.signed|unable to verify/i);
  trust(host, pki.ca);
  await dockerOk(d, ['pull', `${host}/tls/busybox:1`]);
  await dockerOk(d, ['logout', host]);
});

test('a registry that asks for client certificates gets the one in certs.d, and refuses a daemon without it', async () => {
  const host = await startTlsRegistry('mutual', ['--tls-client-ca', pki.ca]);
  trust(host, pki.ca, true);
  await dockerOk(d, ['tag', 'busybox', `${host}/mtls/busybox:1`]);
  assert.match(await dockerOk(d, ['push', `${host}/mtls/busybox:1`]), /^1: digest: sha256:/m);
  await dockerOk(d, ['rmi', `${host}/mtls/busybox:1`]);
  await dockerOk(d, ['pull', `${host}/mtls/busybox:1`]);
  trust(host, pki.ca, false);
  await dockerOk(d, ['rmi', `${host}/mtls/busybox:1`]);
  const refused = await docker(d, ['pull', `${host}/mtls/busybox:1`]);
  assert.equal(refused.code, 1, 'no client certificate, no pull');
});

test('as dockerd, a loopback registry without a certs.d entry is spoken to over TLS without checking it', async () => {
  const host = await startTlsRegistry('loopback');
  await dockerOk(d, ['tag', 'busybox', `${host}/loose/busybox:1`]);
  assert.match(await dockerOk(d, ['push', `${host}/loose/busybox:1`]), /^1: digest: sha256:/m);
});

test('berth-registry refuses Basic auth over plain HTTP on a non-loopback address at start', () => {
  const r = spawnSync(
    join(REPO, 'bin/berth-registry'),
    ['--listen', '0.0.0.0:0', '--root', join(scratch, 'never'), '--htpasswd', join(scratch, 'htpasswd')],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 125);
  assert.match(r.stderr, /refusing Basic auth over plain HTTP on 0\.0\.0\.0:0: passwords would cross the network/);
});
