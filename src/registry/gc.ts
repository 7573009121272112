/**
 * Garbage collection of a registry root, as distribution's `registry garbage-collect`: mark
 * every blob a kept manifest references (config, layers, an index's manifests, and — with
 * `deleteUntagged` — the referrers of what is kept, so a tagged image keeps its signatures),
 * then sweep the blob files nothing marked, with the repositories' links to them.
 *
 * Safety: the caller holds the locks of rootlock.ts (no server that accepts writes runs on the
 * root). On top of that a blob a repository linked, or the store received, within `graceMs` is
 * kept: it belongs to a push whose manifest has not arrived yet (one interrupted when its server
 * was switched to read-only). Blobs are removed file by file after their links, so a crash
 * mid-sweep leaves no link to a missing blob.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../spec/index.ts';
import { manifestMediaType, referencesOf } from './manifest-check.ts';
import { digestOfHex, hexOfDigest, isDigestText, readText, RepositoryLayout } from './layout.ts';

export interface GcOptions {
  dryRun?: boolean;
  /** Also delete manifests no tag reaches (directly, through an index, or as a referrer). */
  deleteUntagged?: boolean;
  /** Blobs linked or stored this recently are kept (default 10 minutes). */
  graceMs?: number;
  log?: (line: string) => void;
  now?: () => number;
}

export interface GcReport {
  marked: number;
  /** Blobs removed (or, in a dry run, that would be). */
  blobs: Digest[];
  /** Manifests removed as untagged, as `repository@digest`. */
  manifests: string[];
  /** Unmarked blobs kept because they are recent. */
  recent: Digest[];
  bytes: number;
}

/** Link or blob file names in `dir` (sha256 or sha512 hex), sorted. */
const hexes = async (dir: string): Promise<string[]> =>
  (await fs.readdir(dir).catch(() => [] as string[])).filter((h) => digestOfHex(h) !== undefined).sort();

export async function collectGarbage(root: string, o: GcOptions = {}): Promise<GcReport> {
  const log = o.log ?? (() => {});
  const now = (o.now ?? Date.now)();
  const grace = o.graceMs ?? 10 * 60_000;
  const layout = new RepositoryLayout(join(root, 'repositories'));
  const blobDir = (d: Digest) => join(root, 'blobs', d.startsWith('sha512:') ? 'sha512' : 'sha256');
  const blobPath = (d: Digest) => join(blobDir(d), hexOfDigest(d));
  const marked = new Set<string>();
  const report: GcReport = { marked: 0, blobs: [], manifests: [], recent: [], bytes: 0 };
  /** Newest moment any repository linked each blob. */
  const linkedAt = new Map<string, number>();
  const repos = await layout.list();

  for (const repo of repos) {
    log(repo);
    const revisionsDir = join(layout.repoDir(repo), '_manifests', 'revisions');
    const revisions = (await hexes(revisionsDir)).map((h) => digestOfHex(h)!);
    for (const hex of await hexes(join(layout.repoDir(repo), '_blobs'))) {
      const st = await fs.stat(join(layout.repoDir(repo), '_blobs', hex)).catch(() => undefined);
      if (st) linkedAt.set(hex, Math.max(linkedAt.get(hex) ?? 0, st.mtimeMs));
    }
    let roots: Digest[] = revisions;
    if (o.deleteUntagged) {
      roots = [];
      for (const tag of await fs.readdir(layout.tagsDir(repo)).catch(() => [] as string[])) {
        const target = (await readText(join(layout.tagsDir(repo), tag)))?.trim();
        if (target && isDigestText(target)) roots.push(target);
      }
    }
    // What the repository keeps: the roots and all they reach.
    const kept = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const digest = queue.pop()!;
      if (kept.has(digest)) continue;
      const mediaType = await readText(layout.revisionLink(repo, digest));
      const body = await fs.readFile(blobPath(digest)).catch(() => undefined);
      if (mediaType === undefined || body === undefined) continue;
      kept.add(digest);
      log(`${repo}: marking manifest ${digest}`);
      marked.add(digest);
      let refs: ReturnType<typeof referencesOf>;
      try {
        const manifest = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        refs = referencesOf(manifest, manifestMediaType(manifest, mediaType));
      } catch {
        continue; // accepted once, so it parses; a manifest that does not keeps only itself
      }
      for (const b of refs.blobs) {
        if (!marked.has(b.digest)) log(`${repo}: marking blob ${b.digest}`);
        marked.add(b.digest);
      }
      queue.push(...refs.manifests.map((m) => m.digest));
      if (o.deleteUntagged) {
        for (const hex of await hexes(layout.referrersDir(repo, digest))) queue.push(digestOfHex(hex)!);
      }
    }
    for (const digest of revisions) {
      if (kept.has(digest)) continue;
      report.manifests.push(`${repo}@${digest}`);
      log(`${repo}: manifest eligible for deletion: ${digest}`);
      if (!o.dryRun) await deleteRevision(layout, repo, digest, blobPath(digest));
    }
  }

  report.marked = marked.size;
  const sweep: Digest[] = [];
  const stored = [
    ...(await hexes(join(root, 'blobs', 'sha256'))).filter((h) => h.length === 64),
    ...(await hexes(join(root, 'blobs', 'sha512'))).filter((h) => h.length === 128),
  ];
  for (const hex of stored) {
    const digest = digestOfHex(hex)!;
    if (marked.has(digest)) continue;
    const st = await fs.stat(blobPath(digest)).catch(() => undefined);
    if (!st) continue;
    if (Math.max(st.mtimeMs, linkedAt.get(hex) ?? 0) > now - grace) {
      report.recent.push(digest);
      continue;
    }
    sweep.push(digest);
    report.bytes += st.size;
  }
  log(
    `${marked.size} blobs marked, ${sweep.length} blobs and ${report.manifests.length} manifests eligible for deletion` +
      (report.recent.length ? `, ${report.recent.length} recent blobs kept` : ''),
  );
  for (const digest of sweep) {
    log(`blob eligible for deletion: ${digest}`);
    report.blobs.push(digest);
    if (o.dryRun) continue;
    const hex = hexOfDigest(digest);
    // Links first, then the bytes: a crash in between leaves an unlinked blob, never a link to nothing.
    for (const repo of repos) await fs.rm(join(layout.repoDir(repo), '_blobs', hex), { force: true });
    await fs.rm(blobPath(digest), { force: true });
  }
  return report;
}

/** Removes an untagged manifest from a repository: its referrers link, then its revision. */
async function deleteRevision(layout: RepositoryLayout, repo: string, digest: Digest, path: string): Promise<void> {
  const subject = await fs
    .readFile(path, 'utf8')
    .then((t) => (JSON.parse(t) as { subject?: { digest?: unknown } }).subject?.digest)
    .catch(() => undefined);
  if (typeof subject === 'string' && isDigestText(subject))
    await fs.rm(layout.referrerLink(repo, subject, digest), { force: true });
  await fs.rm(layout.revisionLink(repo, digest), { force: true });
}
