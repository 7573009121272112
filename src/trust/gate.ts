/**
 * berthd's `--signature-policy FILE`: the policy, kept current, and the admission check pull
 * runs before it stores anything of an image.
 *
 * Lifecycle: `SignaturePolicyFile.open` parses the file (and reads its key files) at start-up,
 * so a malformed policy stops the daemon with its reason; afterwards `current()` re-reads it
 * when it or one of its key files changes (inode, size or mtime), as containers/image reads the
 * policy anew for every operation. A rewrite that does not parse keeps the previous policy and
 * is reported once through `warn`: a half-written file must not open the door.
 *
 *   const gate = SignaturePolicyFile.open('/etc/berth/policy.json', log.warn);
 *   await admit(gate.current(), ref, manifest, () => readSignatures(client, ref.path, manifest.digest));
 */
import { readFileSync, statSync } from 'node:fs';
import { forbidden, invalidArgument } from '../errdefs/index.ts';
import type { Digest, Reference } from '../spec/index.ts';
import type { AttachedSignature } from './attachments.ts';
import type { Named } from './identity.ts';
import { decide, describeRule, needsSignatures, parsePolicy, requirementsFor, type Policy } from './policy.ts';

function stamp(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

export class SignaturePolicyFile {
  readonly path: string;
  private policy: Policy;
  private seen: string;
  private readonly warn: (msg: string) => void;
  private warned = '';

  private constructor(path: string, policy: Policy, warn: (msg: string) => void) {
    this.path = path;
    this.policy = policy;
    this.seen = stamp(policy.files);
    this.warn = warn;
  }

  /** Reads and parses the policy now; InvalidArgument naming the file and the field if it is wrong. */
  static open(path: string, warn: (msg: string) => void = () => {}): SignaturePolicyFile {
    return new SignaturePolicyFile(path, SignaturePolicyFile.read(path), warn);
  }

  private static read(path: string): Policy {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw invalidArgument(
        `signature policy "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        e,
      );
    }
    return parsePolicy(text, path);
  }

  /** The policy in force, re-read when its files changed. */
  current(): Policy {
    const now = stamp(this.policy.files);
    if (now === this.seen) return this.policy;
    try {
      this.policy = SignaturePolicyFile.read(this.path);
      this.seen = stamp(this.policy.files);
      this.warned = '';
    } catch (e) {
      if (this.warned !== now) this.warn(`${(e as Error).message}; the previous policy stays in force`);
      this.warned = now;
    }
    return this.policy;
  }
}

/** The name an image was pulled by, as the policy sees it. */
export function targetName(ref: Reference): Named {
  const name = `${ref.domain}/${ref.path}`;
  return ref.digest !== undefined ? { name, digest: ref.digest } : { name, tag: ref.tag ?? 'latest' };
}

/**
 * Throws Forbidden, naming the rule and the reason, unless the policy admits the image that
 * `ref` named and whose top-level manifest (index or image) is `manifest`. Signatures are
 * fetched only when a requirement needs them.
 */
export async function admit(
  policy: Policy,
  ref: Reference,
  manifest: { digest: Digest; bytes: Buffer },
  signatures: () => Promise<AttachedSignature[]>,
): Promise<void> {
  const name = targetName(ref);
  const m = requirementsFor(policy, name);
  const sigs =
    needsSignatures(m.requirements) && !m.requirements.some((r) => r.type === 'reject') ? await signatures() : [];
  const d = decide(m.requirements, { name, manifestDigest: manifest.digest, manifestBytes: manifest.bytes }, sigs);
  if (d.ok) return;
  const shown = ref.digest !== undefined ? `${name.name}@${ref.digest}` : `${name.name}:${name.tag}`;
  throw forbidden(
    `image "${shown}" rejected by signature policy "${policy.source}": ${describeRule(d.requirement, m)}: ${d.reason}`,
  );
}
