/**
 * The "simple signing" payload cosign and containers/image sign: a claim that an identity (a
 * repository, or a repository and tag) names the manifest with a digest. The signature covers
 * these exact bytes, so they are kept as they came and parsed only after the signature checks.
 *
 *   {"critical":{"identity":{"docker-reference":"127.0.0.1:5000/t/app:1"},
 *                "image":{"docker-manifest-digest":"sha256:…"},
 *                "type":"cosign container image signature"},"optional":null}
 *
 * Parsing is as strict as containers/image's: exactly these fields in `critical` and its
 * members (an unknown critical field is a claim we would not understand, so it is refused);
 * `optional` must be there, null or an object, and is ignored.
 */
import { createSign, createVerify, sign as oneShotSign, verify as oneShotVerify, type KeyObject } from 'node:crypto';
import { invalidArgument } from '../errdefs/index.ts';

export const SIGNATURE_TYPE = 'cosign container image signature';

export interface SignedClaim {
  /** `critical.identity.docker-reference`: the name the signer gave the image. */
  readonly dockerReference: string;
  /** `critical.image.docker-manifest-digest`. */
  readonly manifestDigest: string;
}

/** The payload bytes, in the field order Go marshals (what cosign and skopeo write). */
export function makePayload(claim: SignedClaim): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': claim.dockerReference },
        image: { 'docker-manifest-digest': claim.manifestDigest },
        type: SIGNATURE_TYPE,
      },
      optional: null,
    }),
  );
}

function exactObject(v: unknown, fields: readonly string[], where: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw invalidArgument(`signature payload: ${where} is not an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!fields.includes(k)) throw invalidArgument(`signature payload: unknown field ${where}.${k}`);
  for (const k of fields) if (!(k in o)) throw invalidArgument(`signature payload: ${where}.${k} is missing`);
  return o;
}

/** The claim in a payload whose signature has already been verified. */
export function parsePayload(bytes: Buffer): SignedClaim {
  let j: unknown;
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalidArgument('signature payload: not JSON', e);
  }
  const top = exactObject(j, ['critical', 'optional'], 'payload');
  if (top.optional !== null && (typeof top.optional !== 'object' || Array.isArray(top.optional)))
    throw invalidArgument('signature payload: optional is neither null nor an object');
  const critical = exactObject(top.critical, ['identity', 'image', 'type'], 'critical');
  if (critical.type !== SIGNATURE_TYPE)
    throw invalidArgument(`signature payload: unknown type ${JSON.stringify(critical.type)}`);
  const identity = exactObject(critical.identity, ['docker-reference'], 'critical.identity');
  const image = exactObject(critical.image, ['docker-manifest-digest'], 'critical.image');
  const ref = identity['docker-reference'];
  const digest = image['docker-manifest-digest'];
  if (typeof ref !== 'string' || typeof digest !== 'string')
    throw invalidArgument('signature payload: docker-reference and docker-manifest-digest must be strings');
  return Object.freeze({ dockerReference: ref, manifestDigest: digest });
}

/** cosign's signature: base64 of the DER ECDSA (or RSA PKCS#1 v1.5) signature over SHA-256. */
export function signPayload(key: KeyObject, payload: Buffer): string {
  if (key.asymmetricKeyType === 'ed25519') return oneShotSign(null, payload, key).toString('base64');
  const s = createSign('sha256');
  s.update(payload);
  return s.sign(key).toString('base64');
}

/** Whether `signature` (base64) over `payload` verifies with `key`; never throws. */
export function verifyPayload(key: KeyObject, payload: Buffer, signature: string): boolean {
  try {
    const sig = Buffer.from(signature, 'base64');
    if (key.asymmetricKeyType === 'ed25519') return oneShotVerify(null, payload, key, sig);
    const v = createVerify('sha256');
    v.update(payload);
    return v.verify(key, sig);
  } catch {
    return false;
  }
}
