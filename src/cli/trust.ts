/**
 * `berth image sign | verify | generate-key-pair`: cosign's keyed flow, run by the CLI itself
 * against the registry (the private key never goes to a daemon), with cosign's files, flags and
 * output so scripts written for cosign keep working:
 *
 *   berth image generate-key-pair                 # cosign.key (encrypted) + cosign.pub here
 *   berth image sign --key cosign.key 127.0.0.1:5000/t/app:1
 *   berth image verify --key cosign.pub 127.0.0.1:5000/t/app:1
 *
 * The passphrase comes from COSIGN_PASSWORD when it is set (even empty), else from a prompt
 * on a terminal, else from the first line of standard input — cosign's order. Only keyed
 * signing exists: keyless needs Fulcio and Rekor, which are not reachable here.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BerthError } from '../errdefs/index.ts';
import type { Credentials, RegistryClient } from '../registry/index.ts';
import { MediaType, type Reference } from '../spec/index.ts';
import type { AttachMode } from '../trust/index.ts';
import { readLine, StatusError, type Cli, type Command } from './cli.ts';
import { credentialsFor } from './config.ts';
import { parseImageRef } from './images.ts';

/** Reads a secret from the terminal without echoing it. */
function readHidden(cli: Cli, prompt: string): Promise<string> {
  const stdin = cli.stdin;
  cli.err(prompt);
  return new Promise((resolve, reject) => {
    let s = '';
    stdin.setRawMode(true);
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.off('data', onData);
      stdin.pause();
      cli.err('\n');
      if (err) reject(err);
      else resolve(s);
    };
    const onData = (b: Buffer) => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new StatusError(130, ''));
        if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
        else s += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** cosign's passphrase order: COSIGN_PASSWORD, a terminal prompt (twice when confirming), stdin. */
async function passphrase(cli: Cli, confirm: boolean): Promise<string> {
  const env = process.env.COSIGN_PASSWORD;
  if (env !== undefined) return env;
  if (cli.inIsTTY) {
    const first = await readHidden(cli, 'Enter password for private key: ');
    if (!confirm) return first;
    const again = await readHidden(cli, 'Enter password for private key again: ');
    if (first !== again) throw new StatusError(1, 'Error: passwords do not match');
    return first;
  }
  return (await readLine(cli.stdin)) ?? '';
}

/**
 * The registry client and the signing code, loaded when a trust command runs: they would be a
 * third of the start-up of every other command, which never needs them.
 */
const signing = () => import('../trust/index.ts');

async function registryClient(ref: Reference, allowInsecure: boolean): Promise<RegistryClient> {
  const { endpointFor, RegistryClient } = await import('../registry/index.ts');
  const cfg = { insecure: allowInsecure ? [ref.domain] : [], mirrors: [] };
  const auth = credentialsFor(ref.domain);
  const creds: Credentials = auth
    ? { username: auth.username, password: auth.password, identityToken: auth.identitytoken }
    : {};
  return new RegistryClient(endpointFor(ref.domain, cfg, 'push'), creds);
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new StatusError(
      1,
      `Error: reading key "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** Errors from the trust and registry modules end the command as cosign's do. */
function asStatus(e: unknown): never {
  if (e instanceof BerthError) throw new StatusError(1, `Error: ${e.message}`);
  throw e;
}

const REGISTRY_FLAGS = [
  {
    long: 'allow-insecure-registry',
    type: 'bool' as const,
    help: 'Speak plain HTTP to the registry (loopback registries always are)',
  },
];

const generateKeyPairCmd: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Generate a cosign key pair (cosign.key, encrypted, and cosign.pub) in the current directory',
    args: { max: 0 },
    flags: [
      {
        long: 'output-key-prefix',
        type: 'string',
        default: 'cosign',
        help: 'Name the files PREFIX.key and PREFIX.pub',
      },
    ],
  },
  async run(cli, f) {
    const prefix = f.str('output-key-prefix') || 'cosign';
    const keyFile = `${prefix}.key`;
    const pubFile = `${prefix}.pub`;
    if (existsSync(keyFile)) {
      if (!cli.inIsTTY) throw new StatusError(1, `Error: ${keyFile} already exists`);
      cli.err(`File ${keyFile} already exists. Overwrite (y/n)? `);
      if (!/^\s*y/i.test((await readLine(cli.stdin)) ?? ''))
        throw new StatusError(1, `Error: ${keyFile} already exists`);
    }
    const { generateKeyPair } = await signing();
    const pair = generateKeyPair(await passphrase(cli, true));
    writeFileSync(keyFile, pair.privatePem, { mode: 0o600 });
    cli.err(`Private key written to ${keyFile}\n`);
    writeFileSync(pubFile, pair.publicPem, { mode: 0o644 });
    cli.err(`Public key written to ${pubFile}\n`);
  },
};

const sign: Command = {
  spec: {
    usage: '[OPTIONS] IMAGE',
    description: "Sign an image in a registry with a cosign key (cosign's keyed flow; no keyless signing)",
    args: { min: 1, max: 1 },
    flags: [
      { long: 'key', type: 'string', help: 'Path to the private key (cosign.key)' },
      {
        long: 'registry-referrers-mode',
        type: 'string',
        default: 'both',
        help: 'Where to store the signature: legacy (the sha256-<digest>.sig tag), oci-1-1 (an OCI 1.1 referrer) or both',
      },
      {
        long: 'sign-container-identity',
        type: 'string',
        help: 'The docker-reference to claim (default: the image as named)',
      },
      ...REGISTRY_FLAGS,
      { long: 'yes', short: 'y', type: 'bool', hidden: true },
      { long: 'tlog-upload', type: 'bool', default: false, hidden: true },
    ],
  },
  async run(cli, f, args) {
    const keyPath = f.str('key');
    if (!keyPath)
      throw new StatusError(1, 'Error: --key is required: only keyed signing is supported (no keyless flow)');
    if (f.bool('tlog-upload'))
      throw new StatusError(1, 'Error: --tlog-upload: no transparency log (Rekor) can be reached from here');
    const mode = f.str('registry-referrers-mode') ?? 'both';
    if (!['legacy', 'oci-1-1', 'both'].includes(mode))
      throw new StatusError(
        1,
        `Error: --registry-referrers-mode "${mode}": must be one of "legacy", "oci-1-1", "both"`,
      );
    const ref = parseImageRef(args[0]!);
    const pem = readKeyFile(keyPath);
    try {
      const { attachSignature, decryptPrivateKey, makePayload, signPayload } = await signing();
      const key = decryptPrivateKey(pem, await passphrase(cli, false), keyPath);
      const client = await registryClient(ref, f.bool('allow-insecure-registry'));
      const top = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? 'latest');
      const repo = `${ref.domain}/${ref.path}`;
      const identity =
        f.str('sign-container-identity') ?? (ref.digest ? `${repo}@${ref.digest}` : `${repo}:${ref.tag ?? 'latest'}`);
      const payload = makePayload({ dockerReference: identity, manifestDigest: top.digest });
      const signature = signPayload(key, payload);
      const subject = { mediaType: top.mediaType || MediaType.OciManifest, digest: top.digest, size: top.bytes.length };
      const done = await attachSignature(client, ref.path, subject, payload, signature, mode as AttachMode);
      if (done.tag) cli.err(`Pushing signature to: ${repo}:${done.tag}\n`);
      if (done.referrer)
        cli.err(`Pushing signature to: ${repo}@${done.referrer} (OCI 1.1 referrer of ${top.digest})\n`);
      if (!done.referrer && mode === 'both')
        cli.err('The registry has no OCI 1.1 referrers API: the signature is stored under the tag only\n');
    } catch (e) {
      asStatus(e);
    }
  },
};

const verify: Command = {
  spec: {
    usage: '[OPTIONS] IMAGE',
    description: 'Verify the signatures of an image in a registry against a cosign public key',
    args: { min: 1, max: 1 },
    flags: [
      { long: 'key', type: 'string', help: 'Path to the public key (cosign.pub)' },
      ...REGISTRY_FLAGS,
      { long: 'insecure-ignore-tlog', type: 'bool', hidden: true },
      { long: 'output', short: 'o', type: 'string', default: 'json', hidden: true },
    ],
  },
  async run(cli, f, args) {
    const keyPath = f.str('key');
    if (!keyPath) throw new StatusError(1, 'Error: --key is required: only keyed verification is supported');
    const ref = parseImageRef(args[0]!);
    try {
      const { parsePublicKey, readSignatures, signatureProblem } = await signing();
      const key = parsePublicKey(readKeyFile(keyPath), keyPath);
      const client = await registryClient(ref, f.bool('allow-insecure-registry'));
      const top = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? 'latest');
      const sigs = await readSignatures(client, ref.path, top.digest);
      const good = sigs.filter(
        (s) => signatureProblem([key], { digest: top.digest, bytes: top.bytes }, s) === undefined,
      );
      if (!good.length) {
        const why = sigs.length
          ? sigs
              .map((s) => `${s.source}: ${signatureProblem([key], { digest: top.digest, bytes: top.bytes }, s)}`)
              .join('; ')
          : `no signatures found for ${top.digest}`;
        throw new StatusError(1, `Error: no matching signatures: ${why}`);
      }
      cli.err(
        `\nVerification for ${args[0]} --\nThe following checks were performed on each of these signatures:\n` +
          '  - The cosign claims were validated\n  - The signatures were verified against the specified public key\n\n',
      );
      cli.out(`${JSON.stringify(good.map((s) => JSON.parse(s.payload.toString('utf8')) as unknown))}\n`);
    } catch (e) {
      asStatus(e);
    }
  },
};

export const trustCommands: Record<string, Command> = {
  sign,
  verify,
  'generate-key-pair': generateKeyPairCmd,
};
