/**
 * Which TLS files a client uses, by the docker CLI's rules (docker/cli cli/flags/options.go),
 * so `berth`, `berth compose` and the dashboard take the same flags and environment:
 *
 * - `--tlsverify` (any value) or a non-empty DOCKER_TLS_VERIFY switch TLS on and check the
 *   daemon's certificate against the CA; `--tls` or a non-empty DOCKER_TLS switch TLS on
 *   without that check (the connection is encrypted, the daemon not authenticated).
 * - The files default to `ca.pem`, `cert.pem`, `key.pem` in $DOCKER_CERT_PATH, else
 *   $DOCKER_CONFIG, else ~/.docker. The CA file must exist whenever TLS is on (docker reads it
 *   even when it does not verify); a default cert or key that does not exist is no client
 *   certificate.
 * - Without -H or DOCKER_HOST, TLS means `tcp://localhost:2376`.
 *
 *   const files = clientTlsFiles({ tlsVerify: true }, process.env);   // undefined: no TLS
 *   const tls = files && loadClientTls(files);
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ClientTlsFiles } from '../tls/index.ts';
import { dockerConfigDir } from './context.ts';

/** The global flags as given; undefined: not given. */
export interface TlsFlags {
  tls?: boolean;
  tlsVerify?: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export function clientTlsFiles(
  f: TlsFlags,
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
  home = homedir(),
): ClientTlsFiles | undefined {
  const verify = f.tlsVerify ?? !!env.DOCKER_TLS_VERIFY;
  const tls = f.tlsVerify !== undefined || verify || (f.tls ?? !!env.DOCKER_TLS);
  if (!tls) return undefined;
  const dir = env.DOCKER_CERT_PATH || dockerConfigDir(env, home);
  const orDefault = (given: string | undefined, name: string) => {
    if (given !== undefined) return given;
    const p = join(dir, name);
    return exists(p) ? p : undefined;
  };
  return {
    ca: f.tlsCaCert ?? join(dir, 'ca.pem'),
    cert: orDefault(f.tlsCert, 'cert.pem'),
    key: orDefault(f.tlsKey, 'key.pem'),
    verify,
  };
}
