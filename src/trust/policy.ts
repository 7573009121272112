/**
 * Signature policy in the format of containers-policy.json(5), parsed at the edge into a
 * frozen value, and the decision it makes about one image (pure: the signatures are fetched
 * by the caller, and only when a requirement needs them).
 *
 * Supported, as containers/image reads them: the global `default`; the `docker` transport's
 * scopes (`host[:port]`, namespaces, repositories, single images, `*.domain` wildcards, `""` for
 * the transport's default), most specific match winning; requirements `insecureAcceptAnything`,
 * `reject` and `sigstoreSigned` with `keyPath`/`keyPaths`/`keyData`/`keyDatas` and every
 * `signedIdentity` form. All requirements of the matching scope must accept the image. Refused
 * when present, by name: `signedBy` (GPG), and `fulcio`/`pki`/`rekorPublicKey*` (keyless
 * signing and transparency logs need services this machine cannot reach). Other transports'
 * sections are checked for shape only: Berth takes images into its store only from registries.
 *
 *   const p = parsePolicy(text, '/etc/berth/policy.json');
 *   const m = requirementsFor(p, parseNamed('127.0.0.1:5000/t/app:1')!);
 *   const d = decide(m.requirements, target, signatures); // { ok: false, requirement, reason }
 */
import { createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import type { AttachedSignature } from './attachments.ts';
import { isNameOnly, isValidScope, namedString, parseNamed, scopesOf, type Named } from './identity.ts';
import { parsePublicKey } from './keys.ts';
import { parsePayload, verifyPayload } from './payload.ts';

export type IdentityRule =
  | { readonly type: 'matchExact' }
  | { readonly type: 'matchRepoDigestOrExact' }
  | { readonly type: 'matchRepository' }
  | { readonly type: 'exactReference'; readonly dockerReference: Named }
  | { readonly type: 'exactRepository'; readonly dockerRepository: Named }
  | { readonly type: 'remapIdentity'; readonly prefix: string; readonly signedPrefix: string };

export type Requirement =
  | { readonly type: 'insecureAcceptAnything' }
  | { readonly type: 'reject' }
  | {
      readonly type: 'sigstoreSigned';
      readonly keys: readonly KeyObject[];
      /** How the keys were given, for messages: `keyPath /etc/cosign.pub`. */
      readonly keySource: string;
      readonly signedIdentity: IdentityRule;
    };

export interface Policy {
  /** The file it came from, for messages. */
  readonly source: string;
  readonly defaults: readonly Requirement[];
  /** The docker transport's scopes; `""` is its default. */
  readonly docker: ReadonlyMap<string, readonly Requirement[]>;
  /** The files it was read from (itself and key files): a change to any means re-reading. */
  readonly files: readonly string[];
}

/** The requirements that apply to an image, and the scope they came from. */
export interface Match {
  /** A docker scope; `""` the transport's default; undefined the global default. */
  readonly scope?: string;
  readonly requirements: readonly Requirement[];
}

export type Decision = { ok: true } | { ok: false; requirement: Requirement; reason: string };

/** What is being admitted: the name it was pulled by and the manifest that name gave. */
export interface Target {
  readonly name: Named;
  readonly manifestDigest: string;
  readonly manifestBytes: Buffer;
}

type Json = Record<string, unknown>;

class PolicyError extends Error {}

function isObject(v: unknown): v is Json {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function onlyFields(o: Json, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new PolicyError(`${where}: unknown field "${k}"`);
}

function str(o: Json, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '') throw new PolicyError(`${where}: "${k}" must be a non-empty string`);
  return v;
}

function parseIdentityRule(v: unknown, where: string): IdentityRule {
  if (v === undefined) return { type: 'matchRepoDigestOrExact' };
  if (!isObject(v)) throw new PolicyError(`${where}: must be an object`);
  switch (v.type) {
    case 'matchExact':
    case 'matchRepoDigestOrExact':
    case 'matchRepository':
      onlyFields(v, ['type'], where);
      return { type: v.type };
    case 'exactReference': {
      onlyFields(v, ['type', 'dockerReference'], where);
      const n = parseNamed(str(v, 'dockerReference', where));
      if (!n || isNameOnly(n)) throw new PolicyError(`${where}: dockerReference must name a tag or digest`);
      return { type: 'exactReference', dockerReference: n };
    }
    case 'exactRepository': {
      onlyFields(v, ['type', 'dockerRepository'], where);
      const n = parseNamed(str(v, 'dockerRepository', where));
      if (!n || !isNameOnly(n)) throw new PolicyError(`${where}: dockerRepository must be a repository name`);
      return { type: 'exactRepository', dockerRepository: n };
    }
    case 'remapIdentity': {
      onlyFields(v, ['type', 'prefix', 'signedPrefix'], where);
      const prefix = str(v, 'prefix', where);
      const signedPrefix = str(v, 'signedPrefix', where);
      for (const p of [prefix, signedPrefix])
        if (!isValidScope(p) || p.startsWith('*.') || p.includes('@') || /\/[^/]*:/.test(p))
          throw new PolicyError(`${where}: "${p}" is not a host, namespace or repository`);
      return { type: 'remapIdentity', prefix, signedPrefix };
    }
    default:
      throw new PolicyError(`${where}: unknown identity type ${JSON.stringify(v.type)}`);
  }
}

function parseRequirement(v: unknown, where: string, base: string, files: string[]): Requirement {
  if (!isObject(v)) throw new PolicyError(`${where}: a requirement must be an object`);
  switch (v.type) {
    case 'insecureAcceptAnything':
    case 'reject':
      onlyFields(v, ['type'], where);
      return { type: v.type };
    case 'signedBy':
      throw new PolicyError(
        `${where}: "signedBy" (GPG simple signing) is not supported by Berth: use "sigstoreSigned" with a key`,
      );
    case 'sigstoreSigned': {
      for (const k of [
        'fulcio',
        'pki',
        'rekorPublicKeyPath',
        'rekorPublicKeyPaths',
        'rekorPublicKeyData',
        'rekorPublicKeyDatas',
      ])
        if (k in v)
          throw new PolicyError(
            `${where}: "${k}" is not supported: Berth verifies keyed signatures only (no Fulcio or Rekor is reachable here)`,
          );
      onlyFields(v, ['type', 'keyPath', 'keyPaths', 'keyData', 'keyDatas', 'signedIdentity'], where);
      const given = ['keyPath', 'keyPaths', 'keyData', 'keyDatas'].filter((k) => k in v);
      if (given.length !== 1)
        throw new PolicyError(
          `${where}: exactly one of "keyPath", "keyPaths", "keyData" and "keyDatas" must be present`,
        );
      const kind = given[0]!;
      const list = (k: string): string[] => {
        const x = v[k];
        if (!Array.isArray(x) || x.length === 0 || !x.every((s) => typeof s === 'string' && s !== ''))
          throw new PolicyError(`${where}: "${k}" must be a non-empty array of strings`);
        return x as string[];
      };
      const keys: KeyObject[] = [];
      let keySource: string;
      if (kind === 'keyPath' || kind === 'keyPaths') {
        const paths = (kind === 'keyPath' ? [str(v, 'keyPath', where)] : list('keyPaths')).map((p) =>
          isAbsolute(p) ? p : resolve(base, p),
        );
        for (const p of paths) {
          let pem: Buffer;
          try {
            pem = readFileSync(p);
          } catch (e) {
            throw new PolicyError(
              `${where}: read key "${p}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            );
          }
          keys.push(keyOrError(() => parsePublicKey(pem, p), where));
          files.push(p);
        }
        keySource = `${kind} ${paths.join(', ')}`;
      } else {
        const datas = kind === 'keyData' ? [str(v, 'keyData', where)] : list('keyDatas');
        datas.forEach((d, i) =>
          keys.push(keyOrError(() => parsePublicKey(Buffer.from(d, 'base64'), `${kind}[${i}]`), where)),
        );
        keySource = kind;
      }
      return Object.freeze({
        type: 'sigstoreSigned',
        keys: Object.freeze(keys),
        keySource,
        signedIdentity: Object.freeze(parseIdentityRule(v.signedIdentity, `${where}.signedIdentity`)),
      });
    }
    default:
      throw new PolicyError(`${where}: unknown requirement type ${JSON.stringify(v.type)}`);
  }
}

function keyOrError(f: () => KeyObject, where: string): KeyObject {
  try {
    return f();
  } catch (e) {
    throw new PolicyError(`${where}: ${(e as Error).message}`);
  }
}

function parseRequirements(v: unknown, where: string, base: string, files: string[]): readonly Requirement[] {
  if (!Array.isArray(v)) throw new PolicyError(`${where}: must be an array of requirements`);
  // An empty list would accept everything by accident; the format asks for insecureAcceptAnything.
  if (v.length === 0) throw new PolicyError(`${where}: no requirements (use [{"type":"insecureAcceptAnything"}])`);
  return Object.freeze(v.map((r, i) => parseRequirement(r, `${where}[${i}]`, base, files)));
}

/** Parses a policy file's text; keys named by path are read now (relative to the file). */
export function parsePolicy(text: string, source: string): Policy {
  try {
    let j: unknown;
    try {
      j = JSON.parse(text);
    } catch (e) {
      throw new PolicyError(`not JSON: ${(e as Error).message}`);
    }
    if (!isObject(j)) throw new PolicyError('the policy must be a JSON object');
    onlyFields(j, ['default', 'transports'], 'policy');
    const files = [source];
    const base = dirname(resolve(source));
    if (!('default' in j)) throw new PolicyError('"default" is missing');
    const defaults = parseRequirements(j.default, 'default', base, files);
    const docker = new Map<string, readonly Requirement[]>();
    if (j.transports !== undefined) {
      if (!isObject(j.transports)) throw new PolicyError('"transports" must be an object');
      for (const [transport, scopes] of Object.entries(j.transports)) {
        if (!isObject(scopes)) throw new PolicyError(`transports.${transport}: must be an object of scopes`);
        for (const [scope, reqs] of Object.entries(scopes)) {
          const where = `transports.${transport}[${JSON.stringify(scope)}]`;
          if (transport !== 'docker') {
            if (!Array.isArray(reqs)) throw new PolicyError(`${where}: must be an array of requirements`);
            continue;
          }
          if (scope !== '' && !isValidScope(scope))
            throw new PolicyError(
              `${where}: invalid scope (a fully expanded name such as docker.io/library/busybox, a host[:port], or *.domain)`,
            );
          docker.set(scope, parseRequirements(reqs, where, base, files));
        }
      }
    }
    return Object.freeze({ source, defaults, docker, files: Object.freeze(files) });
  } catch (e) {
    if (e instanceof PolicyError) throw invalidArgument(`signature policy "${source}": ${e.message}`);
    throw e;
  }
}

/** The requirements for an image: its most specific docker scope, else the defaults. */
export function requirementsFor(p: Policy, name: Named): Match {
  for (const s of scopesOf(name)) {
    const r = p.docker.get(s);
    if (r) return { scope: s, requirements: r };
  }
  const t = p.docker.get('');
  if (t) return { scope: '', requirements: t };
  return { requirements: p.defaults };
}

/** `rule "sigstoreSigned" (keyPath /k.pub) for docker scope "127.0.0.1:5000/t"` */
export function describeRule(r: Requirement, m: Pick<Match, 'scope'>): string {
  const rule = `rule "${r.type}"${r.type === 'sigstoreSigned' ? ` (${r.keySource})` : ''}`;
  if (m.scope === undefined) return `${rule} of the policy's default`;
  if (m.scope === '') return `${rule} of the docker transport's default`;
  return `${rule} for docker scope "${m.scope}"`;
}

export function needsSignatures(reqs: readonly Requirement[]): boolean {
  return reqs.some((r) => r.type === 'sigstoreSigned');
}

function refString(n: Named): string {
  return namedString(n);
}

function repoDigestOrExact(intended: Named, signed: Named): boolean {
  if (isNameOnly(signed)) return false;
  if (intended.tag !== undefined && intended.digest === undefined) return refString(signed) === refString(intended);
  if (intended.digest !== undefined) return signed.name === intended.name;
  return false;
}

/** Does the identity a signature claims satisfy `rule` for the image pulled as `intended`? */
export function identityMatches(rule: IdentityRule, intended: Named, signed: Named): boolean {
  switch (rule.type) {
    case 'matchExact':
      return !isNameOnly(intended) && !isNameOnly(signed) && refString(signed) === refString(intended);
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(intended, signed);
    case 'matchRepository':
      return signed.name === intended.name;
    case 'exactReference':
      return !isNameOnly(signed) && refString(signed) === refString(rule.dockerReference);
    case 'exactRepository':
      return signed.name === rule.dockerRepository.name;
    case 'remapIdentity': {
      const n = intended.name;
      const under = n === rule.prefix || (n.startsWith(rule.prefix) && n[rule.prefix.length] === '/');
      const remapped = under ? { ...intended, name: rule.signedPrefix + n.slice(rule.prefix.length) } : intended;
      return repoDigestOrExact(remapped, signed);
    }
  }
}

function manifestDigestAs(algorithm: string, bytes: Buffer): string | undefined {
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return undefined;
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * Why one signature is not good for a manifest: not made by any of `keys`, not a payload we
 * understand, naming another manifest, or (when `identity` is given) claiming a name the rule
 * refuses. Undefined when it is good. `cosign verify` checks all but the identity.
 */
export function signatureProblem(
  keys: readonly KeyObject[],
  manifest: { digest: string; bytes: Buffer },
  s: AttachedSignature,
  identity?: { rule: IdentityRule; intended: Named },
): string | undefined {
  if (!keys.some((k) => verifyPayload(k, s.payload, s.signature))) return "not signed by the policy's key";
  let claim;
  try {
    claim = parsePayload(s.payload);
  } catch (e) {
    return (e as Error).message;
  }
  const algorithm = claim.manifestDigest.split(':')[0]!;
  const actual = algorithm === 'sha256' ? manifest.digest : manifestDigestAs(algorithm, manifest.bytes);
  if (actual === undefined || actual !== claim.manifestDigest)
    return `it signs manifest ${claim.manifestDigest}, not this one (${manifest.digest})`;
  if (!identity) return undefined;
  const signed = parseNamed(claim.dockerReference);
  if (!signed || !identityMatches(identity.rule, identity.intended, signed))
    return `its identity "${claim.dockerReference}" is not accepted for "${refString(identity.intended)}" (signedIdentity ${identity.rule.type})`;
  return undefined;
}

/** Applies every requirement; the first that refuses is named with its reason. */
export function decide(reqs: readonly Requirement[], t: Target, signatures: readonly AttachedSignature[]): Decision {
  for (const r of reqs) {
    if (r.type === 'insecureAcceptAnything') continue;
    if (r.type === 'reject') return { ok: false, requirement: r, reason: 'images from here are rejected' };
    if (signatures.length === 0)
      return { ok: false, requirement: r, reason: 'a signature was required, but no signature exists' };
    const reasons: string[] = [];
    let accepted = false;
    for (const s of signatures) {
      const why = signatureProblem(r.keys, { digest: t.manifestDigest, bytes: t.manifestBytes }, s, {
        rule: r.signedIdentity,
        intended: t.name,
      });
      if (why === undefined) {
        accepted = true;
        break;
      }
      reasons.push(`${s.source}: ${why}`);
    }
    if (!accepted)
      return { ok: false, requirement: r, reason: `none of the signatures was accepted: ${reasons.join('; ')}` };
  }
  return { ok: true };
}
