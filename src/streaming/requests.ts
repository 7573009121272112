/**
 * The requests the streaming server has handed out URLs for. The CRI's Exec, Attach and
 * PortForward calls only return a URL; the client connects to it afterwards, so the request
 * waits here under a random token: used once, forgotten after a minute (kubelet's cache:
 * 8 random bytes, base64url, at most 1000 waiting).
 */
import { randomBytes } from 'node:crypto';
import { unavailable } from '../errdefs/index.ts';

export const TOKEN_TTL_MS = 60_000;
export const MAX_IN_FLIGHT = 1000;

export class RequestCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** A new token for the request. */
  insert(value: T): string {
    this.prune();
    if (this.entries.size >= MAX_IN_FLIGHT)
      throw unavailable(`streaming: ${MAX_IN_FLIGHT} requests already wait for their client; try again later`);
    let token: string;
    do token = randomBytes(8).toString('base64url');
    while (this.entries.has(token));
    this.entries.set(token, { value, expires: this.now() + TOKEN_TTL_MS });
    return token;
  }

  /** The request for a token, once; undefined when unknown or expired. */
  consume(token: string): T | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    this.entries.delete(token);
    return e.expires > this.now() ? e.value : undefined;
  }

  get size(): number {
    this.prune();
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }
}
