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
import { applyLayer, peek, resolveInRoot } from '../../archive/index.ts';
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
    await applyLayer(Readable.from(stream), contextDir, { host, literal: true });
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
  return { dockerfileName: rel, text };
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
