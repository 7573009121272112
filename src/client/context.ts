/**
 * Docker contexts, read as the docker CLI reads them (docker/cli cli/command/cli.go and
 * cli/context/store), so a context made with `docker context create` points `berth` and
 * `berth compose` at the same daemon, with the same certificates:
 *
 * - Which context: `--context`, else none when -H or DOCKER_HOST names a daemon, else
 *   DOCKER_CONTEXT, else `currentContext` in config.json ($DOCKER_CONFIG, else ~/.docker).
 *   `--context` and `-H` together are refused, as docker refuses them. "default" is the
 *   flags and environment as they are.
 * - Where: `contexts/meta/<sha256 of the name>/meta.json` holds the docker endpoint's `Host`
 *   and `SkipTLSVerify`; `contexts/tls/<sha256>/docker/{ca,cert,key}.pem`, when present, are
 *   its TLS material. TLS is on when there is any, or when SkipTLSVerify is set.
 *
 *   const ep = dockerContext({ flag: 'prod' }, process.env);   // { name, host, tls? } or undefined
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { invalidArgument, notFound } from '../errdefs/index.ts';
import type { ClientTlsFiles } from '../tls/index.ts';

export interface ContextEndpoint {
  name: string;
  host: string;
  /** The context's TLS files; undefined: plain (unix socket, ssh, or TCP without TLS). */
  tls?: ClientTlsFiles;
}

export interface ContextChoice {
  /** `--context`, if given. */
  flag?: string;
  /** Whether `-H`/`--host` was given. */
  hostFlag?: boolean;
}

/** docker's config directory: $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return env.DOCKER_CONFIG || join(home, '.docker');
}

/** The context's name by docker's order of precedence; "default" when none is chosen. */
export function contextName(choice: ContextChoice, env: NodeJS.ProcessEnv, configDir: string): string {
  if (choice.flag !== undefined && choice.hostFlag)
    throw invalidArgument('conflicting options: cannot specify both --host and --context');
  if (choice.flag !== undefined) return choice.flag;
  if (choice.hostFlag || env.DOCKER_HOST) return 'default';
  if (env.DOCKER_CONTEXT) return env.DOCKER_CONTEXT;
  let config: { currentContext?: unknown };
  try {
    config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { currentContext?: unknown };
  } catch {
    return 'default';
  }
  return typeof config.currentContext === 'string' && config.currentContext !== '' ? config.currentContext : 'default';
}

interface ContextMeta {
  Name?: string;
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

/**
 * The daemon a docker context names, or undefined for the default context (the caller then
 * uses -H, DOCKER_HOST and the TLS flags as before). An unknown context is not found.
 */
export function dockerContext(
  choice: ContextChoice,
  env: NodeJS.ProcessEnv = process.env,
  configDir = dockerConfigDir(env),
): ContextEndpoint | undefined {
  const name = contextName(choice, env, configDir);
  if (name === 'default') return undefined;
  const key = createHash('sha256').update(name).digest('hex');
  const metaPath = join(configDir, 'contexts', 'meta', key, 'meta.json');
  let meta: ContextMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as ContextMeta;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw notFound(`context "${name}": context not found: open ${metaPath}: no such file or directory`, e);
    throw invalidArgument(`context "${name}": ${metaPath}: ${(e as Error).message}`, e);
  }
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint?.Host) throw invalidArgument(`context "${name}" has no docker endpoint`);
  const tlsDir = join(configDir, 'contexts', 'tls', key, 'docker');
  const file = (n: string) => {
    const p = join(tlsDir, n);
    return existsSync(p) ? p : undefined;
  };
  const ca = file('ca.pem');
  const cert = file('cert.pem');
  const key_ = file('key.pem');
  const skipVerify = endpoint.SkipTLSVerify === true;
  const tls = ca || cert || key_ || skipVerify ? { ca, cert, key: key_, verify: !skipVerify } : undefined;
  return { name, host: endpoint.Host, ...(tls ? { tls } : {}) };
}
