import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
  parsePublicKey,
  pemDecode,
  publicPemOf,
} from './keys.ts';
import { makePayload, parsePayload, signPayload, verifyPayload } from './payload.ts';

// Written by `cosign generate-key-pair` 2.5 (COSIGN_PASSWORD=fixture), and a signature by
// `cosign sign-blob --key` of PAYLOAD: Berth must read both as they are.
const COSIGN_KEY = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiIwZ25vaHB0UmJ0QTdTM1liVHF6ZWdTV3FlR3l2a0Fi
K01nN0xaYjQrMS84PSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiIyR0hPNUZ2MEF6SnhJMFlFczdEOXVwTEw5NmNSdXR3NSJ9LCJj
aXBoZXJ0ZXh0IjoiVmZZcGF3OWhMallsZHROS3luMnFZelMydTdnM2tNbEdGZ2ll
M0Fha29LNzlkekpjeGwrQkhMNmQzUlFxVmJXRTMreWY2MldGTlFqOGlhSS9IVjdD
cXpnNnBTSUZCZmNKdzdDZkxTOEZ2YTdXSDVEWFhkczdpUm1yTTJoS0hCcTZ4bGdh
Qk00SHNYMjI4TE5RS1hVUUF4SXQxY0tuTWt4Y0xDazhkMjFkUnNvRzI2a0VWVEto
aVNrekg5WnNqWmo3QVBmcENzNlR1YWdnYXc9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
`;
const COSIGN_PUB = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPlxfsYohqyRGItoWnabX3fKUv6m2
gs/KifdTB4uWfEwxSOVXGlJD4kthozcGwiQujsZ1JoXZEkKFAgDr8d/miA==
-----END PUBLIC KEY-----
`;
const PAYLOAD =
  '{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/t/app"},"image":{"docker-manifest-digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},"type":"cosign container image signature"},"optional":null}';
const COSIGN_SIG = 'MEQCIAwgaePqXzD1PQp6x3HQQnlNtOXlKcuP5osdPTdVqfMCAiBPANm126WXhrxBMFpDykB+rxSi5H4swh+4CWIGqlb4kw==';

test('a key cosign generated opens with its passphrase, and its signature verifies with cosign.pub', () => {
  const key = decryptPrivateKey(COSIGN_KEY, 'fixture', 'cosign.key');
  assert.equal(publicPemOf(key), COSIGN_PUB);
  assert.equal(verifyPayload(parsePublicKey(COSIGN_PUB), Buffer.from(PAYLOAD), COSIGN_SIG), true);
  assert.equal(verifyPayload(parsePublicKey(COSIGN_PUB), Buffer.from(PAYLOAD + ' '), COSIGN_SIG), false);
});

test('the wrong passphrase is refused as unauthorized, naming the file', () => {
  assert.throws(
    () => decryptPrivateKey(COSIGN_KEY, 'wrong', 'cosign.key'),
    (e: Error & { category?: string }) =>
      e.category === 'Unauthorized' && /read key "cosign.key": decryption failed/.test(e.message),
  );
});

test("generated keys are cosign's: the encrypted PEM type, scrypt N=2^15 (skopeo 1.9 reads only that), P-256", () => {
  const pair = generateKeyPair('s3cret');
  const block = pemDecode(pair.privatePem)!;
  assert.equal(block.type, 'ENCRYPTED SIGSTORE PRIVATE KEY');
  const body = JSON.parse(block.body.toString('utf8'));
  assert.deepEqual(Object.keys(body), ['kdf', 'cipher', 'ciphertext']);
  assert.deepEqual(body.kdf.params, { N: 32768, r: 8, p: 1 });
  assert.equal(body.cipher.name, 'nacl/secretbox');
  assert.equal(Buffer.from(body.kdf.salt, 'base64').length, 32);
  assert.equal(Buffer.from(body.cipher.nonce, 'base64').length, 24);
  assert.match(pair.publicPem, /^-----BEGIN PUBLIC KEY-----\n/);
  const key = decryptPrivateKey(pair.privatePem, 's3cret');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(publicPemOf(key), pair.publicPem);
  // An empty passphrase is allowed, as cosign allows it.
  assert.ok(decryptPrivateKey(encryptPrivateKey(key, ''), ''));
});

test('a signature made by Berth verifies only with the matching public key and only over the same bytes', () => {
  const a = generateKeyPair('');
  const b = generateKeyPair('');
  const key = decryptPrivateKey(a.privatePem, '');
  const payload = makePayload({
    dockerReference: '127.0.0.1:5000/t/app:1',
    manifestDigest: 'sha256:' + 'a'.repeat(64),
  });
  const sig = signPayload(key, payload);
  assert.equal(verifyPayload(parsePublicKey(a.publicPem), payload, sig), true);
  assert.equal(verifyPayload(parsePublicKey(b.publicPem), payload, sig), false);
  assert.equal(
    verifyPayload(parsePublicKey(a.publicPem), Buffer.from(payload.toString().replace('app:1', 'app:2')), sig),
    false,
  );
  assert.equal(verifyPayload(parsePublicKey(a.publicPem), payload, 'not base64 at all!'), false);
});

test('the payload is written as cosign writes it and parsed as strictly as containers/image parses it', () => {
  const payload = makePayload({
    dockerReference: '127.0.0.1:5000/t/app',
    manifestDigest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  });
  assert.equal(payload.toString(), PAYLOAD);
  assert.deepEqual(parsePayload(payload), {
    dockerReference: '127.0.0.1:5000/t/app',
    manifestDigest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  });
  const j = JSON.parse(PAYLOAD);
  const bad = (mutate: (o: any) => void, why: RegExp) => {
    const o = structuredClone(j);
    mutate(o);
    assert.throws(() => parsePayload(Buffer.from(JSON.stringify(o))), why);
  };
  bad((o) => (o.critical.type = 'atomic container signature'), /unknown type/);
  bad((o) => (o.critical.extra = 1), /unknown field critical.extra/);
  bad((o) => delete o.optional, /optional is missing/);
  bad((o) => delete o.critical.image, /critical.image is missing/);
  bad((o) => (o.critical.identity['docker-reference'] = 7), /must be strings/);
  // skopeo's payloads carry a creator and a timestamp in `optional`: accepted.
  const o = structuredClone(j);
  o.optional = { creator: 'containers/image 5.23', timestamp: 1700000000 };
  assert.equal(parsePayload(Buffer.from(JSON.stringify(o))).dockerReference, '127.0.0.1:5000/t/app');
});

test('public keys: PEM PUBLIC KEY or a certificate; a private key or garbage is refused by name', () => {
  assert.throws(() => parsePublicKey(COSIGN_KEY, 'k.pub'), /read key "k.pub": unsupported PEM type/);
  assert.throws(() => parsePublicKey('hello', 'k.pub'), /read key "k.pub": no PEM block/);
});
