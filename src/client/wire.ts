/**
 * How the client puts values on the wire and reads them back: query strings, `filters`, the
 * `X-Registry-Auth` header, path segments, the archive stat header; a body read whole or
 * dropped. Shared by the transport and the calls of every resource.
 */
import type { IncomingMessage } from 'node:http';
import type * as T from '../api/types/index.ts';
import type { Query } from './client.ts';

/** `{"a": ["1"]}` as Docker's `filters` query parameter; undefined when empty. */
export function encodeFilters(f: T.Filters | undefined): string | undefined {
  if (!f) return undefined;
  const entries = Object.entries(f).filter(([, v]) => v.length);
  if (!entries.length) return undefined;
  return JSON.stringify(Object.fromEntries(entries));
}

export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else if (typeof v === 'boolean') p.set(k, v ? '1' : '0');
    else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Compares dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** base64url of the JSON auth config, as X-Registry-Auth wants it. */
export function encodeAuth(auth: T.AuthConfig | undefined): string {
  return Buffer.from(JSON.stringify(auth ?? {})).toString('base64url');
}

export const enc = encodeURIComponent;

/** Image names keep their slashes in the path (`/images/localhost:5000/app/json`). */
export function encName(name: string): string {
  return name.split('/').map(enc).join('/');
}

/** The `X-Docker-Container-Path-Stat` header of an archive answer (empty fields when absent). */
export function decodePathStat(h: string | string[] | undefined): T.PathStat {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return { name: '', size: 0, mode: 0, mtime: '', linkTarget: '' };
  return JSON.parse(Buffer.from(v, 'base64').toString('utf8')) as T.PathStat;
}

export async function readAll(s: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

/** Reads a body to its end and drops it, so the connection can be reused. */
export async function drain(res: IncomingMessage): Promise<void> {
  for await (const _ of res) void _;
}
