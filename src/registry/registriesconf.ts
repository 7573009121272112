/**
 * containers-registries.conf(5), the file Podman, CRI-O and skopeo read (version 2 format):
 * `[[registry]]` tables say where a namespace of images lives (`prefix` → `location`),
 * whether its certificate goes unchecked (`insecure`) or it is refused (`blocked`), and which
 * mirrors (`[[registry.mirror]]`) to try first. Berth reads it with `--registries-conf FILE`.
 *
 *   [[registry]]
 *   location = "registry.k8s.io"
 *   [[registry.mirror]]
 *   location = "127.0.0.1:5000"
 *   insecure = true
 *
 * As in containers/image: the longest matching prefix wins (`*.example.com` matches hosts
 * below it); a mirror's location replaces the matched prefix, so a mirror may keep the images
 * under a path of its own (`mirror.local/k8s` serves `registry.k8s.io/pause` as `k8s/pause`).
 * `insecure` is containers/image's: HTTPS without checking the certificate, then plain HTTP
 * (as Berth's `--insecure-registry`). Short-name settings (`unqualified-search-registries`,
 * `short-name-mode`, `[aliases]`) do not apply: Berth qualifies short names as Docker does,
 * with docker.io.
 */
import { parse, TomlError } from 'smol-toml';
import { invalidArgument } from '../errdefs/index.ts';

export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface MirrorRule {
  /** `host[:port][/path]` */
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

export interface RegistryRule {
  /** What references the rule applies to: `host[:port][/path]` or `*.domain`. */
  prefix: string;
  /** Where they live; empty for a wildcard prefix (each reference's own host). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: readonly MirrorRule[];
}

const REGISTRY_KEYS = new Set(['prefix', 'location', 'insecure', 'blocked', 'mirror-by-digest-only', 'mirror']);
const MIRROR_KEYS = new Set(['location', 'insecure', 'pull-from-mirror']);
/** Top-level keys Berth accepts and leaves to the tools they are for. */
const IGNORED_KEYS = new Set([
  'unqualified-search-registries',
  'short-name-mode',
  'aliases',
  'credential-helpers',
  'additional-layer-store-auth-helper',
]);

function bool(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalidArgument(`${where}: want true or false`);
  return v;
}

function str(v: unknown, where: string): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') throw invalidArgument(`${where}: want a string`);
  return v.replace(/\/+$/, '');
}

function isWildcard(prefix: string): boolean {
  return prefix.startsWith('*.');
}

/** The rules of a registries.conf, as written; `file` names it in errors. */
export function parseRegistriesConf(text: string, file: string): RegistryRule[] {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    const line = e instanceof TomlError ? ` line ${e.line}` : '';
    throw invalidArgument(`registries.conf "${file}"${line}: ${(e as Error).message.split('\n')[0]}`, e);
  }
  if ('registries' in doc)
    throw invalidArgument(
      `registries.conf "${file}": the version 1 format ([registries.search], [registries.insecure]) is not supported: use [[registry]] tables`,
    );
  for (const k of Object.keys(doc))
    if (k !== 'registry' && !IGNORED_KEYS.has(k))
      throw invalidArgument(`registries.conf "${file}": unknown key "${k}"`);
  const list = doc.registry ?? [];
  if (!Array.isArray(list)) throw invalidArgument(`registries.conf "${file}": registry: want [[registry]] tables`);
  const rules: RegistryRule[] = [];
  list.forEach((r: unknown, i) => {
    const where = `registries.conf "${file}": [[registry]] #${i + 1}`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw invalidArgument(`${where}: want a table`);
    const t = r as Record<string, unknown>;
    for (const k of Object.keys(t)) if (!REGISTRY_KEYS.has(k)) throw invalidArgument(`${where}: unknown key "${k}"`);
    const location = str(t.location, `${where}: location`);
    const prefix = str(t.prefix, `${where}: prefix`) || location;
    if (!prefix) throw invalidArgument(`${where}: needs a location or a prefix`);
    if (isWildcard(prefix) && (prefix.includes('/') || location))
      throw invalidArgument(`${where}: a wildcard prefix ("${prefix}") names hosts only and takes no location`);
    if (!isWildcard(prefix) && !location && t.prefix !== undefined)
      throw invalidArgument(`${where}: prefix "${prefix}" needs a location`);
    const digestOnly = bool(t['mirror-by-digest-only'], `${where}: mirror-by-digest-only`);
    const mirrorsIn = t.mirror ?? [];
    if (!Array.isArray(mirrorsIn)) throw invalidArgument(`${where}: mirror: want [[registry.mirror]] tables`);
    const mirrors = mirrorsIn.map((m: unknown, j): MirrorRule => {
      const mw = `${where}, mirror #${j + 1}`;
      if (typeof m !== 'object' || m === null || Array.isArray(m)) throw invalidArgument(`${mw}: want a table`);
      const mt = m as Record<string, unknown>;
      for (const k of Object.keys(mt)) if (!MIRROR_KEYS.has(k)) throw invalidArgument(`${mw}: unknown key "${k}"`);
      const loc = str(mt.location, `${mw}: location`);
      if (!loc) throw invalidArgument(`${mw}: needs a location`);
      let pull = (str(mt['pull-from-mirror'], `${mw}: pull-from-mirror`) || 'all') as PullFromMirror;
      if (!['all', 'digest-only', 'tag-only'].includes(pull))
        throw invalidArgument(`${mw}: pull-from-mirror "${pull}": want all, digest-only or tag-only`);
      if (digestOnly) pull = 'digest-only';
      return { location: loc, insecure: bool(mt.insecure, `${mw}: insecure`), pullFromMirror: pull };
    });
    rules.push({
      prefix,
      location,
      insecure: bool(t.insecure, `${where}: insecure`),
      blocked: bool(t.blocked, `${where}: blocked`),
      mirrors,
    });
  });
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.prefix)) throw invalidArgument(`registries.conf "${file}": prefix "${r.prefix}" is given twice`);
    seen.add(r.prefix);
  }
  return rules;
}

/** How many characters of `name` (`host/path`) the prefix matches; -1 for none. */
function matchLength(prefix: string, name: string): number {
  if (isWildcard(prefix)) {
    const host = name.split('/')[0]!.replace(/:\d+$/, '');
    return host.endsWith(prefix.slice(1)) ? name.split('/')[0]!.length : -1;
  }
  if (name === prefix) return prefix.length;
  return name.startsWith(prefix) && name[prefix.length] === '/' ? prefix.length : -1;
}

/** The rule for `name` (`registry.k8s.io/pause`), the longest match, and how much it matched. */
export function matchRule(
  rules: readonly RegistryRule[],
  name: string,
): { rule: RegistryRule; matched: number } | undefined {
  let best: { rule: RegistryRule; matched: number } | undefined;
  for (const rule of rules) {
    const n = matchLength(rule.prefix, name);
    // A longer match wins; of two equally long ones, the exact prefix over the wildcard.
    if (n >= 0 && (!best || n > best.matched || (n === best.matched && isWildcard(best.rule.prefix))))
      best = { rule, matched: n };
  }
  return best;
}

/** `host[:port]/path` → the two halves; a location without a path yields an empty path. */
export function splitLocation(location: string): { host: string; path: string } {
  const i = location.indexOf('/');
  return i < 0 ? { host: location, path: '' } : { host: location.slice(0, i), path: location.slice(i + 1) };
}
