/**
 * Signatures and the signature policy, end to end and across tools: `berth image sign` and
 * `verify` against berth-registry, berthd `--signature-policy` refusing what the policy refuses
 * (by the docker CLI, naming the rule, keeping nothing), and interop both ways with cosign 2.5
 * and skopeo 1.18 from Debian trixie (scripts/trixie-tools.sh fetches them; bookworm's skopeo
 * has sigstore disabled). Only loopback is contacted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startDaemon,
  startRegistry,
  cleanup,
  docker,
  dockerOk,
  bootstrapBusybox,
  run,
  REPO,
  type Daemon,
  type RegistryProcess,
  type RunResult,
} from './harness.ts';

const COSIGN = join(REPO, 'build/trixie/cosign');
const SKOPEO = join(REPO, 'build/trixie/skopeo');
const haveCosign = existsSync(COSIGN);
const haveSkopeo = existsSync(SKOPEO);

let d: Daemon;
let reg: string;
let registry: RegistryProcess | undefined;
let scratch: string;
let policyFile: string;

const env = () => ({ ...process.env, COSIGN_PASSWORD: 'e2e-pass' });

function berthSigned(args: string[]): Promise<RunResult> {
  return run(join(REPO, 'bin/berth'), ['-H', d.host, ...args], { env: env() });
}

async function ok(p: Promise<RunResult>): Promise<RunResult> {
  const r = await p;
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

/** Pushes busybox (or `image`) as `name` and removes the local tag, so the next pull fetches it. */
async function publish(name: string, image = 'busybox'): Promise<void> {
  await dockerOk(d, ['tag', image, name]);
  await dockerOk(d, ['push', name]);
  await dockerOk(d, ['rmi', name]);
}

function blobCount(): number {
  const dir = join(d.root, 'data', 'content', 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

async function manifestBytes(repo: string, ref: string): Promise<Buffer> {
  const r = await fetch(`http://${reg}/v2/${repo}/manifests/${ref}`, {
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(r.status, 200);
  return Buffer.from(await r.arrayBuffer());
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-e2e-trust-'));
  process.env.DOCKER_CONFIG = join(scratch, 'docker');
  process.env.BERTH_CONFIG = join(scratch, 'berth');
  registry = await startRegistry(join(scratch, 'registry'));
  reg = registry.host;

  // The keys, as a user makes them.
  for (const prefix of ['cosign', 'other']) {
    const r = await run(
      join(REPO, 'bin/berth'),
      ['image', 'generate-key-pair', '--output-key-prefix', join(scratch, prefix)],
      {
        env: env(),
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Private key written to ${join(scratch, prefix)}.key\nPublic key written to`));
  }
  policyFile = join(scratch, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      default: [{ type: 'insecureAcceptAnything' }],
      transports: {
        docker: {
          [`${reg}/signed`]: [{ type: 'sigstoreSigned', keyPath: join(scratch, 'cosign.pub') }],
          // cosign signs a repository without its tag: only matchRepository accepts that.
          [`${reg}/cosigned`]: [
            {
              type: 'sigstoreSigned',
              keyPath: join(scratch, 'cosign.pub'),
              signedIdentity: { type: 'matchRepository' },
            },
          ],
          [`${reg}/banned`]: [{ type: 'reject' }],
        },
      },
    }),
  );
  d = await startDaemon(['--signature-policy', policyFile]);
  await bootstrapBusybox(d);
});

after(async () => {
  if (d) await cleanup(d);
  registry?.proc.kill('SIGTERM');
  // Gone before its root is removed: a registry still writing an upload there fails the removal half-way.
  await registry?.exited;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('berth image sign stores a signature berth image verify accepts with cosign.pub and refuses with another key', async () => {
  await publish(`${reg}/signed/app:1`);
  const signed = await ok(berthSigned(['image', 'sign', '--key', join(scratch, 'cosign.key'), `${reg}/signed/app:1`]));
  assert.match(signed.stderr, new RegExp(`Pushing signature to: ${reg}/signed/app:sha256-[0-9a-f]{64}\\.sig\n`));
  assert.match(signed.stderr, /\(OCI 1\.1 referrer of sha256:[0-9a-f]{64}\)/);

  const v = await ok(berthSigned(['image', 'verify', '--key', join(scratch, 'cosign.pub'), `${reg}/signed/app:1`]));
  const claims = JSON.parse(v.stdout) as Array<{ critical: { identity: { 'docker-reference': string } } }>;
  assert.equal(claims[0]!.critical.identity['docker-reference'], `${reg}/signed/app:1`);
  assert.match(v.stderr, /The signatures were verified against the specified public key/);

  const other = await berthSigned(['image', 'verify', '--key', join(scratch, 'other.pub'), `${reg}/signed/app:1`]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /^Error: no matching signatures: tag sha256-[0-9a-f]{64}\.sig: not signed/m);

  const wrongPass = await run(
    join(REPO, 'bin/berth'),
    ['image', 'sign', '--key', join(scratch, 'cosign.key'), `${reg}/signed/app:1`],
    {
      env: { ...process.env, COSIGN_PASSWORD: 'nope' },
    },
  );
  assert.equal(wrongPass.code, 1);
  assert.match(wrongPass.stderr, /decryption failed: wrong passphrase/);
});

test('berthd --signature-policy: the signed image pulls; unsigned, foreign, moved and rejected ones fail naming the rule and leave nothing', async () => {
  await dockerOk(d, ['pull', `${reg}/signed/app:1`]);
  await dockerOk(d, ['rmi', `${reg}/signed/app:1`]);

  // A different image than busybox, so that its layers would be new to the store.
  const imported = await run(
    '/bin/sh',
    ['-c', `tar -C '${join(REPO, 'e2e')}' -c harness.ts | docker import - e2e-other:1`],
    {
      env: { ...process.env, DOCKER_HOST: d.host },
    },
  );
  assert.equal(imported.code, 0, imported.stderr);
  await publish(`${reg}/signed/unsigned:1`, 'e2e-other:1');

  const rule = `rule "sigstoreSigned" (keyPath ${join(scratch, 'cosign.pub')}) for docker scope "${reg}/signed"`;
  const before = blobCount();
  const unsigned = await docker(d, ['pull', `${reg}/signed/unsigned:1`]);
  assert.equal(unsigned.code, 1);
  assert.equal(
    unsigned.stderr.trim(),
    `Error response from daemon: image "${reg}/signed/unsigned:1" rejected by signature policy "${policyFile}": ${rule}: a signature was required, but no signature exists`,
  );
  assert.equal((await docker(d, ['image', 'inspect', `${reg}/signed/unsigned:1`])).code, 1);
  assert.equal(blobCount(), before, 'a refused pull stores no blob');

  await publish(`${reg}/signed/foreign:1`, 'e2e-other:1');
  await ok(berthSigned(['image', 'sign', '--key', join(scratch, 'other.key'), `${reg}/signed/foreign:1`]));
  const foreign = await docker(d, ['pull', `${reg}/signed/foreign:1`]);
  assert.equal(foreign.code, 1);
  assert.match(
    foreign.stderr,
    new RegExp(
      `${rule.replace(/[.()/]/g, '\\$&')}: none of the signatures was accepted: .*not signed by the policy's key`,
    ),
  );

  // The tag is moved to other content and the old signature copied beside the new digest.
  await publish(`${reg}/signed/moved:1`);
  await ok(
    berthSigned([
      'image',
      'sign',
      '--registry-referrers-mode',
      'legacy',
      '--key',
      join(scratch, 'cosign.key'),
      `${reg}/signed/moved:1`,
    ]),
  );
  const oldDigest = (
    await fetch(`http://${reg}/v2/signed/moved/manifests/1`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    })
  ).headers.get('docker-content-digest')!;
  await publish(`${reg}/signed/moved:1`, 'e2e-other:1');
  const newDigest = (
    await fetch(`http://${reg}/v2/signed/moved/manifests/1`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    })
  ).headers.get('docker-content-digest')!;
  assert.notEqual(oldDigest, newDigest);
  const sig = await manifestBytes('signed/moved', `sha256-${oldDigest.slice(7)}.sig`);
  const put = await fetch(`http://${reg}/v2/signed/moved/manifests/sha256-${newDigest.slice(7)}.sig`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: new Uint8Array(sig),
  });
  assert.equal(put.status, 201);
  const moved = await docker(d, ['pull', `${reg}/signed/moved:1`]);
  assert.equal(moved.code, 1);
  assert.match(moved.stderr, new RegExp(`it signs manifest ${oldDigest}, not this one \\(${newDigest}\\)`));

  await publish(`${reg}/banned/x:1`, 'e2e-other:1');
  const banned = await docker(d, ['run', '--rm', `${reg}/banned/x:1`, 'true']);
  assert.notEqual(banned.code, 0);
  assert.match(
    banned.stderr,
    new RegExp(`rejected by signature policy "${policyFile}": rule "reject" for docker scope "${reg}/banned"`),
  );
  assert.equal(blobCount(), before, 'refused pulls and runs store no blob');
  // berth's own pull reports the same.
  const bp = await berthSigned(['pull', `${reg}/banned/x:1`]);
  assert.equal(bp.code, 1);
  assert.match(bp.stderr, /rule "reject"/);
});

test(
  'skopeo copy accepts a Berth signature under a policy requiring the key, and Berth accepts a skopeo signature',
  { skip: !haveSkopeo && 'build/trixie/skopeo missing (scripts/trixie-tools.sh could not fetch it)' },
  async () => {
    const rd = join(scratch, 'registries.d');
    mkdirSync(rd, { recursive: true });
    writeFileSync(join(rd, 'berth.yaml'), `docker:\n  ${reg}:\n    use-sigstore-attachments: true\n`);
    const skopeoPolicy = (key: string) => {
      const f = join(scratch, `skopeo-${key}.json`);
      writeFileSync(
        f,
        JSON.stringify({
          default: [{ type: 'reject' }],
          transports: { docker: { [reg]: [{ type: 'sigstoreSigned', keyPath: join(scratch, `${key}.pub`) }] } },
        }),
      );
      return f;
    };
    const copy = (policy: string, dest: string) =>
      run(SKOPEO, [
        'copy',
        '--policy',
        policy,
        '--registries.d',
        rd,
        '--src-tls-verify=false',
        `docker://${reg}/signed/app:1`,
        `dir:${join(scratch, dest)}`,
      ]);
    const good = await copy(skopeoPolicy('cosign'), 'copy-ok');
    assert.equal(good.code, 0, good.stderr);
    const bad = await copy(skopeoPolicy('other'), 'copy-refused');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Source image rejected: .*signature verification failed/);

    writeFileSync(join(scratch, 'pass'), 'e2e-pass\n');
    const any = join(scratch, 'any.json');
    writeFileSync(any, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const signedBySkopeo = await run(SKOPEO, [
      'copy',
      '--policy',
      any,
      '--registries.d',
      rd,
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--remove-signatures',
      '--sign-by-sigstore-private-key',
      join(scratch, 'cosign.key'),
      '--sign-passphrase-file',
      join(scratch, 'pass'),
      `docker://${reg}/signed/app:1`,
      `docker://${reg}/signed/by-skopeo:1`,
    ]);
    assert.equal(signedBySkopeo.code, 0, signedBySkopeo.stderr);
    await dockerOk(d, ['pull', `${reg}/signed/by-skopeo:1`]);
    // And signed with the other key, the policy refuses it.
    await run(SKOPEO, [
      'copy',
      '--policy',
      any,
      '--registries.d',
      rd,
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--remove-signatures',
      '--sign-by-sigstore-private-key',
      join(scratch, 'other.key'),
      '--sign-passphrase-file',
      join(scratch, 'pass'),
      `docker://${reg}/signed/app:1`,
      `docker://${reg}/signed/by-skopeo-other:1`,
    ]);
    const refused = await docker(d, ['pull', `${reg}/signed/by-skopeo-other:1`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not signed by the policy's key/);
  },
);

test(
  "cosign verify --key accepts Berth signatures (tag and OCI 1.1 referrer); a cosign signature passes Berth's policy",
  { skip: !haveCosign && 'build/trixie/cosign missing (scripts/trixie-tools.sh could not fetch it)' },
  async () => {
    const verify = (image: string, key: string, extra: string[] = []) =>
      run(
        COSIGN,
        [
          'verify',
          '--key',
          join(scratch, key),
          '--insecure-ignore-tlog=true',
          '--allow-http-registry',
          ...extra,
          image,
        ],
        { env: env() },
      );
    const tagged = await verify(`${reg}/signed/app:1`, 'cosign.pub');
    assert.equal(tagged.code, 0, tagged.stderr);
    assert.match(tagged.stdout, new RegExp(`"docker-reference":"${reg}/signed/app:1"`));
    assert.notEqual((await verify(`${reg}/signed/app:1`, 'other.pub')).code, 0);

    // Only a referrer: cosign finds it through the referrers API.
    await publish(`${reg}/signed/referred:1`);
    await ok(
      berthSigned([
        'image',
        'sign',
        '--registry-referrers-mode',
        'oci-1-1',
        '--key',
        join(scratch, 'cosign.key'),
        `${reg}/signed/referred:1`,
      ]),
    );
    const referred = await verify(`${reg}/signed/referred:1`, 'cosign.pub', ['--experimental-oci11']);
    assert.equal(referred.code, 0, referred.stderr);
    assert.notEqual((await verify(`${reg}/signed/referred:1`, 'cosign.pub')).code, 0, 'no tag was written');

    await publish(`${reg}/cosigned/app:1`);
    const s = await run(
      COSIGN,
      [
        'sign',
        '--key',
        join(scratch, 'cosign.key'),
        '--tlog-upload=false',
        '--allow-http-registry',
        '-y',
        `${reg}/cosigned/app:1`,
      ],
      { env: env() },
    );
    assert.equal(s.code, 0, s.stderr);
    await dockerOk(d, ['pull', `${reg}/cosigned/app:1`]);
    await ok(berthSigned(['image', 'verify', '--key', join(scratch, 'cosign.pub'), `${reg}/cosigned/app:1`]));
  },
);
