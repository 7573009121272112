import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptPrivateKey, generateKeyPair } from './keys.ts';
import { makePayload, signPayload } from './payload.ts';
import { parseNamed, scopesOf } from './identity.ts';
import { decide, describeRule, identityMatches, parsePolicy, requirementsFor, type IdentityRule } from './policy.ts';
import type { AttachedSignature } from './attachments.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-policy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pair = generateKeyPair('');
const other = generateKeyPair('');
writeFileSync(join(dir, 'cosign.pub'), pair.publicPem);
const key = decryptPrivateKey(pair.privatePem, '');
const otherKey = decryptPrivateKey(other.privatePem, '');
const policyPath = join(dir, 'policy.json');

const named = (s: string) => parseNamed(s)!;

test('scopes are looked up most specific first, then parent namespaces, the host and wildcard domains', () => {
  assert.deepEqual(scopesOf(named('reg.example.com:5000/ns/app:1')), [
    'reg.example.com:5000/ns/app:1',
    'reg.example.com:5000/ns/app',
    'reg.example.com:5000/ns',
    'reg.example.com:5000',
    '*.example.com',
    '*.com',
  ]);
  assert.deepEqual(scopesOf(named('busybox@sha256:' + 'a'.repeat(64))).slice(0, 4), [
    'docker.io/library/busybox@sha256:' + 'a'.repeat(64),
    'docker.io/library/busybox',
    'docker.io/library',
    'docker.io',
  ]);
});

test('the most specific scope wins; the transport default and then the global default apply elsewhere', () => {
  const p = parsePolicy(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          '127.0.0.1:5000': [{ type: 'insecureAcceptAnything' }],
          '127.0.0.1:5000/signed': [{ type: 'sigstoreSigned', keyPath: 'cosign.pub' }],
          '*.example.com': [{ type: 'insecureAcceptAnything' }],
        },
        'docker-daemon': { '': [{ type: 'insecureAcceptAnything' }] },
      },
    }),
    policyPath,
  );
  assert.equal(requirementsFor(p, named('127.0.0.1:5000/signed/app:1')).scope, '127.0.0.1:5000/signed');
  assert.equal(requirementsFor(p, named('127.0.0.1:5000/other:1')).scope, '127.0.0.1:5000');
  assert.equal(requirementsFor(p, named('a.b.example.com/x:1')).scope, '*.example.com');
  const m = requirementsFor(p, named('busybox:latest'));
  assert.equal(m.scope, undefined);
  assert.equal(describeRule(m.requirements[0]!, m), `rule "reject" of the policy's default`);
  // The key path is relative to the policy file and read at parse time.
  const s = requirementsFor(p, named('127.0.0.1:5000/signed/app:1'));
  assert.equal(
    describeRule(s.requirements[0]!, s),
    `rule "sigstoreSigned" (keyPath ${join(dir, 'cosign.pub')}) for docker scope "127.0.0.1:5000/signed"`,
  );
  assert.deepEqual(p.files, [policyPath, join(dir, 'cosign.pub')]);
});

test('what Berth cannot enforce, or a malformed policy, is refused by name instead of being ignored', () => {
  const bad = (policy: unknown, why: RegExp) =>
    assert.throws(
      () => parsePolicy(JSON.stringify(policy), policyPath),
      (e: Error & { category?: string }) => {
        assert.equal(e.category, 'InvalidArgument');
        assert.match(e.message, new RegExp(`^signature policy "${policyPath}": `));
        assert.match(e.message, why);
        return true;
      },
    );
  bad({}, /"default" is missing/);
  bad({ default: [] }, /default: no requirements/);
  bad({ default: [{ type: 'insecureAcceptAnything' }], extra: 1 }, /unknown field "extra"/);
  bad(
    { default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k.gpg' }] },
    /"signedBy" \(GPG simple signing\) is not supported/,
  );
  bad(
    { default: [{ type: 'sigstoreSigned', fulcio: { caPath: '/ca' }, rekorPublicKeyPath: '/r.pub' }] },
    /"fulcio" is not supported: Berth verifies keyed signatures only/,
  );
  bad({ default: [{ type: 'sigstoreSigned' }] }, /exactly one of "keyPath"/);
  bad({ default: [{ type: 'sigstoreSigned', keyPath: 'missing.pub' }] }, /read key ".*missing.pub": ENOENT/);
  bad({ default: [{ type: 'sigstoreSigned', keyData: 'bm90IGEga2V5' }] }, /no PEM block/);
  bad(
    { default: [{ type: 'sigstoreSigned', keyPath: 'cosign.pub', signedIdentity: { type: 'matchWhatever' } }] },
    /unknown identity type/,
  );
  bad(
    { default: [{ type: 'reject' }], transports: { docker: { 'reg.io/app:': [{ type: 'reject' }] } } },
    /invalid scope/,
  );
  bad({ default: [{ type: 'reject' }], transports: { docker: { 'reg.io/X': [{ type: 'reject' }] } } }, /invalid scope/);
  bad({ default: [{ type: 'reject', keyPath: '/x' }] }, /default\[0\]: unknown field "keyPath"/);
});

test('signedIdentity rules match as containers/image matches them', () => {
  const cases: Array<[IdentityRule, string, string, boolean]> = [
    [{ type: 'matchRepoDigestOrExact' }, 'r.io/a:1', 'r.io/a:1', true],
    [{ type: 'matchRepoDigestOrExact' }, 'r.io/a:1', 'r.io/a:2', false],
    // cosign's repository-only identity: not enough for this default rule
    [{ type: 'matchRepoDigestOrExact' }, 'r.io/a:1', 'r.io/a', false],
    [{ type: 'matchRepoDigestOrExact' }, 'r.io/a@sha256:' + 'b'.repeat(64), 'r.io/a:7', true],
    [{ type: 'matchRepository' }, 'r.io/a:1', 'r.io/a', true],
    [{ type: 'matchRepository' }, 'r.io/a:1', 'r.io/b:1', false],
    [{ type: 'matchExact' }, 'r.io/a@sha256:' + 'b'.repeat(64), 'r.io/a:1', false],
    [{ type: 'exactReference', dockerReference: named('v.io/p:3') }, 'mirror/p:9', 'v.io/p:3', true],
    [{ type: 'exactRepository', dockerRepository: named('v.io/p') }, 'mirror/p:9', 'v.io/p', true],
    [{ type: 'remapIdentity', prefix: 'm.io/vendor', signedPrefix: 'v.io' }, 'm.io/vendor/p:1', 'v.io/p:1', true],
    [{ type: 'remapIdentity', prefix: 'm.io/vendor', signedPrefix: 'v.io' }, 'm.io/vendorx/p:1', 'v.io/p:1', false],
  ];
  for (const [rule, intended, signed, want] of cases)
    assert.equal(identityMatches(rule, named(intended), named(signed)), want, `${rule.type} ${intended} ${signed}`);
});

function signed(identity: string, digest: string, k = key, source = 'tag sha256-x.sig'): AttachedSignature {
  const payload = makePayload({ dockerReference: identity, manifestDigest: digest });
  return { payload, signature: signPayload(k, payload), source };
}

test('decide: a signature by the key over this manifest and name is accepted; anything else names its reason', () => {
  const p = parsePolicy(JSON.stringify({ default: [{ type: 'sigstoreSigned', keyPath: 'cosign.pub' }] }), policyPath);
  const reqs = requirementsFor(p, named('127.0.0.1:5000/t/app:1')).requirements;
  const bytes = Buffer.from('{"schemaVersion":2}');
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const t = { name: named('127.0.0.1:5000/t/app:1'), manifestDigest: digest, manifestBytes: bytes };
  assert.deepEqual(decide(reqs, t, [signed('127.0.0.1:5000/t/app:1', digest)]), { ok: true });
  // One good signature among bad ones is enough.
  assert.equal(
    decide(reqs, t, [signed('127.0.0.1:5000/t/app:1', digest, otherKey), signed('127.0.0.1:5000/t/app:1', digest)]).ok,
    true,
  );
  const no = (sigs: AttachedSignature[]) => {
    const d = decide(reqs, t, sigs);
    assert.equal(d.ok, false);
    return (d as { reason: string }).reason;
  };
  assert.equal(no([]), 'a signature was required, but no signature exists');
  assert.match(
    no([signed('127.0.0.1:5000/t/app:1', digest, otherKey)]),
    /tag sha256-x.sig: not signed by the policy's key/,
  );
  assert.match(
    no([signed('127.0.0.1:5000/t/app:1', 'sha256:' + 'c'.repeat(64))]),
    /it signs manifest sha256:c{64}, not this one/,
  );
  assert.match(no([signed('127.0.0.1:5000/t/app', digest)]), /identity "127.0.0.1:5000\/t\/app" is not accepted/);
  // A sha512 claim is checked against the manifest's sha512.
  const d512 = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
  assert.equal(decide(reqs, t, [signed('127.0.0.1:5000/t/app:1', d512)]).ok, true);
});

test('decide: every requirement must accept; reject refuses whatever the signatures', () => {
  const p = parsePolicy(
    JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }, { type: 'reject' }] }),
    policyPath,
  );
  const t = { name: named('x.io/a:1'), manifestDigest: 'sha256:' + 'd'.repeat(64), manifestBytes: Buffer.alloc(0) };
  const d = decide(p.defaults, t, []);
  assert.equal(d.ok, false);
  assert.equal((d as { requirement: { type: string } }).requirement.type, 'reject');
});
