/**
 * The build context as the request body brings it: a tar (plain or compressed, as the legacy
 * builder accepts) unpacked through the secure apply, or a bare Dockerfile (`docker build - <
 * Dockerfile`); then the Dockerfile found in it, as dockerd finds it (the name given, else
 * `Dockerfile`, then `dockerfile`), resolved inside the context so a link cannot lead out.
 */
import { promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { invalidArgument } from '../../errdefs/index.ts';
import { applyLayer, IgnoreMatcher, peek, readIgnoreFile, resolveInRoot } from '../../archive/index.ts';
import type { SpecialFiles } from '../../host/index.ts';

/**
 * Unpacks `body` into `contextDir` and reads the Dockerfile: its name as normalised inside the
 * context, and its text. A Dockerfile that cannot be found is InvalidArgument.
 */
export async function unpackContext(
  body: Readable,
  contextDir: string,
  dockerfile: string | undefined,
  host: SpecialFiles,
): Promise<{ dockerfileName: string; text: string }> {
  const { head, stream } = await peek(body, 512);
  let dockerfileName = dockerfile || 'Dockerfile';
  if (looksLikeArchive(head)) {
    const plainTar = !isCompressed(head);
    await applyLayer(plainTar ? Readable.from(padded(stream)) : Readable.from(stream), contextDir, {
      host,
      literal: true,
    });
  } else {
    // a bare Dockerfile as the body (`docker build - < Dockerfile`)
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c);
    dockerfileName = 'Dockerfile';
    await fs.writeFile(join(contextDir, dockerfileName), Buffer.concat(chunks));
  }
  let text: string | undefined;
  const rel = posix.normalize(dockerfileName.replace(/^\/+/, ''));
  const abs = await resolveInRoot(contextDir, rel);
  text = abs ? await fs.readFile(abs, 'utf8').catch(() => undefined) : undefined;
  if (text === undefined && !dockerfile) {
    const lower = await resolveInRoot(contextDir, 'dockerfile');
    text = lower ? await fs.readFile(lower, 'utf8').catch(() => undefined) : undefined;
  }
  if (text === undefined) throw invalidArgument(`Cannot locate specified Dockerfile: ${dockerfileName}`);
  await removeIgnoredBuildFiles(contextDir, rel);
  return { dockerfileName: rel, text };
}

/**
 * As dockerd's legacy builder, once the Dockerfile is read: `.dockerignore` and the Dockerfile
 * leave the context when `.dockerignore` excludes them. This is how a Dockerfile from outside
 * the context never reaches the image: the docker CLI sends it inside the tar under a generated
 * name (`.dockerfile.<random>`) and adds that name to `.dockerignore`.
 */
async function removeIgnoredBuildFiles(contextDir: string, dockerfile: string): Promise<void> {
  const ignore = await resolveInRoot(contextDir, '.dockerignore');
  const text = ignore ? await fs.readFile(ignore, 'utf8').catch(() => undefined) : undefined;
  if (text === undefined) return;
  let m: IgnoreMatcher;
  try {
    m = new IgnoreMatcher(readIgnoreFile(text));
  } catch {
    return; // a pattern Go cannot compile: dockerd goes on with the context as it is
  }
  for (const f of ['.dockerignore', dockerfile]) {
    // The entry itself goes (a link, not what it names); a name outside the context is left.
    if (!m.excluded(f) || f === '..' || f.startsWith('../')) continue;
    await fs.rm(join(contextDir, f), { force: true });
  }
}

function isCompressed(head: Buffer): boolean {
  return (
    (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) ||
    (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') ||
    (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) ||
    (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528)
  );
}

/**
 * A plain tar, its last block padded and the end-of-archive blocks added. The docker CLI sends
 * a Dockerfile from outside the context (`-f ../Dockerfile`) by rewriting the context tar with
 * moby's ReplaceFileTarWrapper, which closes its pipe before its tar writer: the stream ends
 * right after the last entry's data, with neither padding nor trailer. Go's reader takes that;
 * so must we (extra zero blocks after a complete tar are ignored).
 */
async function* padded(stream: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let total = 0;
  for await (const c of stream) {
    total += c.length;
    yield c;
  }
  yield Buffer.alloc(((512 - (total % 512)) % 512) + 1024);
}

/** Whether the body starts like a tar or a compressed stream (the old tar header check included). */
function looksLikeArchive(head: Buffer): boolean {
  if (head.length === 0) return true;
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return true;
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return true;
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return true;
  // an old-style tar header: a plausible checksum field
  if (head.length >= 512 && /^[0-7 \0]{6,8}$/.test(head.subarray(148, 156).toString('latin1'))) return true;
  return false;
}
