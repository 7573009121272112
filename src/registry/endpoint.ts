/**
 * Which URL a registry name is reached at, as dockerd decides it: loopback registries and
 * those named with `--insecure-registry` (a CIDR or a host[:port]) speak plain HTTP, the rest
 * HTTPS. Docker Hub (`docker.io`) goes to the first `--registry-mirror` when one is given;
 * without one it is not reachable from this daemon at all, and the caller says so.
 */
import { isIP } from 'node:net';
import { invalidArgument, unavailable } from '../errdefs/index.ts';

export interface RegistryConfig {
  /** `--insecure-registry`: CIDRs (`10.0.0.0/8`) or host[:port] names. */
  insecure: readonly string[];
  /** `--registry-mirror`: URLs tried for docker.io. */
  mirrors: readonly string[];
}

export interface Endpoint {
  /** The registry name as references spell it (`127.0.0.1:5000`, `docker.io`). */
  name: string;
  /** `http://127.0.0.1:5000` — no trailing slash. */
  base: string;
  /** Through a mirror (docker.io). */
  mirror: boolean;
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
  if (name === DOCKER_HUB || name === 'index.docker.io' || name === 'registry-1.docker.io') {
    if (purpose === 'push')
      throw unavailable(
        'no registry can be reached from this daemon: Docker Hub (registry-1.docker.io) is offline here, and mirrors only serve pulls',
      );
    const m = c.mirrors[0];
    if (!m)
      throw unavailable(
        'no registry can be reached from this daemon: Docker Hub is offline here (give berthd --registry-mirror to pull docker.io images through a mirror)',
      );
    return { name: DOCKER_HUB, base: m.replace(/\/+$/, ''), mirror: true };
  }
  return { name, base: `${isInsecure(name, c) ? 'http' : 'https'}://${name}`, mirror: false };
}
