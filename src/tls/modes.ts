/**
 * Who may read or replace the files a TLS listener trusts, as warnings for start-up. A private
 * key others can read is a key others have; a CA or certificate others can write lets them
 * choose who is trusted. The docker-bench-security checks 3.9–3.14 ask for root-owned
 * certificates of mode 0444 or stricter and keys of 0400; Berth warns where a file is open to
 * anyone but its owner, which is where the risk starts.
 *
 *   for (const w of fileWarnings([{ path: 'server-key.pem', kind: 'key' }])) log.warn(w);
 */
import { statSync } from 'node:fs';

export interface TrustedFile {
  path: string;
  kind: 'key' | 'cert' | 'ca';
}

export interface FileFacts {
  uid: number;
  mode: number;
}

/** The problems of one file, from its owner and mode (pure: the caller stats). */
export function fileProblems(f: TrustedFile, facts: FileFacts, expectedUid: number): string[] {
  const out: string[] = [];
  const perm = facts.mode & 0o777;
  const octal = perm.toString(8).padStart(4, '0');
  if (facts.uid !== expectedUid)
    out.push(
      `${f.kind === 'key' ? 'TLS key' : 'TLS certificate'} ${f.path} is owned by uid ${facts.uid}, not ${expectedUid}`,
    );
  if (f.kind === 'key' && perm & 0o077)
    out.push(`TLS key ${f.path} can be read by others (mode ${octal}): chmod 0400 ${f.path}`);
  if (f.kind !== 'key' && perm & 0o022)
    out.push(`TLS certificate ${f.path} can be replaced by others (mode ${octal}): chmod 0444 ${f.path}`);
  return out;
}

/** Warnings for every file that is open to others; files that cannot be stat'ed are skipped (loading reports them). */
export function fileWarnings(files: readonly TrustedFile[], expectedUid = process.getuid?.() ?? 0): string[] {
  const out: string[] = [];
  for (const f of files) {
    let facts: FileFacts;
    try {
      const st = statSync(f.path);
      facts = { uid: st.uid, mode: st.mode };
    } catch {
      continue;
    }
    out.push(...fileProblems(f, facts, expectedUid));
  }
  return out;
}
