/**
 * The client's settings: `detachKeys` (as docker's config file has it), and registry credentials, kept as docker keeps them (`{"auths": {"<server>": {"auth":
 * base64("user:pass")}}}`) in Berth's own config file (`$BERTH_CONFIG/config.json`, default
 * `~/.berth/config.json`); docker's config (`$DOCKER_CONFIG`, `~/.docker`) is read as a fallback
 * so existing logins carry over.
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigDir, type AuthConfig } from '../client/index.ts';

export const DEFAULT_REGISTRY = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  detachKeys?: string;
  [k: string]: unknown;
}

export function berthConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BERTH_CONFIG || join(homedir(), '.berth');
}

function load(dir: string): ConfigFile {
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as ConfigFile;
  } catch {
    return {};
  }
}

function save(dir: string, cfg: ConfigFile): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.config.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  renameSync(tmp, join(dir, 'config.json'));
}

/**
 * The detach keys the config file sets (`{"detachKeys": "ctrl-a,d"}`), Berth's first, then
 * docker's; a `--detach-keys` flag wins over both, as with the docker CLI.
 */
export function configuredDetachKeys(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of [berthConfigDir(env), dockerConfigDir(env)]) {
    const keys = load(dir).detachKeys;
    if (typeof keys === 'string' && keys) return keys;
  }
  return undefined;
}

/** The key a registry's credentials are stored under: Docker Hub's legacy URL, else the host. */
export function registryKey(domain: string): string {
  if (
    !domain ||
    domain === 'docker.io' ||
    domain === 'index.docker.io' ||
    domain === 'registry-1.docker.io' ||
    domain === DEFAULT_REGISTRY
  )
    return DEFAULT_REGISTRY;
  return domain.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function decode(key: string, e: { auth?: string; identitytoken?: string }): AuthConfig {
  const out: AuthConfig = { serveraddress: key };
  if (e.auth) {
    const plain = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    out.username = plain.slice(0, i);
    out.password = plain.slice(i + 1);
  }
  if (e.identitytoken) out.identitytoken = e.identitytoken;
  return out;
}

/** Stored credentials for a registry host (docker.io for Docker Hub), if any. */
export function credentialsFor(domain: string, env: NodeJS.ProcessEnv = process.env): AuthConfig | undefined {
  const key = registryKey(domain);
  for (const dir of [berthConfigDir(env), dockerConfigDir(env)]) {
    const auths = load(dir).auths ?? {};
    for (const [k, e] of Object.entries(auths)) {
      if (registryKey(k) === key && (e.auth || e.identitytoken)) return decode(key, e);
    }
  }
  return undefined;
}

export function storeCredentials(server: string, auth: AuthConfig, env: NodeJS.ProcessEnv = process.env): void {
  const dir = berthConfigDir(env);
  const cfg = load(dir);
  cfg.auths ??= {};
  const entry: { auth?: string; identitytoken?: string } = {};
  if (auth.identitytoken) entry.identitytoken = auth.identitytoken;
  if (auth.username !== undefined)
    entry.auth = Buffer.from(`${auth.username}:${auth.identitytoken ? '' : (auth.password ?? '')}`).toString('base64');
  cfg.auths[registryKey(server)] = entry;
  save(dir, cfg);
}

/** Removes stored credentials; false when there were none. */
export function eraseCredentials(server: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const dir = berthConfigDir(env);
  const cfg = load(dir);
  const key = registryKey(server);
  const found = Object.keys(cfg.auths ?? {}).filter((k) => registryKey(k) === key);
  for (const k of found) delete cfg.auths![k];
  if (found.length) save(dir, cfg);
  return found.length > 0;
}
