/**
 * How the registry client speaks to one registry endpoint: the HTTP(S) requests, the plain-HTTP
 * fallback of an insecure registry, redirects to storage, and the answers to 401 challenges
 * (bearer tokens by scope, or Basic). It is apart from client.ts so that the distribution API's
 * operations there read as requests and answers, and the transport and auth rules sit in one place.
 *
 * Authentication follows the registry's 401 challenges: `Bearer realm=,service=,scope=` is
 * answered by a token fetched from the realm (with Basic credentials when the client has a
 * username and password, a refresh-token grant for an identity token, or the caller's registry
 * token as it is); `Basic` by the credentials themselves. A request whose body is a stream
 * cannot be sent twice, so callers make a small authenticated request first (the upload's
 * POST does that for its PUT).
 *
 * Lifecycle: one session per RegistryClient (which extends it); it caches the bearer tokens it
 * was handed, by scope, for its lifetime. A registry's redirect is followed for GET and HEAD,
 * without the registry's Authorization header when it leaves the registry's host.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { Readable } from 'node:stream';
import {
  BerthError,
  forbidden,
  internal,
  invalidArgument,
  notFound,
  unauthorized,
  unavailable,
} from '../errdefs/index.ts';
import type { Endpoint } from './endpoint.ts';
import { errorText, MAX_ERROR_BODY, parseChallenge, readCapped, type Challenge } from './wire.ts';
import { CIPHERS, MIN_VERSION } from '../tls/index.ts';

export interface Credentials {
  username?: string;
  password?: string;
  /** A refresh token an earlier login got from the registry's token service. */
  identityToken?: string;
  /** A bearer token to send as it is. */
  registryToken?: string;
}

const MAX_REDIRECTS = 5;
/** A connection that sends nothing for this long is given up. */
const IDLE_TIMEOUT_MS = 60_000;

interface SendOptions {
  scopes: string[];
  headers?: OutgoingHttpHeaders;
  /** A body that can be sent again after a 401. */
  body?: Buffer;
  /** A body sent once: no retry after a 401. */
  stream?: Readable;
  /** Follow redirects (GET and HEAD). */
  follow?: boolean;
}

export class RegistrySession {
  readonly endpoint: Endpoint;
  private readonly creds: Credentials;
  private challenge?: Challenge;
  private readonly tokens = new Map<string, string>();
  /** Where requests go: the endpoint's base, or its plain-HTTP fallback once HTTPS failed to connect. */
  protected current: string;
  /** The scheme is decided: an answer came back, or there is nothing to fall back to. */
  private settled: boolean;

  constructor(endpoint: Endpoint, creds: Credentials = {}) {
    this.endpoint = endpoint;
    this.creds = creds;
    this.current = endpoint.base;
    this.settled = !endpoint.fallback;
  }

  /** The registry's URL as it is being spoken to (`https://…`, or `http://…` after a fallback). */
  get base(): string {
    return this.current;
  }

  /** The endpoint's TLS for its own host; other hosts (a redirect to storage) get Node's defaults. */
  private tlsOptions(url: URL): HttpsRequestOptions {
    const t = this.endpoint.tls;
    if (url.protocol !== 'https:' || !t || url.host !== new URL(this.endpoint.base).host) return {};
    return {
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert ? { cert: t.cert, key: t.key } : {}),
      rejectUnauthorized: t.verify,
      minVersion: MIN_VERSION,
      ciphers: CIPHERS,
    };
  }

  /** The `host:port` being spoken to, to which the endpoint's credentials and settings are sent. */
  private get host(): string {
    return new URL(this.current).host;
  }

  /** The distribution API's root on this endpoint, `/v2` by the spec. */
  protected get root(): string {
    return this.endpoint.apiRoot ?? '/v2';
  }

  // ------------------------------------------------------------------ transport

  private raw(
    url: URL,
    method: string,
    headers: OutgoingHttpHeaders,
    body?: Buffer | Readable,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const fn = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
      if (!fn) return reject(invalidArgument(`registry URL "${url.href}": unsupported protocol`));
      // The endpoint's own settings (hosts.toml) hold for its host only, not for a redirect elsewhere.
      const own = url.host === this.host ? this.endpoint : undefined;
      const req = fn(
        url,
        {
          method,
          headers: { 'User-Agent': 'berth', ...own?.headers, ...headers } as OutgoingHttpHeaders,
          ...this.tlsOptions(url),
        },
        (res) => {
          // A connection reset while a response is only being drained must not be an unhandled
          // 'error' event (that would end the daemon); readers attach their own handlers.
          res.on('error', () => {});
          resolve(res);
        },
      );
      const dial = own?.dialTimeoutMs;
      if (dial)
        req.once('socket', (sock) => {
          if (!sock.connecting) return;
          const t = setTimeout(
            () => req.destroy(unavailable(`${method} ${url.href}: no connection within ${dial} ms`)),
            dial,
          );
          sock.once('connect', () => clearTimeout(t));
          sock.once('close', () => clearTimeout(t));
        });
      req.setTimeout(IDLE_TIMEOUT_MS, () =>
        req.destroy(unavailable(`${method} ${url.href}: no answer for ${IDLE_TIMEOUT_MS / 1000}s`)),
      );
      req.on('error', (e) => reject(e instanceof BerthError ? e : unavailable(requestFailure(method, url, e), e)));
      if (body instanceof Readable) {
        body.on('error', (e) => req.destroy(e));
        // A request that fails leaves no open file behind it.
        req.on('close', () => body.destroy());
        body.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  private authHeader(scopes: string[], host: string): string | undefined {
    if (host !== this.host) return undefined;
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      if (this.creds.username === undefined) return undefined;
      return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
    }
    const t = this.tokens.get(scopeKey(scopes));
    return t ? `Bearer ${t}` : undefined;
  }

  /** Answers a challenge: fetches the bearer token for `scopes`, or notes Basic. */
  private async authenticate(header: string | undefined, scopes: string[]): Promise<void> {
    const ch = parseChallenge(header);
    if (!ch) throw unauthorized('unauthorized: the registry asked for authentication it did not describe');
    this.challenge = ch;
    if (ch.scheme === 'basic') {
      if (this.creds.username === undefined) throw unauthorized('unauthorized: authentication required');
      return;
    }
    if (this.creds.registryToken) {
      this.tokens.set(scopeKey(scopes), this.creds.registryToken);
      return;
    }
    const realm = ch.params.realm;
    if (!realm) throw unauthorized('unauthorized: the registry gave no token realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch (e) {
      throw unauthorized(`unauthorized: bad token realm "${realm}"`, e);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw unauthorized(`unauthorized: bad token realm "${realm}"`);
    const all = scopes.length ? scopes : ch.params.scope ? [ch.params.scope] : [];
    let res: IncomingMessage;
    if (this.creds.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: this.creds.identityToken,
        client_id: 'berth',
        ...(ch.params.service ? { service: ch.params.service } : {}),
      });
      if (all.length) form.set('scope', all.join(' '));
      const body = Buffer.from(form.toString());
      res = await this.raw(
        url,
        'POST',
        { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length },
        body,
      );
    } else {
      if (ch.params.service) url.searchParams.set('service', ch.params.service);
      for (const s of all) url.searchParams.append('scope', s);
      const headers: OutgoingHttpHeaders = {};
      if (this.creds.username !== undefined)
        headers.Authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
      res = await this.raw(url, 'GET', headers);
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      const why = await errorText(res);
      throw unauthorized(why || 'unauthorized: incorrect username or password');
    }
    if (res.statusCode !== 200) {
      const why = await errorText(res);
      throw unavailable(`get token from ${url.origin}: status ${res.statusCode}${why ? `: ${why}` : ''}`);
    }
    let token: string | undefined;
    try {
      const j = JSON.parse((await readCapped(res, MAX_ERROR_BODY)).toString('utf8')) as {
        token?: unknown;
        access_token?: unknown;
      };
      token = typeof j.token === 'string' ? j.token : typeof j.access_token === 'string' ? j.access_token : undefined;
    } catch (e) {
      throw unavailable(`get token from ${url.origin}: the answer is not JSON`, e);
    }
    if (!token) throw unavailable(`get token from ${url.origin}: the answer has no token`);
    this.tokens.set(scopeKey(scopes), token);
  }

  /**
   * One request to the registry, answering one 401 challenge when the body can be re-sent,
   * following redirects when asked. The caller reads or discards the response.
   */
  protected async send(method: string, pathOrUrl: string, o: SendOptions): Promise<IncomingMessage> {
    let url = new URL(pathOrUrl, this.current + '/');
    let answered = false;
    for (let hops = 0; ;) {
      const headers: OutgoingHttpHeaders = { ...o.headers };
      const auth = this.authHeader(o.scopes, url.host);
      if (auth) headers.Authorization = auth;
      let res: IncomingMessage;
      try {
        res = await this.raw(url, method, headers, o.stream ?? o.body);
      } catch (e) {
        // An insecure registry that does not speak TLS: plain HTTP from now on, as dockerd's
        // second endpoint. Only while no HTTPS answer has come (a request sent beside the one
        // that fell back follows it), and only for a body that can be sent again.
        const overBase = !!this.endpoint.fallback && url.origin === new URL(this.endpoint.base).origin;
        if (!overBase || o.stream || (this.settled && this.current !== this.endpoint.fallback)) throw e;
        this.current = this.endpoint.fallback!;
        this.settled = true;
        url = new URL(url.pathname + url.search, this.current + '/');
        continue;
      }
      this.settled = true;
      if (res.statusCode === 401 && !answered && !o.stream && url.host === this.host) {
        res.resume();
        answered = true;
        await this.authenticate(res.headers['www-authenticate'], o.scopes);
        continue;
      }
      if (o.follow && [301, 302, 303, 307, 308].includes(res.statusCode!) && res.headers.location) {
        res.resume();
        if (++hops > MAX_REDIRECTS) throw unavailable(`${method} ${url.pathname}: too many redirects`);
        url = new URL(res.headers.location, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          throw unavailable(`${method}: redirect to an unsupported URL`);
        continue;
      }
      return res;
    }
  }

  /** Turns a failed answer into an error of the right category. */
  protected async failure(res: IncomingMessage, what: string): Promise<BerthError> {
    const why = await errorText(res);
    const msg = `${what}${why ? `: ${why}` : `: status ${res.statusCode}`}`;
    switch (res.statusCode) {
      case 401:
        return unauthorized(msg);
      case 403:
        return forbidden(msg);
      case 404:
        return notFound(msg);
      case 400:
      case 405:
      case 413:
        return invalidArgument(msg);
      default:
        return (res.statusCode ?? 500) >= 500 ? unavailable(msg) : internal(msg);
    }
  }
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}

/** What Go's net/http says where Node names an errno: dockerd's words, which scripts match. */
const DIAL_FAILURES: Record<string, (addr: string, host: string) => string> = {
  ECONNREFUSED: (addr) => `dial tcp ${addr}: connect: connection refused`,
  EHOSTUNREACH: (addr) => `dial tcp ${addr}: connect: no route to host`,
  ENETUNREACH: (addr) => `dial tcp ${addr}: connect: network is unreachable`,
  ETIMEDOUT: (addr) => `dial tcp ${addr}: i/o timeout`,
  ENOTFOUND: (_addr, host) => `dial tcp: lookup ${host}: no such host`,
};

/**
 * A request that got no answer, worded as dockerd reports it: `Get "http://127.0.0.1:1/v2/":
 * dial tcp 127.0.0.1:1: connect: connection refused` (Node's own words for errnos Go has none
 * for).
 */
export function requestFailure(method: string, url: URL, e: Error & { code?: string }): string {
  const verb = method.charAt(0) + method.slice(1).toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const dial = e.code ? DIAL_FAILURES[e.code] : undefined;
  const cause = dial ? dial(`${url.hostname}:${port}`, url.hostname) : e.message;
  return `${verb} "${url.href}": ${cause}`;
}
