/**
 * Registry certificates by host, in the layout dockerd reads: `<dir>/<host[:port]>/` holding
 * `*.crt` (CAs to trust besides the system's), and `<name>.cert` + `<name>.key` pairs (client
 * certificates for registries that ask for one). Berth reads its own `/etc/berth/certs.d` and
 * dockerd's `/etc/docker/certs.d`, so a registry set up for Docker works unchanged.
 *
 *   const t = registryCerts('registry.example:5000');   // undefined: no directory for it
 *   https.request({ ca: t?.ca, cert: t?.cert, key: t?.key, ... });
 *
 * Rules as dockerd's (daemon/pkg/registry/registry.go): a `.cert` without its `.key`, or a
 * `.key` without its `.cert`, is an error naming both; a `.crt` that holds no certificate adds
 * nothing; an unreadable directory is an error, a missing one is not. Read at every call (each
 * pull, push or login), so certificates dropped in take effect without a restart, as in dockerd.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getCACertificates } from 'node:tls';
import { invalidArgument } from '../errdefs/index.ts';
import { parseCertificates, readError, readKeyPair } from './load.ts';

export const DEFAULT_CERTS_DIRS: readonly string[] = Object.freeze(['/etc/berth/certs.d', '/etc/docker/certs.d']);

export interface RegistryCerts {
  /** The system's roots plus every `.crt` found: what the registry's certificate is checked against. */
  ca: string[];
  /** The `.crt` certificates alone. */
  ownCa: string[];
  /** The first client certificate pair found, if any. */
  cert?: Buffer;
  key?: Buffer;
  /** Where they came from, for messages. */
  dirs: string[];
}

let systemRoots: string[] | undefined;

/**
 * Node's bundled roots and the host's (Debian's /etc/ssl/certs): Node trusts only its bundle by
 * default, Go only the host's; a registry signed by either should work.
 */
export function trustedRoots(): string[] {
  systemRoots ??= [...new Set([...getCACertificates('default'), ...getCACertificates('system')])];
  return systemRoots;
}

function listDir(dir: string): string[] | undefined {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw invalidArgument(readError(dir, e), e);
  }
}

/**
 * The certificates for `host` (as the reference names it: `name[:port]`), from the first to
 * the last of `dirs`; undefined when no directory has an entry for it.
 */
export function registryCerts(host: string, dirs: readonly string[] = DEFAULT_CERTS_DIRS): RegistryCerts | undefined {
  // A reference's host cannot hold a slash, but a mirror URL's could try to leave the directory.
  if (!host || host.includes('/') || host === '.' || host === '..') return undefined;
  let found: RegistryCerts | undefined;
  for (const base of dirs) {
    const dir = join(base, host);
    const names = listDir(dir);
    if (!names) continue;
    found ??= { ca: [], ownCa: [], dirs: [] };
    found.dirs.push(dir);
    for (const name of names) {
      if (name.endsWith('.crt')) {
        let pem: Buffer;
        try {
          pem = readFileSync(join(dir, name));
        } catch (e) {
          throw invalidArgument(readError(join(dir, name), e), e);
        }
        for (const c of parseCertificates(pem)) found.ownCa.push(c.toString());
      } else if (name.endsWith('.cert')) {
        const keyName = `${name.slice(0, -5)}.key`;
        if (!names.includes(keyName))
          throw invalidArgument(
            `missing key ${keyName} for client certificate ${name}. CA certificates must use the extension .crt`,
          );
        const pair = readKeyPair(join(dir, name), join(dir, keyName));
        if (!found.cert) {
          found.cert = pair.cert;
          found.key = pair.key;
        }
      } else if (name.endsWith('.key')) {
        const certName = `${name.slice(0, -4)}.cert`;
        if (!names.includes(certName)) throw invalidArgument(`missing client certificate ${certName} for key ${name}`);
      }
    }
  }
  if (found) found.ca = [...trustedRoots(), ...found.ownCa];
  return found;
}
