/**
 * Trust: cosign-compatible keyed signatures of images in registries, and the signature policy
 * (containers-policy.json(5)) berthd enforces on pulls. Keyed only: no keyless signing, since
 * no Fulcio or Rekor is reachable from here.
 */
export {
  generateKeyPair,
  encryptPrivateKey,
  decryptPrivateKey,
  parsePublicKey,
  publicPemOf,
  pemDecode,
  SIGSTORE_PRIVATE_KEY_PEM,
  COSIGN_PRIVATE_KEY_PEM,
  type KeyPair,
} from './keys.ts';
export { makePayload, parsePayload, signPayload, verifyPayload, SIGNATURE_TYPE, type SignedClaim } from './payload.ts';
export {
  attachSignature,
  readSignatures,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
  SIGNATURE_ANNOTATION,
  SIGNATURE_ARTIFACT_TYPE,
  type AttachMode,
  type Attached,
  type AttachedSignature,
} from './attachments.ts';
export { parseNamed, namedString, isNameOnly, scopesOf, isValidScope, type Named } from './identity.ts';
export {
  parsePolicy,
  requirementsFor,
  decide,
  describeRule,
  identityMatches,
  needsSignatures,
  signatureProblem,
  type Policy,
  type Requirement,
  type IdentityRule,
  type Match,
  type Decision,
  type Target,
} from './policy.ts';
export { SignaturePolicyFile, admit, targetName } from './gate.ts';
