/**
 * Image identities as containers/image compares them: a fully expanded repository name
 * (`docker.io/library/busybox`) with a tag, a digest or neither. Unlike `spec`'s references,
 * a bare name stays bare here — "name only" is a distinct case in the matching rules (a
 * cosign signature names only a repository).
 */
import { parseReference } from '../spec/index.ts';

export interface Named {
  /** `127.0.0.1:5000/t/app`, `docker.io/library/busybox`. */
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Parses and normalises (`busybox` → `docker.io/library/busybox`); undefined when malformed. */
export function parseNamed(s: string): Named | undefined {
  const at = s.indexOf('@');
  const beforeDigest = at >= 0 ? s.slice(0, at) : s;
  const hasTag = beforeDigest.lastIndexOf(':') > beforeDigest.lastIndexOf('/');
  let r;
  try {
    r = parseReference(s);
  } catch {
    return undefined;
  }
  return Object.freeze({
    name: `${r.domain}/${r.path}`,
    ...(hasTag && r.tag !== undefined ? { tag: r.tag } : {}),
    ...(r.digest !== undefined ? { digest: r.digest } : {}),
  });
}

export function isNameOnly(n: Named): boolean {
  return n.tag === undefined && n.digest === undefined;
}

export function namedString(n: Named): string {
  return `${n.name}${n.tag !== undefined ? `:${n.tag}` : ''}${n.digest !== undefined ? `@${n.digest}` : ''}`;
}

/**
 * The policy scopes an image is looked up under, most specific first (containers/image's
 * docker transport): `host/ns/repo:tag` (or `@digest`), `host/ns/repo`, `host/ns`, `host`, then
 * wildcard domains without the port: `*.example.com`, `*.com`.
 */
export function scopesOf(n: Named): string[] {
  const out: string[] = [];
  if (n.digest !== undefined) out.push(`${n.name}@${n.digest}`);
  else if (n.tag !== undefined) out.push(`${n.name}:${n.tag}`);
  let name = n.name;
  for (;;) {
    out.push(name);
    const slash = name.lastIndexOf('/');
    if (slash < 0) break;
    name = name.slice(0, slash);
  }
  let host = name.replace(/:.*$/, '');
  for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.')) {
    host = host.slice(dot + 1);
    out.push(`*.${host}`);
  }
  return out;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const SCOPE = new RegExp(
  `^[a-zA-Z0-9.-]+(?::[0-9]+)?(?:(?:/${COMPONENT})+(?::[\\w][\\w.-]{0,127}|@sha256:[a-f0-9]{64})?)?$`,
);

/**
 * Is `s` a valid docker-transport scope: `*.domain`, a host[:port], a namespace or repository
 * under it, or one image (`:tag`, `@digest`)? Scopes are fully expanded (`docker.io/library/busybox`),
 * so the first component is always the registry host.
 */
export function isValidScope(s: string): boolean {
  if (s.startsWith('*.')) return /^\*(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(s);
  return SCOPE.test(s);
}
