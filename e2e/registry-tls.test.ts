/**
 * berth-registry over HTTPS (`--tls-cert/--tls-key`, `--tls-client-ca`) and Berth's registry
 * client trusting it the way dockerd does: the registry's CA in `<certs.d>/<host:port>/ca.crt`,
 * a client certificate as `client.cert`/`client.key` beside it, or a mirror's TLS in a
 * hosts.toml (`ca`, `client`, `skip_verify`). `docker login/push/pull` go through a berthd whose
 * `--registry-certs-dir` is a temporary directory (nothing is written to /etc). Basic auth over
 * plain HTTP off loopback is refused at start. Loopback only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { makePki, type Pki } from '../src/tls/testing.ts';
import {
  cleanup,
  docker,
  dockerOk,
  REPO,
  startDaemonWithBusybox,
  startRegistry,
  type Daemon,
  type RegistryProcess,
} from './harness.ts';

let d: Daemon;
let scratch: string;
let pki: Pki;
let certsD: string;
const servers: RegistryProcess[] = [];

/** A berth-registry with TLS on a free loopback port; its host:port once it listens. */
async function startTlsRegistry(name: string, extra: string[] = []): Promise<string> {
  const tls = ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey];
  const reg = await startRegistry(join(scratch, name), [...tls, ...extra]);
  servers.push(reg);
  return reg.host;
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
  d = await startDaemonWithBusybox(['--registry-certs-dir', certsD]);
});

after(async () => {
  await cleanup(d);
  // The registries' roots are in the scratch directory: each must be gone before it is removed
  // (a registry still writing made the removal fail and left the directory behind).
  for (const s of servers) s.proc.kill('SIGTERM');
  await Promise.all(servers.map((s) => s.exited));
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

test('a hosts.toml mirror over HTTPS: its ca and client are used for it, skip_verify leaves it unchecked', async () => {
  const host = await startTlsRegistry('mirror', ['--tls-client-ca', pki.ca]);
  trust(host, pki.ca, true);
  await dockerOk(d, ['tag', 'busybox', `${host}/pause:3.9`]);
  await dockerOk(d, ['push', `${host}/pause:3.9`]);
  await dockerOk(d, ['rmi', `${host}/pause:3.9`]);
  // From here on only the hosts file says how to reach the mirror.
  rmSync(join(certsD, host), { recursive: true, force: true });
  const dir = join(certsD, 'registry.k8s.io');
  mkdirSync(dir, { recursive: true });
  copyFileSync(pki.ca, join(dir, 'mirror-ca.pem'));
  copyFileSync(pki.otherCa, join(dir, 'other-ca.pem'));
  copyFileSync(pki.clientCert, join(dir, 'client.pem'));
  copyFileSync(pki.clientKey, join(dir, 'client-key.pem'));
  // The registry itself is a port nothing listens on: nothing leaves the machine when the mirror fails.
  const hostsToml = (tls: string) =>
    writeFileSync(
      join(dir, 'hosts.toml'),
      `server = "http://127.0.0.1:9"\n[host."https://${host}"]\n  capabilities = ["pull", "resolve"]\n${tls}`,
    );
  try {
    hostsToml('  ca = "mirror-ca.pem"\n  client = [["client.pem", "client-key.pem"]]\n');
    assert.match(await dockerOk(d, ['pull', 'registry.k8s.io/pause:3.9']), /Status: Downloaded newer image/);
    await dockerOk(d, ['rmi', 'registry.k8s.io/pause:3.9']);
    // A CA that did not sign the mirror's certificate: checked, and refused.
    hostsToml('  ca = "other-ca.pem"\n  client = [["client.pem", "client-key.pem"]]\n');
    const untrusted = await docker(d, ['pull', 'registry.k8s.io/pause:3.9']);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /certificate|unable to verify/i);
    hostsToml('  skip_verify = true\n  client = [["client.pem", "client-key.pem"]]\n');
    await dockerOk(d, ['pull', 'registry.k8s.io/pause:3.9']);
    await dockerOk(d, ['rmi', 'registry.k8s.io/pause:3.9']);
    // Without the client certificate the mirror refuses the handshake.
    hostsToml('  skip_verify = true\n');
    assert.equal((await docker(d, ['pull', 'registry.k8s.io/pause:3.9'])).code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
