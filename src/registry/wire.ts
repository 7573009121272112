/**
 * The registry client's wire helpers: 401 challenges, scopes, error bodies, bodies read with a
 * cap, and blob streams checked against their descriptor as they arrive.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { invalidArgument, unavailable } from '../errdefs/index.ts';
import type { Digest } from '../spec/index.ts';

export const MAX_ERROR_BODY = 64 * 1024;

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** `Bearer realm="https://a/token",service="reg",scope="x"` → scheme and parameters. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme, params };
}

/** `repository:t/busybox:pull,push` */
export function repoScope(repo: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repo}:${actions}`;
}

/** The registry's error body, `{"errors":[{"code","message"}]}`, as one line. */
export async function errorText(res: IncomingMessage): Promise<string> {
  let body = '';
  try {
    body = (await readCapped(res, MAX_ERROR_BODY, true)).toString('utf8');
  } catch {
    return '';
  }
  try {
    const j = JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> };
    if (Array.isArray(j.errors) && j.errors.length) {
      return j.errors
        .map(
          (e) =>
            `${String(e.code ?? 'UNKNOWN')
              .toLowerCase()
              .replace(/_/g, ' ')}: ${e.message ?? ''}`,
        )
        .join(', ');
    }
  } catch {
    // not JSON: the text, if short
  }
  return body.trim().slice(0, 200);
}

/** The whole body, refusing more than `max` bytes (or truncating, for error bodies). */
export function readCapped(res: Readable, max: number, truncate = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    res.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        if (truncate) {
          res.destroy();
          resolve(Buffer.concat(chunks));
          return;
        }
        res.destroy();
        reject(invalidArgument(`registry response larger than ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.readableEnded) reject(unavailable('registry connection closed before the response ended'));
    });
  });
}

/**
 * A stream of exactly `size` bytes hashing to `digest`; anything else fails it (too many bytes
 * as soon as they arrive, a wrong digest or short body at the end).
 */
export function verified(source: Readable, digest: Digest, size: number): Readable {
  const hash = createHash('sha256');
  let n = 0;
  const t = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      if (n > size) return cb(invalidArgument(`blob ${digest}: more than the expected ${size} bytes`));
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (n !== size) return cb(invalidArgument(`blob ${digest}: expected ${size} bytes, got ${n}`));
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) return cb(invalidArgument(`blob ${digest}: digest mismatch: got ${got}`));
      cb();
    },
  });
  source.on('error', (e) => t.destroy(e));
  source.on('close', () => {
    if (!source.readableEnded && !t.destroyed)
      t.destroy(unavailable(`blob ${digest}: the registry closed the connection after ${n} of ${size} bytes`));
  });
  t.on('close', () => source.destroy());
  source.pipe(t);
  return t;
}
