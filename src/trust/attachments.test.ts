import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, RegistryServer, RegistryStorage, silentLogger } from '../registry/index.ts';
import { MediaType, parseReference, type Digest } from '../spec/index.ts';
import { attachSignature, readSignatures, signatureTag } from './attachments.ts';
import { admit, SignaturePolicyFile } from './gate.ts';
import { decryptPrivateKey, generateKeyPair } from './keys.ts';
import { makePayload, signPayload } from './payload.ts';

let dir: string;
let server: RegistryServer;
let client: RegistryClient;
let port: number;
const mine = generateKeyPair('');
const theirs = generateKeyPair('');
const myKey = decryptPrivateKey(mine.privatePem, '');
const theirKey = decryptPrivateKey(theirs.privatePem, '');

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

/** Pushes a small image; returns its manifest descriptor and bytes. */
async function pushImage(repo: string, tag: string, content: string) {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, c: content }),
  );
  await client.pushBlob(repo, { digest: digestOf(config), size: config.length }, Readable.from([config]));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [],
    }),
  );
  const digest = await client.putManifest(repo, tag, MediaType.OciManifest, manifest);
  return { desc: { mediaType: MediaType.OciManifest, digest, size: manifest.length }, bytes: manifest };
}

function sig(identity: string, digest: Digest, key = myKey) {
  const payload = makePayload({ dockerReference: identity, manifestDigest: digest });
  return { payload, signature: signPayload(key, payload) };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-trust-'));
  server = new RegistryServer(await RegistryStorage.open(join(dir, 'root')), { log: silentLogger });
  port = (await server.listen(0)).port;
  client = new RegistryClient({ name: `127.0.0.1:${port}`, base: `http://127.0.0.1:${port}`, mirror: false });
});

after(async () => {
  await server.close(200);
  await rm(dir, { recursive: true, force: true });
});

test('a signature is stored under the sha256-<hex>.sig tag and as an OCI 1.1 referrer, and read back once', async () => {
  const img = await pushImage('t/app', '1', 'a');
  const s = sig(`127.0.0.1:${port}/t/app:1`, img.desc.digest);
  const done = await attachSignature(client, 't/app', img.desc, s.payload, s.signature, 'both');
  assert.equal(done.tag, signatureTag(img.desc.digest));
  assert.ok(done.referrer);
  const tagged = JSON.parse((await client.getManifest('t/app', done.tag!)).bytes.toString());
  assert.equal(tagged.layers.length, 1);
  assert.equal(tagged.layers[0].mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
  assert.equal(tagged.layers[0].annotations['dev.cosignproject.cosign/signature'], s.signature);
  const refs = await client.referrers('t/app', img.desc.digest, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  assert.deepEqual(
    refs?.map((r) => r.digest),
    [done.referrer],
  );
  const read = await readSignatures(client, 't/app', img.desc.digest);
  assert.equal(read.length, 1, 'the same signature in both places counts once');
  assert.deepEqual(read[0]!.payload, s.payload);
});

test('a second signature is appended to the tag, and signing twice adds nothing', async () => {
  const img = await pushImage('t/two', '1', 'b');
  const a = sig(`127.0.0.1:${port}/t/two:1`, img.desc.digest);
  const b = sig(`127.0.0.1:${port}/t/two:1`, img.desc.digest, theirKey);
  await attachSignature(client, 't/two', img.desc, a.payload, a.signature, 'legacy');
  await attachSignature(client, 't/two', img.desc, b.payload, b.signature, 'legacy');
  await attachSignature(client, 't/two', img.desc, a.payload, a.signature, 'legacy');
  const read = await readSignatures(client, 't/two', img.desc.digest);
  assert.deepEqual(
    read.map((r) => r.signature),
    [a.signature, b.signature],
  );
  assert.match(read[1]!.source, /^tag sha256-[0-9a-f]{64}\.sig \(signature 2\)$/);
});

test('admit: a policy requiring the key accepts the signed image, refuses unsigned, foreign and re-pointed tags', async () => {
  await writeFile(join(dir, 'cosign.pub'), mine.publicPem);
  const policyFile = join(dir, 'policy.json');
  await writeFile(
    policyFile,
    JSON.stringify({
      default: [{ type: 'insecureAcceptAnything' }],
      transports: {
        docker: {
          [`127.0.0.1:${port}/t`]: [{ type: 'sigstoreSigned', keyPath: 'cosign.pub' }],
          [`127.0.0.1:${port}/banned`]: [{ type: 'reject' }],
        },
      },
    }),
  );
  const gate = SignaturePolicyFile.open(policyFile);
  const check = async (name: string) => {
    const ref = parseReference(name);
    const top = await client.getManifest(ref.path, ref.digest ?? ref.tag!);
    let fetched = false;
    await admit(gate.current(), ref, top, () => {
      fetched = true;
      return readSignatures(client, ref.path, top.digest);
    });
    return fetched;
  };
  const good = await pushImage('t/good', '1', 'c');
  const s = sig(`127.0.0.1:${port}/t/good:1`, good.desc.digest);
  await attachSignature(client, 't/good', good.desc, s.payload, s.signature, 'both');
  assert.equal(await check(`127.0.0.1:${port}/t/good:1`), true);
  // By digest, the repository must match (matchRepoDigestOrExact).
  await check(`127.0.0.1:${port}/t/good@${good.desc.digest}`);

  await pushImage('t/unsigned', '1', 'd');
  await assert.rejects(check(`127.0.0.1:${port}/t/unsigned:1`), (e: Error & { category?: string }) => {
    assert.equal(e.category, 'Forbidden');
    assert.equal(
      e.message,
      `image "127.0.0.1:${port}/t/unsigned:1" rejected by signature policy "${policyFile}": ` +
        `rule "sigstoreSigned" (keyPath ${join(dir, 'cosign.pub')}) for docker scope "127.0.0.1:${port}/t": ` +
        'a signature was required, but no signature exists',
    );
    return true;
  });

  const foreign = await pushImage('t/foreign', '1', 'e');
  const f = sig(`127.0.0.1:${port}/t/foreign:1`, foreign.desc.digest, theirKey);
  await attachSignature(client, 't/foreign', foreign.desc, f.payload, f.signature, 'legacy');
  await assert.rejects(check(`127.0.0.1:${port}/t/foreign:1`), /not signed by the policy's key/);

  // The tag moved to other content, and the old signature was copied to the new digest's tag.
  const moved = await pushImage('t/good', '1', 'tampered');
  await attachSignature(client, 't/good', moved.desc, s.payload, s.signature, 'legacy');
  await assert.rejects(
    check(`127.0.0.1:${port}/t/good:1`),
    new RegExp(`it signs manifest ${good.desc.digest}, not this one \\(${moved.desc.digest}\\)`),
  );

  // reject needs no signatures: none are fetched.
  await pushImage('banned/x', '1', 'f');
  await assert.rejects(check(`127.0.0.1:${port}/banned/x:1`), /rule "reject" for docker scope/);
  await pushImage('other/x', '1', 'g');
  assert.equal(await check(`127.0.0.1:${port}/other/x:1`), false);
});

test('the policy file is re-read when it changes; a broken rewrite keeps the previous policy and warns once', async () => {
  const file = join(dir, 'p2.json');
  await writeFile(file, JSON.stringify({ default: [{ type: 'reject' }] }));
  const warnings: string[] = [];
  const gate = SignaturePolicyFile.open(file, (m) => warnings.push(m));
  assert.equal(gate.current().defaults[0]!.type, 'reject');
  await writeFile(file, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }) + '\n');
  assert.equal(gate.current().defaults[0]!.type, 'insecureAcceptAnything');
  await writeFile(file, '{"default": [');
  assert.equal(gate.current().defaults[0]!.type, 'insecureAcceptAnything');
  gate.current();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /not JSON.*; the previous policy stays in force/);
  assert.throws(() => SignaturePolicyFile.open(join(dir, 'nope.json')), /signature policy ".*nope.json": ENOENT/);
});
