/**
 * cosign's key files, so that keys move freely between Berth, cosign and skopeo.
 *
 * `cosign.pub` is a PEM `PUBLIC KEY` (PKIX). `cosign.key` is a PEM block of type `ENCRYPTED
 * SIGSTORE PRIVATE KEY` (older cosign: `ENCRYPTED COSIGN PRIVATE KEY`) whose body is the JSON
 * of go-securesystemslib's `encrypted` package: the PKCS#8 DER of the private key sealed with
 * NaCl secretbox (XSalsa20-Poly1305) under a key derived from the passphrase by scrypt.
 *
 *   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"…"},
 *    "cipher":{"name":"nacl/secretbox","nonce":"…"},"ciphertext":"…"}
 *
 * The subset: keys are ECDSA P-256 (cosign's default); the three scrypt strengths that library
 * knows are read, and new keys use its "legacy" one (N=2^15), the only one skopeo 1.9 (Debian
 * bookworm) accepts — cosign reads all three.
 *
 *   const { privatePem, publicPem } = generateKeyPair('pass');
 *   const key = decryptPrivateKey(privatePem, 'pass', 'cosign.key');
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scryptSync,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import nacl from 'tweetnacl';
import { invalidArgument, unauthorized } from '../errdefs/index.ts';

export const SIGSTORE_PRIVATE_KEY_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_PEM = 'ENCRYPTED COSIGN PRIVATE KEY';

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** The strengths go-securesystemslib accepts (legacy, standard, OWASP); anything else is refused. */
const SCRYPT_ACCEPTED: readonly ScryptParams[] = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
];
const SCRYPT_WRITTEN = SCRYPT_ACCEPTED[0]!;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const BOX_KEY_BYTES = 32;

export interface KeyPair {
  privatePem: string;
  publicPem: string;
}

/** A PEM block: its type and body (RFC 7468), or undefined when there is none. */
export function pemDecode(text: string): { type: string; body: Buffer } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/.exec(text);
  if (!m) return undefined;
  // Headers (`Proc-Type: …`) are not part of any format read here.
  const body = m[2]!
    .split(/\r?\n/)
    .filter((l) => !l.includes(':'))
    .join('');
  return { type: m[1]!, body: Buffer.from(body, 'base64') };
}

/** Go's pem.EncodeToMemory: base64 in lines of 64. */
export function pemEncode(type: string, body: Buffer): string {
  const b64 = body.toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

function scryptKey(passphrase: string, salt: Buffer, p: ScryptParams): Buffer {
  return scryptSync(Buffer.from(passphrase, 'utf8'), salt, BOX_KEY_BYTES, {
    N: p.N,
    r: p.r,
    p: p.p,
    maxmem: 256 * p.N * p.r,
  });
}

/** Seals PKCS#8 DER as cosign does; returns the PEM text of `cosign.key`. */
export function encryptPrivateKey(key: KeyObject, passphrase: string): string {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const sealed = nacl.secretbox(der, nonce, scryptKey(passphrase, salt, SCRYPT_WRITTEN));
  // Field order as Go marshals the structs, so the file reads like one cosign wrote.
  const body = JSON.stringify({
    kdf: {
      name: 'scrypt',
      params: { N: SCRYPT_WRITTEN.N, r: SCRYPT_WRITTEN.r, p: SCRYPT_WRITTEN.p },
      salt: salt.toString('base64'),
    },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  });
  return pemEncode(SIGSTORE_PRIVATE_KEY_PEM, Buffer.from(body));
}

/** A new ECDSA P-256 key pair, the private half sealed with `passphrase` (which may be empty). */
export function generateKeyPair(passphrase: string): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privatePem: encryptPrivateKey(privateKey, passphrase),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Opens `cosign.key`; a wrong passphrase is Unauthorized, a malformed file InvalidArgument. */
export function decryptPrivateKey(pem: string, passphrase: string, name = 'private key'): KeyObject {
  const bad = (why: string, cause?: unknown) => invalidArgument(`read key "${name}": ${why}`, cause);
  const block = pemDecode(pem);
  if (!block) throw bad('no PEM block');
  if (block.type !== SIGSTORE_PRIVATE_KEY_PEM && block.type !== COSIGN_PRIVATE_KEY_PEM)
    throw bad(`unsupported PEM type "${block.type}": a cosign key (${SIGSTORE_PRIVATE_KEY_PEM}) is needed`);
  let j: {
    kdf?: { name?: unknown; params?: { N?: unknown; r?: unknown; p?: unknown }; salt?: unknown };
    cipher?: { name?: unknown; nonce?: unknown };
    ciphertext?: unknown;
  };
  try {
    j = JSON.parse(block.body.toString('utf8')) as typeof j;
  } catch (e) {
    throw bad('the encrypted key is not JSON', e);
  }
  if (j?.kdf?.name !== 'scrypt') throw bad(`unknown key derivation "${String(j?.kdf?.name)}"`);
  if (j.cipher?.name !== 'nacl/secretbox') throw bad(`unknown cipher "${String(j.cipher?.name)}"`);
  const params = SCRYPT_ACCEPTED.find(
    (s) => s.N === j.kdf!.params?.N && s.r === j.kdf!.params?.r && s.p === j.kdf!.params?.p,
  );
  if (!params) throw bad('unsupported scrypt parameters');
  if (typeof j.kdf.salt !== 'string' || typeof j.cipher.nonce !== 'string' || typeof j.ciphertext !== 'string')
    throw bad('salt, nonce or ciphertext missing');
  const nonce = Buffer.from(j.cipher.nonce, 'base64');
  if (nonce.length !== NONCE_BYTES) throw bad('bad nonce size');
  const opened = nacl.secretbox.open(
    Buffer.from(j.ciphertext, 'base64'),
    nonce,
    scryptKey(passphrase, Buffer.from(j.kdf.salt, 'base64'), params),
  );
  if (!opened) throw unauthorized(`read key "${name}": decryption failed: wrong passphrase or a damaged key`);
  try {
    return createPrivateKey({ key: Buffer.from(opened), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw bad('the decrypted key is not PKCS#8', e);
  }
}

/**
 * A verification key from PEM: a `PUBLIC KEY` (cosign.pub), or the key of a `CERTIFICATE`.
 * ECDSA, RSA and Ed25519 keys are taken, as sigstore's verifiers take them.
 */
export function parsePublicKey(pem: string | Buffer, name = 'public key'): KeyObject {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  const block = pemDecode(text);
  if (!block) throw invalidArgument(`read key "${name}": no PEM block`);
  try {
    if (block.type === 'CERTIFICATE') return new X509Certificate(text).publicKey;
    if (block.type !== 'PUBLIC KEY')
      throw new Error(`unsupported PEM type "${block.type}": a PUBLIC KEY (cosign.pub) is needed`);
    const key = createPublicKey({ key: block.body, format: 'der', type: 'spki' });
    if (!['ec', 'rsa', 'ed25519'].includes(key.asymmetricKeyType ?? ''))
      throw new Error(`unsupported key type "${key.asymmetricKeyType}"`);
    return key;
  } catch (e) {
    throw invalidArgument(`read key "${name}": ${(e as Error).message}`, e);
  }
}

/** The public half of a private key, as PEM (what `cosign public-key` prints). */
export function publicPemOf(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}
