/**
 * The Engine API's remote access rules, as pure functions: what berthd's TLS flags mean, what
 * its `-H` addresses become, and what a TCP listener without client verification is allowed.
 *
 * dockerd is the reference (daemon/command/{options,daemon}.go, opts/hosts.go):
 * - `--tlsverify` (any value) switches TLS on; `--tls` alone also verifies clients unless
 *   `--tlsverify=false` says otherwise; the files default to `ca.pem`, `cert.pem`, `key.pem` in
 *   $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker (a default cert or key that does not
 *   exist becomes no file, and loading then fails naming it).
 * - `-H tcp://HOST` without a port is port 2375, without a host `localhost`; no `-H` at all is the
 *   unix socket, or `tcp://localhost:2376` when TLS is on.
 * - A TCP listener without client verification logs dockerd's warnings and waits a second. When
 *   TLS was not switched on or off explicitly and the address is not loopback, dockerd 27+ is
 *   documented to refuse to start (its code still only waits 15 s): Berth refuses.
 *
 *   const tls = resolveApiTls({ tlsVerify: true, tlsCert: 'server-cert.pem', ... }, process.env);
 *   const hosts = normalizeHosts(['tcp://0.0.0.0'], tls.enabled);   // ['tcp://0.0.0.0:2375']
 *   exposure(tls, false)   // 'ok' | 'warn' | 'refuse'
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';

/** The flags as given on the command line; undefined: not given (dockerd cares which). */
export interface ApiTlsFlags {
  tls?: boolean;
  tlsVerify?: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export interface ApiTls {
  /** TCP listeners speak TLS. */
  enabled: boolean;
  /** Clients must present a certificate signed by `ca` (dockerd's RequireAndVerifyClientCert). */
  verifyClients: boolean;
  /** TLS was switched on or off on purpose (dockerd's checkTLSAuthOK): plain TCP is then allowed anywhere. */
  explicit: boolean;
  ca: string;
  /** '' when no file was given and the default does not exist. */
  cert: string;
  key: string;
}

export const DEFAULT_HTTP_PORT = 2375;
export const DEFAULT_TLS_PORT = 2376;

/** Where docker keeps client and daemon certificates by default. */
export function defaultCertPath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return env.DOCKER_CERT_PATH || env.DOCKER_CONFIG || join(home, '.docker');
}

export function resolveApiTls(
  f: ApiTlsFlags,
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
  home = homedir(),
): ApiTls {
  // dockerd's options.setDefaultOptions, then loadDaemonCliConfig, step by step: the
  // environment's DOCKER_TLS_VERIFY only matters together with an explicit --tls.
  let optsVerify = f.tlsVerify ?? !!env.DOCKER_TLS_VERIFY;
  let optsTls = f.tls ?? false;
  if (f.tlsVerify !== undefined || optsVerify) optsTls = true;
  if (optsTls && f.tlsVerify === undefined) optsVerify = true;
  let confTls = f.tls !== undefined ? optsTls : undefined;
  let confVerify: boolean | undefined;
  if (f.tlsVerify !== undefined) {
    confVerify = optsVerify;
    confTls = true;
  }
  if (confVerify === undefined && confTls !== undefined) confVerify = confTls;

  const dir = defaultCertPath(env, home);
  const orDefault = (given: string | undefined, name: string) => {
    if (given !== undefined) return given;
    const p = join(dir, name);
    return exists(p) ? p : '';
  };
  const enabled = confTls === true;
  return {
    enabled,
    verifyClients: enabled && confVerify !== false,
    explicit: confTls === false || (confTls === true && confVerify !== undefined),
    ca: f.tlsCaCert ?? join(dir, 'ca.pem'),
    cert: orDefault(f.tlsCert, 'cert.pem'),
    key: orDefault(f.tlsKey, 'key.pem'),
  };
}

/**
 * `-H` values as dockerd normalises them: `tcp://host:port` with dockerd's defaults filled in,
 * `unix://path`, duplicates dropped; the default when none is given.
 */
export function normalizeHosts(hosts: readonly string[], tls: boolean, defaultSocket: string): string[] {
  if (hosts.length === 0) return [tls ? `tcp://localhost:${DEFAULT_TLS_PORT}` : `unix://${defaultSocket}`];
  const out: string[] = [];
  for (const h of hosts) {
    const n = normalizeHost(h.trim(), defaultSocket);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

function normalizeHost(h: string, defaultSocket: string): string {
  if (h.startsWith('/')) return `unix://${h}`;
  const sep = h.indexOf('://');
  const proto = sep >= 0 ? h.slice(0, sep) : 'tcp';
  const addr = sep >= 0 ? h.slice(sep + 3) : h;
  if (proto === 'unix') {
    if (addr.includes('://')) throw invalidArgument(`invalid unix address: ${addr}`);
    return `unix://${addr || defaultSocket}`;
  }
  if (proto !== 'tcp') throw invalidArgument(`invalid bind address (${h}): unsupported proto '${proto}'`);
  const m = /^(?:\[([^\]]*)\]|([^:/[\]]*))(?::([^/]*))?$/.exec(addr);
  if (!m) throw invalidArgument(`invalid bind address (${h}): should not contain a path element`);
  const host = m[1] ?? m[2] ?? '';
  const port = m[3] === undefined || m[3] === '' ? String(DEFAULT_HTTP_PORT) : m[3];
  if (!/^\d+$/.test(port) || Number(port) === 0 || Number(port) > 65535)
    throw invalidArgument(`invalid bind address (${h}): invalid port: ${port}`);
  const name = host || 'localhost';
  return `tcp://${name.includes(':') ? `[${name}]` : name}:${Number(port)}`;
}

/** host and port of a normalised `tcp://` address. */
export function tcpAddress(h: string): { host: string; port: number } {
  const m = /^tcp:\/\/(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(h);
  if (!m) throw invalidArgument(`invalid bind address (${h})`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

/**
 * What a TCP listener may do: 'ok' with client verification; 'warn' without it (dockerd's
 * warnings and one second's wait), and 'refuse' when, besides, TLS was not set explicitly and
 * the address is not loopback.
 */
export function exposure(tls: ApiTls, loopback: boolean): 'ok' | 'warn' | 'refuse' {
  if (tls.enabled && tls.verifyClients) return 'ok';
  if (!tls.explicit && !loopback) return 'refuse';
  return 'warn';
}

/** dockerd's warnings for a TCP listener without --tlsverify (daemon/command/daemon.go, verbatim). */
export function exposureWarnings(host: string): string[] {
  return [
    `Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. host="${host}"`,
    `Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there! host="${host}"`,
  ];
}

/** Why berthd will not start: dockerd's own sentences, and the two ways out. */
export function refusal(host: string): string {
  return (
    `refusing to listen on ${host}: binding to an IP address without --tlsverify gives root access on this machine to everyone who has access to your network. ` +
    `Please consider generating tls certificates with client validation to prevent exposing unauthenticated root access to your network ` +
    `(--tlsverify --tlscacert --tlscert --tlskey). You can override this by explicitly specifying '--tls=false' or '--tlsverify=false'`
  );
}

/** `docker info` warnings for each TCP listener without encryption or verification (dockerd's daemon/info.go). */
export function infoWarnings(hosts: readonly string[], tls: ApiTls): string[] {
  const note =
    "\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the 'Docker daemon attack surface' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/";
  const out: string[] = [];
  for (const h of hosts) {
    if (!h.startsWith('tcp://')) continue;
    const addr = h.slice('tcp://'.length);
    if (!tls.enabled) out.push(`WARNING: API is accessible on http://${addr} without encryption.${note}`);
    else if (!tls.verifyClients)
      out.push(`WARNING: API is accessible on https://${addr} without TLS client verification.${note}`);
  }
  return out;
}
