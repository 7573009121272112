/**
 * Loading a project: find the files, read `.env`, parse each file's YAML, interpolate and check
 * its shape against the compose-spec (`schema.ts`: errors name the file, the key path and the
 * line), turn each service into the canonical model (`normalize.ts`), merge the files in order
 * (`merge.ts`), then here: profiles, the project name, and checks of the whole (references,
 * dependency cycles). The result is frozen; nothing here talks to the daemon.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseEnvFile } from './interpolate.ts';
import { dependencyOrder } from './graph.ts';
import { mergeService } from './merge.ts';
import {
  ComposeError,
  deepFreeze,
  type NetworkConfig,
  type Project,
  type Service,
  type VolumeConfig,
} from './model.ts';
import { normalizeNetwork, normalizeService, normalizeVolume } from './normalize.ts';
import { parseFile, type SourceFile } from './schema.ts';

/** The names compose looks for, in its order of preference. */
export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const OVERRIDE_FILES: Record<string, string[]> = {
  'compose.yaml': ['compose.override.yaml', 'compose.override.yml'],
  'compose.yml': ['compose.override.yml', 'compose.override.yaml'],
  'docker-compose.yaml': ['docker-compose.override.yaml', 'docker-compose.override.yml'],
  'docker-compose.yml': ['docker-compose.override.yml', 'docker-compose.override.yaml'],
};

export interface LoadOptions {
  /** `-f` files (`-` is not supported); empty: look in the working directory. */
  readonly files?: readonly string[];
  readonly projectName?: string;
  readonly projectDirectory?: string;
  readonly envFiles?: readonly string[];
  readonly profiles?: readonly string[];
  /** Services named on the command line: enabled whatever their profiles. */
  readonly services?: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** compose's project name rule: lower case, only [a-z0-9_-], starting with a letter or digit. */
export function normalizeProjectName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[^a-z0-9]+/, '');
}

function findFiles(dir: string): string[] {
  for (const name of DEFAULT_FILES) {
    const p = join(dir, name);
    if (existsSync(p)) {
      const over = OVERRIDE_FILES[name]!.map((n) => join(dir, n)).find((o) => existsSync(o));
      return over ? [p, over] : [p];
    }
  }
  throw new NoConfigError(`no configuration file provided: not found`);
}

/**
 * A project known only by name (`-p` without a file): no services, so every container, network
 * and volume labelled with the name is the project's (what down/ps/logs/stop need).
 */
export function emptyProject(name: string, workingDir: string): Project {
  return deepFreeze({
    name: normalizeProjectName(name),
    workingDir,
    configFiles: [],
    services: {},
    disabled: [],
    networks: {},
    volumes: {},
    environment: {},
  });
}

/** Loads the project from disk as `docker compose` would with the same flags. */
export function loadProject(o: LoadOptions): Project {
  const files = o.files?.length
    ? o.files.map((f) => resolve(o.cwd, f))
    : findFiles(o.projectDirectory ? resolve(o.cwd, o.projectDirectory) : o.cwd);
  const sources = files.map((path) => {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch (e) {
      throw new ComposeError(
        `open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
      );
    }
  });
  const workingDir = o.projectDirectory ? resolve(o.cwd, o.projectDirectory) : dirname(files[0]!);
  let dotenv: Record<string, string | undefined> = {};
  const envFiles = o.envFiles?.length ? o.envFiles.map((f) => resolve(o.cwd, f)) : [join(workingDir, '.env')];
  for (const f of envFiles) {
    if (!existsSync(f)) {
      if (o.envFiles?.length) throw new ComposeError(`couldn't find env file: ${f}`);
      continue;
    }
    dotenv = { ...dotenv, ...parseEnvFile(readFileSync(f, 'utf8')) };
  }
  return parseProject(sources, { ...o, workingDir, dotenv });
}

interface ParseOptions extends LoadOptions {
  readonly workingDir: string;
  readonly dotenv?: Readonly<Record<string, string | undefined>>;
}

/** Parses, merges and validates already-read files (loadProject's core; tests call it directly). */
export function parseProject(sources: readonly SourceFile[], o: ParseOptions): Project {
  // the process environment wins over .env, as in compose v2
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...o.dotenv, ...o.env })) if (v !== undefined) environment[k] = v;
  const lookup = (k: string) => environment[k];
  let topName: string | undefined;
  let merged: Record<string, Partial<Service>> = {};
  const networks: Record<string, Record<string, unknown> | null> = {};
  const volumes: Record<string, Record<string, unknown> | null> = {};
  for (const src of sources) {
    const file = parseFile(src, lookup);
    if (typeof file.name === 'string') topName = file.name;
    for (const [name, raw] of Object.entries((file.services ?? {}) as Record<string, Record<string, unknown>>)) {
      const svc = normalizeService(name, raw ?? {}, o.workingDir, environment, src.path);
      merged[name] = merged[name] ? mergeService(merged[name]!, svc) : svc;
    }
    for (const [k, v] of Object.entries((file.networks ?? {}) as Record<string, Record<string, unknown> | null>))
      networks[k] = { ...networks[k], ...v };
    for (const [k, v] of Object.entries((file.volumes ?? {}) as Record<string, Record<string, unknown> | null>))
      volumes[k] = { ...volumes[k], ...v };
  }
  const where = sources.map((s) => s.path).join(', ');
  const rawName = o.projectName ?? environment.COMPOSE_PROJECT_NAME ?? topName ?? basename(o.workingDir);
  const name = normalizeProjectName(rawName);
  if (!name)
    throw new ComposeError(
      `project name "${rawName}" must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit`,
    );
  if (o.projectName !== undefined && name !== o.projectName)
    throw new ComposeError(
      `invalid project name "${o.projectName}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
    );

  // profiles: a service with none is always on; named services are on, and what they need
  const active = new Set(
    [...(o.profiles ?? []), ...(environment.COMPOSE_PROFILES ? environment.COMPOSE_PROFILES.split(',') : [])]
      .map((p) => p.trim())
      .filter(Boolean),
  );
  const named = new Set(o.services ?? []);
  const on = new Set<string>();
  const enable = (s: string) => {
    if (on.has(s) || !merged[s]) return;
    on.add(s);
    for (const d of Object.keys(merged[s]!.depends_on ?? {})) enable(d);
  };
  for (const [n, s] of Object.entries(merged)) {
    if (!s.profiles?.length || s.profiles.some((p) => active.has(p) || active.has('*')) || named.has(n)) enable(n);
  }
  for (const n of named) if (!merged[n]) throw new ComposeError(`no such service: ${n}`);

  const services: Record<string, Service> = {};
  for (const n of Object.keys(merged).sort()) {
    if (!on.has(n)) continue;
    const s = { ...merged[n]!, name: n } as Service & Record<string, unknown>;
    if (s.network_mode === undefined && s.networks === undefined)
      (s as Record<string, unknown>).networks = { default: null };
    services[n] = s;
  }

  const nets: Record<string, NetworkConfig> = {};
  const usesDefault = Object.values(services).some((s) => s.networks && 'default' in s.networks);
  if (usesDefault && !('default' in networks)) networks.default = null;
  for (const [k, v] of Object.entries(networks)) nets[k] = normalizeNetwork(name, k, v ?? {});
  const vols: Record<string, VolumeConfig> = {};
  for (const [k, v] of Object.entries(volumes)) vols[k] = normalizeVolume(name, k, v ?? {});

  // references between the parts
  for (const s of Object.values(services)) {
    if (!s.image && !s.build)
      throw new ComposeError(
        `${where}: service "${s.name}" has neither an image nor a build context specified: invalid compose project`,
      );
    for (const n of Object.keys(s.networks ?? {})) {
      if (!nets[n])
        throw new ComposeError(
          `${where}: service "${s.name}" refers to undefined network ${n}: invalid compose project`,
        );
    }
    for (const v of s.volumes ?? []) {
      if (v.type === 'volume' && v.source && !vols[v.source])
        throw new ComposeError(
          `${where}: service "${s.name}" refers to undefined volume ${v.source}: invalid compose project`,
        );
    }
    for (const [d, dep] of Object.entries(s.depends_on ?? {})) {
      if (!merged[d] && dep.required)
        throw new ComposeError(
          `${where}: service "${s.name}" depends on undefined service "${d}": invalid compose project`,
        );
    }
    const mode = s.network_mode;
    if (mode?.startsWith('service:') && !merged[mode.slice(8)])
      throw new ComposeError(
        `${where}: service "${s.name}" refers to undefined service "${mode.slice(8)}" in network_mode`,
      );
    const replicas = s.scale ?? s.deploy?.replicas ?? 1;
    if (s.container_name && replicas > 1)
      throw new ComposeError(
        `${where}: service "${s.name}": container_name "${s.container_name}" cannot be used with more than one replica`,
      );
  }
  try {
    dependencyOrder(services);
  } catch (e) {
    throw new ComposeError(`${where}: depends_on: ${(e as Error).message}`);
  }
  return deepFreeze({
    name,
    workingDir: o.workingDir,
    configFiles: sources.map((s) => s.path),
    services,
    disabled: Object.keys(merged)
      .filter((n) => !on.has(n))
      .sort(),
    networks: nets,
    volumes: vols,
    environment,
  });
}

/** No compose file in the directory: commands that can work from labels alone fall back. */
export class NoConfigError extends ComposeError {}
