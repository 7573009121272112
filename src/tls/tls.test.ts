import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileProblems, httpServer, loadClientTls, loadServerTls, registryCerts } from './index.ts';
import { makePki, type Pki } from './testing.ts';

let dir: string;
let pki: Pki;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  pki = makePki(join(dir, 'pki'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('a server that is given a CA asks every client for a certificate signed by it', () => {
  const s = loadServerTls({ cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca });
  assert.equal(s.verifiesClients, true);
  assert.equal(s.options.requestCert, true);
  assert.equal(s.options.rejectUnauthorized, true);
  assert.equal(s.options.minVersion, 'TLSv1.2');
  assert.match(s.certificate.subject, /CN=localhost/);
  const plain = loadServerTls({ cert: pki.serverCert, key: pki.serverKey });
  assert.equal(plain.verifiesClients, false);
  assert.equal(plain.options.requestCert, false);
});

test("bad certificate files are refused at load with dockerd's words, naming the files", () => {
  assert.throws(
    () => loadServerTls({ cert: pki.serverCert, key: pki.clientKey }),
    /could not load X509 key pair \(cert: ".*server-cert.pem", key: ".*key.pem"\): private key does not match public key/,
  );
  assert.throws(
    () => loadServerTls({ cert: join(dir, 'nope.pem'), key: pki.serverKey }),
    /could not load X509 key pair .*: open .*nope.pem: no such file or directory/,
  );
  assert.throws(
    () => loadServerTls({ cert: pki.serverCert, key: pki.serverKey, clientCa: join(dir, 'missing-ca.pem') }),
    /^InvalidArgumentError: open .*missing-ca.pem: no such file or directory$/m,
  );
  writeFileSync(join(dir, 'empty-ca.pem'), 'not a certificate\n');
  assert.throws(
    () => loadServerTls({ cert: pki.serverCert, key: pki.serverKey, clientCa: join(dir, 'empty-ca.pem') }),
    /failed to append certificates from PEM file: ".*empty-ca.pem"/,
  );
  const enc = join(dir, 'enc-key.pem');
  const r = spawnSync('openssl', ['pkey', '-in', pki.serverKey, '-aes256', '-passout', 'pass:x', '-out', enc]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.throws(() => loadServerTls({ cert: pki.serverCert, key: enc }), /private key is encrypted/);
  assert.throws(() => loadClientTls({ cert: pki.clientCert, verify: true }), /a certificate without a key/);
});

test('a client that does not verify still reads its CA file, as docker does, but trusts any server', () => {
  assert.throws(() => loadClientTls({ ca: join(dir, 'none.pem'), verify: false }), /open .*none.pem: no such file/);
  const c = loadClientTls({ ca: pki.ca, verify: false });
  assert.equal(c.options.rejectUnauthorized, false);
  assert.equal(c.options.ca, undefined);
  const v = loadClientTls({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, verify: true });
  assert.equal(v.options.rejectUnauthorized, true);
  assert.equal(v.options.ca?.length, 1);
});

/** One GET over TLS with the given client files: the status, or the error that ended it. */
function get(port: number, files: { cert?: string; key?: string; ca?: string }): Promise<number | string> {
  const c = loadClientTls({ ca: files.ca ?? pki.ca, cert: files.cert, key: files.key, verify: true });
  return new Promise((resolve) => {
    const req = request({ ...c.options, host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}

test('a verifying server refuses, at the handshake, clients without a certificate, from another CA, or expired', async () => {
  const refused: string[] = [];
  let handled = 0;
  const server = httpServer(
    {},
    loadServerTls({ cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca }),
    (_req, res) => {
      handled++;
      res.end('ok');
    },
    (m) => refused.push(m),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    assert.equal(await get(port, { cert: pki.clientCert, key: pki.clientKey }), 200);
    for (const files of [
      {},
      { cert: pki.otherClientCert, key: pki.otherClientKey },
      { cert: pki.expiredClientCert, key: pki.expiredClientKey },
    ]) {
      const r = await get(port, files);
      assert.equal(typeof r, 'string', `refused: ${JSON.stringify(files)}`);
    }
    assert.equal(handled, 1, 'no refused client reached the handler');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(refused.length, 3, refused.join('\n'));
    assert.match(refused[0]!, /TLS handshake error from 127\.0\.0\.1:\d+: client didn't provide a certificate$/);
    assert.match(refused[1]!, /certificate signed by unknown authority/);
    assert.match(refused[2]!, /certificate has expired/);
    // and a client that trusts another CA refuses the server
    assert.match(
      String(await get(port, { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey })),
      /self.signed|unable to verify|local issuer/i,
    );
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

test("registry certificates are read from each certs.d in dockerd's layout", () => {
  const a = join(dir, 'berth-certs.d');
  const b = join(dir, 'docker-certs.d');
  mkdirSync(join(a, '127.0.0.1:5443'), { recursive: true });
  mkdirSync(join(b, '127.0.0.1:5443'), { recursive: true });
  copyFileSync(pki.ca, join(b, '127.0.0.1:5443', 'ca.crt'));
  copyFileSync(pki.clientCert, join(a, '127.0.0.1:5443', 'client.cert'));
  copyFileSync(pki.clientKey, join(a, '127.0.0.1:5443', 'client.key'));
  const c = registryCerts('127.0.0.1:5443', [a, b])!;
  assert.equal(c.ownCa.length, 1);
  assert.ok(c.ca.length > 1, 'the system roots stay trusted');
  assert.ok(c.cert && c.key);
  assert.deepEqual(c.dirs, [join(a, '127.0.0.1:5443'), join(b, '127.0.0.1:5443')]);
  assert.equal(registryCerts('127.0.0.1:5000', [a, b]), undefined);
  assert.equal(registryCerts('../etc', [a]), undefined);
  chmodSync(join(a, '127.0.0.1:5443', 'client.key'), 0o600);
  rmSync(join(a, '127.0.0.1:5443', 'client.key'));
  assert.throws(
    () => registryCerts('127.0.0.1:5443', [a, b]),
    /missing key client.key for client certificate client.cert/,
  );
  rmSync(join(a, '127.0.0.1:5443', 'client.cert'));
  writeFileSync(join(a, '127.0.0.1:5443', 'lonely.key'), '');
  assert.throws(
    () => registryCerts('127.0.0.1:5443', [a, b]),
    /missing client certificate lonely.cert for key lonely.key/,
  );
});

test('keys others can read and certificates others can replace are reported', () => {
  assert.deepEqual(fileProblems({ path: 'k.pem', kind: 'key' }, { uid: 0, mode: 0o100400 }, 0), []);
  assert.deepEqual(fileProblems({ path: 'c.pem', kind: 'cert' }, { uid: 0, mode: 0o100644 }, 0), []);
  assert.deepEqual(fileProblems({ path: 'k.pem', kind: 'key' }, { uid: 0, mode: 0o100644 }, 0), [
    'TLS key k.pem can be read by others (mode 0644): chmod 0400 k.pem',
  ]);
  assert.deepEqual(fileProblems({ path: 'ca.pem', kind: 'ca' }, { uid: 1000, mode: 0o100666 }, 0), [
    'TLS certificate ca.pem is owned by uid 1000, not 0',
    'TLS certificate ca.pem can be replaced by others (mode 0666): chmod 0444 ca.pem',
  ]);
});
