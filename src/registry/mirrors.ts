/**
 * Where an image is pulled from (or pushed to): the hosts that serve its registry, in the
 * order they are tried, each with what it may be used for.
 *
 * The first of these that knows the registry decides, whole:
 *   1. a `<registry>/hosts.toml` in the certs directories (`--registry-certs-dir`, default
 *      /etc/berth/certs.d and /etc/docker/certs.d; containerd's layout, hosts.ts);
 *   2. the longest matching `[[registry]]` of `--registries-conf` (registriesconf.ts);
 *   3. a `_default/hosts.toml` in the certs directories;
 *   4. the daemon's flags: `--registry-mirror` for docker.io, `--insecure-registry`, loopback
 *      (endpoint.ts).
 * A mirror comes before the registry itself; Docker Hub itself is never among them (no
 * internet registry is reachable here), so docker.io needs a mirror from one of these.
 *
 * Every host's endpoint is built by endpoint.ts's rules, so TLS is decided in one place: the
 * registry itself as `endpointFor` reaches it, a host named by URL as `endpointAt` does (its
 * certs.d files; unchecked when it is insecure). A hosts.toml then overrides for its host:
 * `ca` adds roots and has the certificate checked, `client` is the client certificate,
 * `skip_verify` says whether to check. A registries.conf `insecure = true` makes its location
 * insecure as `--insecure-registry` does: HTTPS without checking, then plain HTTP.
 *
 * Capabilities are containerd's: `resolve` (may turn a tag into a digest), `pull` (may serve
 * content by digest), `push`. A pull resolves its tag on the first host that may resolve and
 * answers, then fetches from the first host that may pull and has the manifest; a push goes to
 * the first host that may push. Files are read on each call, so an edit needs no restart.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, unavailable } from '../errdefs/index.ts';
import { DEFAULT_CERTS_DIRS, parseCertificates, readCa, readKeyPair, trustedRoots } from '../tls/index.ts';
import {
  dockerHubOffline,
  endpointAt,
  endpointFor,
  isDockerHub,
  DOCKER_HUB,
  type Endpoint,
  type EndpointTls,
  type RegistryConfig,
} from './endpoint.ts';
import { ALL_CAPABILITIES, readHostsDirs, readHostsFile, type Capability, type HostEntry } from './hosts.ts';
import { matchRule, parseRegistriesConf, splitLocation, type RegistryRule } from './registriesconf.ts';

/** One place to try: a host, and the repository's path there. */
export interface RegistryHost {
  endpoint: Endpoint;
  /** The repository on this host (a registries.conf mirror may keep it under another path). */
  repo: string;
  capabilities: readonly Capability[];
}

export interface ImageName {
  domain: string;
  path: string;
  digest?: string;
}

async function readFileOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalidArgument(`read "${file}": ${(e as Error).message}`, e);
  }
}

/**
 * A hosts.toml's `ca`, `client` and `skip_verify` over the TLS its host would have had, the
 * files read now (tls/load.ts checks them as it checks every certificate Berth reads).
 */
export function hostsTls(t: EndpointTls, h: Pick<HostEntry, 'ca' | 'client' | 'skipVerify'>): EndpointTls {
  const out: EndpointTls = { ...t };
  if (h.ca?.length) {
    const own = h.ca.flatMap((f) => parseCertificates(readCa(f)).map((x) => x.toString()));
    out.ca = [...(t.ca ?? trustedRoots()), ...own];
    out.verify = true;
  }
  if (h.client?.length) {
    // Node takes one client identity per connection: the first pair, as Go's TLS would present.
    const [certFile, keyFile] = h.client[0]!;
    const pair = readKeyPair(certFile, keyFile || certFile);
    out.cert = pair.cert;
    out.key = pair.key;
  }
  if (h.skipVerify !== undefined) out.verify = !h.skipVerify;
  if (out.verify) out.ca ??= trustedRoots();
  return out;
}

/** A hosts.toml entry as an endpoint of `registry`, its certificate files read. */
function fromHostEntry(h: HostEntry, registry: string, c: RegistryConfig): Endpoint | undefined {
  let ep: Endpoint;
  if (h.base === undefined) {
    // The file names no server: the registry itself, as the defaults reach it (never Docker Hub).
    if (isDockerHub(registry)) return undefined;
    ep = endpointFor(registry, c);
  } else {
    ep = endpointAt(registry, h.base, c, new URL(h.base).host !== registry);
  }
  if (ep.tls) {
    const { fallback, ...rest } = ep;
    const tls = hostsTls(ep.tls, h);
    // Plain HTTP stays a fallback only for a certificate nobody checks, as endpointFor has it.
    ep = tls.verify || !fallback ? { ...rest, tls } : { ...rest, tls, fallback };
  }
  if (h.apiRoot !== '/v2') ep.apiRoot = h.apiRoot;
  if (h.headers) ep.headers = h.headers;
  if (h.dialTimeoutMs !== undefined) ep.dialTimeoutMs = h.dialTimeoutMs;
  return ep;
}

/** The hosts of a registries.conf rule for `name`, mirrors first. */
function fromRule(
  rule: RegistryRule,
  matched: number,
  ref: ImageName,
  name: string,
  c: RegistryConfig,
): RegistryHost[] {
  if (rule.blocked) throw invalidArgument(`registry "${rule.prefix}" is blocked in ${c.registriesConf}`);
  // The part of the name after the matched prefix, kept under each location.
  const rest = name.slice(matched);
  const out: RegistryHost[] = [];
  const place = (location: string, insecure: boolean, capabilities: readonly Capability[], mirror: boolean) => {
    const { host, path: repo } = splitLocation(`${location}${rest}`);
    if (!repo && ref.path)
      throw invalidArgument(`registries.conf "${c.registriesConf}": "${location}" leaves no repository name`);
    // Docker Hub itself is out of reach; its mirrors come from the rule's own mirrors.
    if (isDockerHub(host)) return;
    const endpoint = endpointFor(host, insecure ? { ...c, insecure: [...c.insecure, host] } : c);
    out.push({
      endpoint: { ...endpoint, name: ref.domain, mirror: mirror || host !== ref.domain },
      repo,
      capabilities,
    });
  };
  for (const m of rule.mirrors) {
    if (m.pullFromMirror === 'digest-only' && !ref.digest) continue;
    if (m.pullFromMirror === 'tag-only' && ref.digest) continue;
    place(m.location, m.insecure, ['pull', 'resolve'], true);
  }
  // A wildcard rule keeps each reference's own host.
  place(rule.location || name.slice(0, matched), rule.insecure, ALL_CAPABILITIES, false);
  return out;
}

/** The registry's built-in hosts, from the daemon's flags. */
function fromFlags(ref: ImageName, c: RegistryConfig): RegistryHost[] {
  if (isDockerHub(ref.domain)) {
    return c.mirrors.map((m) => ({
      endpoint: endpointAt(DOCKER_HUB, m.replace(/\/+$/, ''), c, true),
      repo: ref.path,
      capabilities: ['pull', 'resolve'],
    }));
  }
  return [{ endpoint: endpointFor(ref.domain, c), repo: ref.path, capabilities: ALL_CAPABILITIES }];
}

function fromHostsFile(hosts: HostEntry[], ref: ImageName, c: RegistryConfig): RegistryHost[] {
  const out: RegistryHost[] = [];
  for (const h of hosts) {
    const endpoint = fromHostEntry(h, ref.domain, c);
    if (endpoint) out.push({ endpoint, repo: ref.path, capabilities: h.capabilities });
  }
  return out;
}

/**
 * Every host that may serve `ref`, in order, whatever their capabilities (the caller picks).
 * Empty when nothing reaches the registry (docker.io without a mirror).
 */
export async function allRegistryHosts(ref: ImageName, c: RegistryConfig): Promise<RegistryHost[]> {
  const specific = await readHostsDirs(c.certsDirs ?? DEFAULT_CERTS_DIRS, ref.domain);
  if (specific && !specific.isDefault) return fromHostsFile(specific.hosts, ref, c);
  if (c.registriesConf) {
    const text = await readFileOrUndefined(c.registriesConf);
    if (text !== undefined) {
      const name = `${ref.domain}/${ref.path}`;
      const m = matchRule(parseRegistriesConf(text, c.registriesConf), name);
      if (m) return fromRule(m.rule, m.matched, ref, name, c);
    }
  }
  if (specific) return fromHostsFile(specific.hosts, ref, c);
  return fromFlags(ref, c);
}

/**
 * The hosts for a pull (those that may resolve or pull) or a push (those that may push).
 * Unavailable when there is none, with the reason.
 */
export async function registryHosts(
  ref: ImageName,
  c: RegistryConfig,
  purpose: 'pull' | 'push',
): Promise<RegistryHost[]> {
  const all = await allRegistryHosts(ref, c);
  const hosts = all.filter((h) =>
    purpose === 'push' ? h.capabilities.includes('push') : h.capabilities.some((x) => x !== 'push'),
  );
  if (hosts.length) return hosts;
  if (isDockerHub(ref.domain)) {
    if (purpose === 'push')
      throw unavailable(
        'no registry can be reached from this daemon: Docker Hub (registry-1.docker.io) is offline here, and mirrors only serve pulls',
      );
    throw dockerHubOffline();
  }
  throw unavailable(
    `no host of registry "${ref.domain}" may be used to ${purpose} (see its hosts file's capabilities)`,
  );
}

/**
 * Reads every hosts file and the registries.conf once, so a mistake in one stops the daemon's
 * start with its file and line rather than failing pulls later. A missing certs directory is
 * no error (nothing is configured); a registries.conf named but missing is.
 */
export async function checkRegistryFiles(c: RegistryConfig): Promise<void> {
  if (c.registriesConf) {
    const text = await readFileOrUndefined(c.registriesConf);
    if (text === undefined) throw invalidArgument(`registries.conf "${c.registriesConf}": no such file`);
    parseRegistriesConf(text, c.registriesConf);
  }
  for (const root of c.certsDirs ?? DEFAULT_CERTS_DIRS) {
    let names: string[];
    try {
      names = await fs.readdir(root);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw invalidArgument(`registry certs directory "${root}": ${(e as Error).message}`, e);
    }
    for (const n of names) await readHostsFile(join(root, n));
  }
}
