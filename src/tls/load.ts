/**
 * Certificates and keys read from files and checked, as TLS options for Node — the one place
 * Berth reads them: the Engine API's listeners and clients, berth-registry and the dashboard
 * all come through here, so every one refuses the same mistakes with the same words.
 *
 * Why check before Node does: Node reports a key that does not match its certificate, an
 * encrypted key or a CA file without certificates as OpenSSL error codes, at the first
 * handshake or not at all (a CA file with no certificate silently trusts nothing). dockerd
 * (go-connections' tlsconfig) refuses each at start with a sentence naming the file; so do we.
 *
 *   const server = loadServerTls({ cert: 'server-cert.pem', key: 'server-key.pem', clientCa: 'ca.pem' });
 *   https.createServer(server.options, handler);       // asks every client for a certificate
 *   const client = loadClientTls({ ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem', verify: true });
 *   https.request({ ...client.options, host, port });
 *
 * Invariants: a loaded value is frozen and holds the bytes read at load time (a file changed
 * later changes nothing until the next load); a server that verifies clients trusts only the
 * CA file it was given (not the system's roots), as dockerd's ExclusiveRootPools.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { invalidArgument } from '../errdefs/index.ts';

/**
 * go-connections' defaults, which dockerd and the docker CLI use: TLS 1.2 at least, and for
 * TLS 1.2 only ECDHE key exchange with AEAD ciphers (TLS 1.3's suites are all of that kind).
 */
export const MIN_VERSION = 'TLSv1.2';
export const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface ServerTlsFiles {
  cert: string;
  key: string;
  /** Clients must present a certificate signed by this CA; absent: none is asked for. */
  clientCa?: string;
}

export interface ServerTlsOptions extends SecureContextOptions {
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

export interface ServerTls {
  /** For `https.createServer` / `tls.createServer`. */
  readonly options: Readonly<ServerTlsOptions>;
  /** Whether a client without a certificate from `files.clientCa` is refused at the handshake. */
  readonly verifiesClients: boolean;
  readonly certificate: X509Certificate;
  readonly files: Readonly<ServerTlsFiles>;
}

export interface ClientTlsFiles {
  /** Trust only this CA for the server's certificate (ignored without `verify`, but still read, as docker does). */
  ca?: string;
  /** A client certificate and its key, both or neither. */
  cert?: string;
  key?: string;
  /** Check the server's certificate and name; false is docker's `--tls` without `--tlsverify`. */
  verify: boolean;
}

export interface ClientTlsOptions {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  minVersion: typeof MIN_VERSION;
  ciphers: string;
}

export interface ClientTls {
  /** For `https.request` / `https.Agent` / `tls.connect`. */
  readonly options: Readonly<ClientTlsOptions>;
  readonly verify: boolean;
}

/** `open <path>: no such file or directory`, as Go words a failed read. */
export function readError(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : ((e as Error).message ?? String(e));
  return `open ${path}: ${why}`;
}

function read(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw invalidArgument(readError(path, e), e);
  }
}

/** Every certificate in a PEM bundle (a CA file may hold several). */
export function parseCertificates(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const out: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      out.push(new X509Certificate(b));
    } catch {
      // as Go's AppendCertsFromPEM: a block that does not parse is skipped
    }
  }
  return out;
}

/** A CA file's certificates; a file with none is an error rather than a trust in nothing. */
export function readCa(path: string): Buffer {
  const pem = read(path);
  if (parseCertificates(pem).length === 0)
    throw invalidArgument(`failed to append certificates from PEM file: "${path}"`);
  return pem;
}

/** A certificate and its key, checked to belong together; the first certificate is the leaf. */
export function readKeyPair(certPath: string, keyPath: string): { cert: Buffer; key: Buffer; leaf: X509Certificate } {
  const pair = `(cert: "${certPath}", key: "${keyPath}")`;
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certPath);
    key = readFileSync(keyPath);
  } catch (e) {
    const path = (e as NodeJS.ErrnoException).path ?? certPath;
    throw invalidArgument(`could not load X509 key pair ${pair}: ${readError(path, e)}`, e);
  }
  const leaf = parseCertificates(cert)[0];
  if (!leaf)
    throw invalidArgument(`could not load X509 key pair ${pair}: failed to find any PEM data in certificate input`);
  const text = key.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text))
    throw invalidArgument(
      `could not load X509 key pair ${pair}: private key is encrypted; encrypted private keys are obsolete, and not supported`,
    );
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw invalidArgument(`could not load X509 key pair ${pair}: no valid private key found`, e);
  }
  if (!leaf.checkPrivateKey(privateKey))
    throw invalidArgument(`could not load X509 key pair ${pair}: private key does not match public key`);
  return { cert, key, leaf };
}

/** A server's certificate, key and (to verify clients) CA; dockerd's `invalid TLS configuration` cases. */
export function loadServerTls(files: ServerTlsFiles): ServerTls {
  const { cert, key, leaf } = readKeyPair(files.cert, files.key);
  const ca = files.clientCa !== undefined ? readCa(files.clientCa) : undefined;
  const options: ServerTlsOptions = {
    cert,
    key,
    minVersion: MIN_VERSION,
    ciphers: CIPHERS,
    // Without `ca` Node would check client certificates against its bundled public roots.
    ...(ca ? { ca } : {}),
    requestCert: !!ca,
    rejectUnauthorized: !!ca,
  };
  return Object.freeze({
    options: Object.freeze(options),
    verifiesClients: !!ca,
    certificate: leaf,
    files: Object.freeze({ ...files }),
  });
}

/** A client's trust and identity, as the docker CLI loads them from its TLS flags. */
export function loadClientTls(files: ClientTlsFiles): ClientTls {
  if ((files.cert === undefined) !== (files.key === undefined))
    throw invalidArgument(
      `could not load X509 key pair: ${files.cert === undefined ? 'a key without a certificate' : 'a certificate without a key'}`,
    );
  // docker reads the CA file even when it will not verify: a missing one is an error there too.
  const ca = files.ca !== undefined ? readCa(files.ca) : undefined;
  const pair = files.cert !== undefined ? readKeyPair(files.cert, files.key!) : undefined;
  const options: ClientTlsOptions = {
    ...(ca && files.verify ? { ca: [ca] } : {}),
    ...(pair ? { cert: pair.cert, key: pair.key } : {}),
    rejectUnauthorized: files.verify,
    minVersion: MIN_VERSION,
    ciphers: CIPHERS,
  };
  return Object.freeze({ options: Object.freeze(options), verify: files.verify });
}
