/**
 * Remote access, at start: the API's TLS material loaded and checked, and each TCP address
 * held to the rules of apitls.ts — dockerd's warnings and one second's wait for a listener
 * without client verification, a refusal for one that would expose the API unauthenticated
 * beyond loopback without `--tls=false` said on purpose. It runs before anything else starts,
 * so a refused start leaves nothing behind, and no address is ever bound for it.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { failedPrecondition, invalidArgument } from '../errdefs/index.ts';
import { fileWarnings, loadServerTls, type ServerTls, type TrustedFile } from '../tls/index.ts';
import { exposure, exposureWarnings, refusal, tcpAddress, type ApiTls } from './apitls.ts';
import type { Logger } from './log.ts';

export function isLoopbackIp(ip: string): boolean {
  if (isIP(ip) === 4) return ip.startsWith('127.');
  const v6 = ip.toLowerCase();
  return v6 === '::1' || /^::ffff:127\./.test(v6);
}

/** dockerd's test: the literal `localhost`, a loopback IP, or a name whose first address is one. */
export async function isLoopbackHost(host: string): Promise<boolean> {
  if (host === 'localhost') return true;
  if (isIP(host)) return isLoopbackIp(host);
  try {
    return isLoopbackIp((await lookup(host)).address);
  } catch {
    return false;
  }
}

/** The listeners' TLS, or undefined without it; throws what dockerd calls an invalid TLS configuration. */
export function loadApiTls(tls: ApiTls, log: Logger): ServerTls | undefined {
  if (!tls.enabled) return undefined;
  let loaded: ServerTls;
  try {
    loaded = loadServerTls({
      cert: tls.cert,
      key: tls.key,
      clientCa: tls.verifyClients ? tls.ca : undefined,
    });
  } catch (e) {
    throw invalidArgument(`invalid TLS configuration: ${(e as Error).message}`, e);
  }
  const files: TrustedFile[] = [
    { path: tls.cert, kind: 'cert' },
    { path: tls.key, kind: 'key' },
  ];
  if (tls.verifyClients) files.push({ path: tls.ca, kind: 'ca' });
  for (const w of fileWarnings(files)) log.warn(w);
  const notAfter = Date.parse(loaded.certificate.validTo);
  if (notAfter < Date.now()) log.warn(`TLS certificate ${tls.cert} expired on ${loaded.certificate.validTo}`);
  return loaded;
}

/** Warns about, waits for, or refuses each TCP address, as dockerd's loadListeners does. */
export async function checkExposure(
  hosts: readonly string[],
  tls: ApiTls,
  log: Logger,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  for (const h of hosts) {
    if (!h.startsWith('tcp://')) continue;
    const verdict = exposure(tls, await isLoopbackHost(tcpAddress(h).host));
    if (verdict === 'ok') continue;
    if (verdict === 'refuse') throw failedPrecondition(refusal(h));
    for (const w of exposureWarnings(h)) log.warn(w);
    await wait(1000);
  }
}
