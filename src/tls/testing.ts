/**
 * Throwaway certificate authorities for tests, made with Debian's `openssl` the way Docker's
 * "Protect the Docker daemon socket" guide makes them: a CA, a server certificate for
 * localhost/127.0.0.1/::1, a client certificate — plus what tests must see refused: a client
 * certificate of another CA and an expired one. Files get the guide's modes (keys 0400,
 * certificates 0444).
 *
 *   const pki = makePki(dir);
 *   https.createServer({ cert: readFileSync(pki.serverCert), ... });
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Named as docker's defaults: `cert.pem`/`key.pem` beside `ca.pem`, so `dir` works as DOCKER_CERT_PATH. */
  clientCert: string;
  clientKey: string;
  /** Signed by a CA the server does not trust. */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
  /** Signed by the right CA, but its validity ended yesterday. */
  expiredClientCert: string;
  expiredClientKey: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl: ${r.error.message} (install Debian's openssl)`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function ca(dir: string, name: string): void {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${name}`].concat([
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.pem`,
    ]),
    dir,
  );
}

function sign(dir: string, o: { ca: string; name: string; cn: string; ext: string; days: number; out: string }): void {
  writeFileSync(join(dir, `${o.name}.ext`), o.ext);
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-subj',
      `/CN=${o.cn}`,
      '-keyout',
      `${o.name}-key.pem`,
      '-out',
      `${o.name}.csr`,
    ],
    dir,
  );
  openssl(
    ['x509', '-req', '-sha256', '-in', `${o.name}.csr`, '-CA', `${o.ca}.pem`, '-CAkey', `${o.ca}-key.pem`].concat([
      '-CAcreateserial',
      '-days',
      String(o.days),
      '-extfile',
      `${o.name}.ext`,
      '-out',
      o.out,
    ]),
    dir,
  );
}

/** Makes the whole set in `dir` (created if missing); about a second of openssl. */
export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  ca(dir, 'ca');
  ca(dir, 'other-ca');
  const server = 'subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage = serverAuth\n';
  const client = 'extendedKeyUsage = clientAuth\n';
  sign(dir, { ca: 'ca', name: 'server', cn: 'localhost', ext: server, days: 2, out: 'server-cert.pem' });
  sign(dir, { ca: 'ca', name: 'client', cn: 'client', ext: client, days: 2, out: 'cert.pem' });
  sign(dir, { ca: 'other-ca', name: 'other', cn: 'intruder', ext: client, days: 2, out: 'other-cert.pem' });
  // -days -1: valid from now until yesterday, i.e. already expired.
  sign(dir, { ca: 'ca', name: 'expired', cn: 'late', ext: client, days: -1, out: 'expired-cert.pem' });
  const p = (f: string) => join(dir, f);
  const pki: Pki = {
    dir,
    ca: p('ca.pem'),
    caKey: p('ca-key.pem'),
    serverCert: p('server-cert.pem'),
    serverKey: p('server-key.pem'),
    clientCert: p('cert.pem'),
    clientKey: p('key.pem'),
    otherCa: p('other-ca.pem'),
    otherClientCert: p('other-cert.pem'),
    otherClientKey: p('other-key.pem'),
    expiredClientCert: p('expired-cert.pem'),
    expiredClientKey: p('expired-key.pem'),
  };
  // docker's client looks for key.pem beside cert.pem
  openssl(['pkey', '-in', 'client-key.pem', '-out', 'key.pem'], dir);
  for (const k of [
    'ca-key.pem',
    'other-ca-key.pem',
    'server-key.pem',
    'client-key.pem',
    'key.pem',
    'other-key.pem',
    'expired-key.pem',
  ])
    chmodSync(p(k), 0o400);
  for (const c of ['ca.pem', 'other-ca.pem', 'server-cert.pem', 'cert.pem', 'other-cert.pem', 'expired-cert.pem'])
    chmodSync(p(c), 0o444);
  return pki;
}
