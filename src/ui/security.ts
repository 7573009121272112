/**
 * The dashboard's gatekeeping, as pure functions: the access token and its cookie, the Host
 * check against DNS rebinding, and the Origin check against cross-site writes.
 *
 * Why all three: berthd runs as root, so whoever can drive the dashboard owns the machine.
 * The token keeps out other local users and web pages; a rebinding page (evil.example resolving
 * to 127.0.0.1) would be same-origin with the dashboard in the browser's eyes, so the Host it
 * sends must be refused; a cross-site form or fetch carries an Origin that is not ours.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * The session cookie's name. Cookies are not kept apart by port, so each dashboard's carries
 * its port: two dashboards open in one browser would otherwise overwrite each other's.
 */
export function cookieName(port: number): string {
  return `berth_dashboard_${port}`;
}

/** 32 random bytes, URL-safe: what the printed URL carries. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The Set-Cookie that the token URL is exchanged for: never readable by scripts, never sent
 * cross-site, and over HTTPS never sent in clear text either (Secure).
 */
export function sessionCookie(token: string, port: number, secure = false): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
}

/** The token a request carries: the session cookie, or `Authorization: Bearer` for scripts. */
export function requestToken(headers: { cookie?: string; authorization?: string }, port: number): string | undefined {
  const auth = headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  return cookieValue(headers.cookie, cookieName(port));
}

export interface Listen {
  host: string;
  port: number;
}

/** `127.0.0.1:8088`, `[::1]:8088`, `:8088` (loopback), `localhost:0`. */
export function parseListen(s: string): Listen {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  if (!m) throw new Error(`invalid listen address "${s}": expected HOST:PORT`);
  const host = m[1] ?? (m[2] || '127.0.0.1');
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid listen address "${s}": port out of range`);
  if (m[1] !== undefined && isIP(host) !== 6) throw new Error(`invalid listen address "${s}": not an IPv6 address`);
  return { host, port };
}

const WILDCARD = new Set(['0.0.0.0', '::']);

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `host:port` as a Host header or URL writes it (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The address to print: a wildcard listener is opened through loopback. */
export function urlHost(l: Listen): string {
  return hostPort(WILDCARD.has(l.host) ? '127.0.0.1' : l.host, l.port);
}

/**
 * Whether a Host header names this dashboard: the listen address or `localhost`, with the
 * listen port. On a wildcard listener any IP literal is accepted (an address cannot be
 * rebound; only names can), names other than `localhost` are not.
 */
export function hostAllowed(header: string | undefined, l: Listen, secure = false): boolean {
  if (!header) return false;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(header.trim().toLowerCase());
  if (!m) return false;
  const name = m[1] ?? m[2]!;
  const port = m[3] === undefined ? (secure ? 443 : 80) : Number(m[3]);
  if (port !== l.port) return false;
  if (name === 'localhost' || name === l.host.toLowerCase()) return true;
  if (m[1] !== undefined && isIP(name) !== 6) return false;
  if (WILDCARD.has(l.host)) return isIP(name) !== 0;
  // a loopback listener is reached through any loopback literal of its family
  return isLoopback(l.host) && isLoopback(name) && isIP(name) === isIP(l.host === 'localhost' ? '127.0.0.1' : l.host);
}

/**
 * Whether a request may come from where it says: an Origin, when sent, must be this
 * dashboard's own (`http://`, or `https://` when it serves TLS, + an allowed Host);
 * `Sec-Fetch-Site`, when sent, must not be cross-site. Browsers send Origin on every write,
 * so a cross-site form or fetch fails here.
 */
export function originAllowed(
  headers: { origin?: string; 'sec-fetch-site'?: string },
  l: Listen,
  secure = false,
): boolean {
  const site = headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  const m = (secure ? /^https:\/\/([^/]+)$/ : /^http:\/\/([^/]+)$/).exec(origin);
  return !!m && hostAllowed(m[1], l, secure);
}
