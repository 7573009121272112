/**
 * Which URL a registry name is reached at by default, and with what TLS, as dockerd decides it
 * (daemon/pkg/registry/service_v2.go): HTTPS, checked against the system's roots plus the CAs
 * in the registry's certs.d directory, with the client certificate found there. Loopback
 * registries and those named with `--insecure-registry` (a CIDR or a host[:port]) are tried
 * over HTTPS without checking the certificate, then over plain HTTP. Berth departs in one
 * place: a registry whose certs.d directory holds a CA is checked against it even when it is
 * insecure (dockerd then skips verification), since its owner said whom to trust.
 * Docker Hub (`docker.io`) goes to the first `--registry-mirror` when one is given; without
 * one it is not reachable from this daemon at all, and the caller says so.
 * Per-registry hosts files and registries.conf (mirrors.ts) come before these defaults, and
 * build their hosts' endpoints with the same rules (`endpointAt`).
 */
import { isIP } from 'node:net';
import { invalidArgument, unavailable } from '../errdefs/index.ts';
import { DEFAULT_CERTS_DIRS, registryCerts, trustedRoots } from '../tls/index.ts';

export interface RegistryConfig {
  /** `--insecure-registry`: CIDRs (`10.0.0.0/8`) or host[:port] names. */
  insecure: readonly string[];
  /** `--registry-mirror`: URLs tried for docker.io. */
  mirrors: readonly string[];
  /**
   * `--registry-certs-dir`: certs.d-style directories (default /etc/berth/certs.d, /etc/docker/certs.d).
   * A registry's directory there may also hold containerd's hosts.toml (mirrors.ts).
   */
  certsDirs?: readonly string[];
  /** `--registries-conf`: a containers-registries.conf(5) file. */
  registriesConf?: string;
}

/** TLS for an https:// endpoint. */
export interface EndpointTls {
  /** Trusted roots (PEM); undefined: Node's own. */
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
  /** Check the registry's certificate and name (false for insecure registries, as dockerd). */
  verify: boolean;
}

export interface Endpoint {
  /** The registry name as references spell it (`127.0.0.1:5000`, `docker.io`). */
  name: string;
  /** `https://127.0.0.1:5000` — no trailing slash. */
  base: string;
  /** Not the registry itself but a host serving its images (a mirror). */
  mirror: boolean;
  tls?: EndpointTls;
  /** Plain HTTP, tried when the first request over `base` fails to connect (insecure registries). */
  fallback?: string;
  /** The distribution API's root path on this host; `/v2` unless a hosts file overrides it. */
  apiRoot?: string;
  /** Extra headers sent with every request to this host (hosts.toml's `header`). */
  headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Give up connecting after this long, so the next host is tried soon (hosts.toml's `dial_timeout`). */
  dialTimeoutMs?: number;
}

export const DOCKER_HUB = 'docker.io';

/** Checks the flags' values once, at daemon start: a bad one is a start-up error. */
export function checkRegistryConfig(c: RegistryConfig): void {
  for (const s of c.insecure) {
    if (s.includes('/')) parseCidr(s);
    else if (!/^[a-zA-Z0-9.-]+(?::[0-9]+)?$/.test(s) && !/^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/.test(s))
      throw invalidArgument(`insecure registry "${s}": not a CIDR or host[:port]`);
  }
  for (const m of c.mirrors) {
    let u: URL;
    try {
      u = new URL(m);
    } catch (e) {
      throw invalidArgument(`registry mirror "${m}": not a URL`, e);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw invalidArgument(`registry mirror "${m}": only http and https URLs are supported`);
  }
}

/** host and port of `host[:port]` or `[v6]:port`. */
function splitHost(name: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(name);
  if (v6) return { host: v6[1]!, port: v6[2] };
  const i = name.lastIndexOf(':');
  if (i > 0 && name.indexOf(':') === i) return { host: name.slice(0, i), port: name.slice(i + 1) };
  return { host: name };
}

function ipv4ToInt(s: string): number {
  return s.split('.').reduce((n, p) => (n << 8) + Number(p), 0) >>> 0;
}

function parseCidr(s: string): { addr: number; bits: number } {
  const [a, b] = s.split('/');
  const bits = Number(b);
  if (isIP(a ?? '') !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32)
    throw invalidArgument(`insecure registry "${s}": only IPv4 CIDRs are supported`);
  return { addr: ipv4ToInt(a!), bits };
}

function inCidr(ip: string, cidr: string): boolean {
  if (isIP(ip) !== 4) return false;
  const { addr, bits } = parseCidr(cidr);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) >>> 0 === (addr & mask) >>> 0;
}

/** Is this registry spoken to over plain HTTP? */
export function isInsecure(name: string, c: RegistryConfig): boolean {
  const { host } = splitHost(name);
  if (host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))) return true;
  for (const s of c.insecure) {
    if (s.includes('/')) {
      if (inCidr(host, s)) return true;
    } else if (s === name || s === host) {
      return true;
    }
  }
  return false;
}

/**
 * Where `name` is reached; docker.io without a mirror is Unavailable. Mirrors serve pulls only
 * (as dockerd uses them): a push or login to docker.io would go to Docker Hub itself, which is
 * out of reach.
 */
export function endpointFor(name: string, c: RegistryConfig, purpose: 'pull' | 'push' = 'pull'): Endpoint {
  // certs.d is read at every call, as dockerd reads it: certificates dropped in need no restart.
  if (isDockerHub(name)) {
    if (purpose === 'push')
      throw unavailable(
        'no registry can be reached from this daemon: Docker Hub (registry-1.docker.io) is offline here, and mirrors only serve pulls',
      );
    const m = c.mirrors[0];
    if (!m) throw dockerHubOffline();
    return endpointAt(DOCKER_HUB, m.replace(/\/+$/, ''), c, true);
  }
  const insecure = isInsecure(name, c);
  const tls = tlsFor(name, insecure, c);
  const base = `https://${name}`;
  return tls.verify || !insecure
    ? { name, base, mirror: false, tls }
    : { name, base, mirror: false, tls, fallback: `http://${name}` };
}

/**
 * The endpoint of a host given by URL (a `--registry-mirror`, a hosts.toml or registries.conf
 * host) serving `name`'s images: the URL's scheme as given, no fallback, and for HTTPS the TLS
 * `endpointFor` would use for that host (its certs.d files; unchecked when it is insecure).
 */
export function endpointAt(name: string, base: string, c: RegistryConfig, mirror: boolean): Endpoint {
  const url = new URL(base);
  if (url.protocol !== 'https:') return { name, base, mirror };
  return { name, base, mirror, tls: tlsFor(url.host, isInsecure(url.host, c), c) };
}

/** The roots, client certificate and verification for `host` (dockerd's newTLSConfig). */
function tlsFor(host: string, insecure: boolean, c: RegistryConfig): EndpointTls {
  const certs = registryCerts(host, c.certsDirs ?? DEFAULT_CERTS_DIRS);
  const own = !!certs?.ownCa.length;
  const client = certs?.cert ? { cert: certs.cert, key: certs.key } : {};
  if (insecure && !own) return { verify: false, ...client };
  return { ca: certs?.ca ?? trustedRoots(), verify: true, ...client };
}

export function dockerHubOffline(): Error {
  return unavailable(
    'no registry can be reached from this daemon: Docker Hub is offline here (give berthd --registry-mirror, or a docker.io/hosts.toml in /etc/berth/certs.d, to pull docker.io images through a mirror)',
  );
}

export function isDockerHub(name: string): boolean {
  return name === DOCKER_HUB || name === 'index.docker.io' || name === 'registry-1.docker.io';
}
