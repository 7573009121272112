/**
 * `docker search` (GET /images/search): a term's index read as dockerd's ParseSearchIndexInfo
 * does (`registry.example:5000/web` searches that registry for `web`, anything else Docker
 * Hub), the registry's v1 search API asked, and its results filtered (`is-official`,
 * `is-automated`, `stars`) and cut at the limit.
 *
 * Docker Hub is offline here, as for pulls: a search there fails at once with the same
 * explanation instead of a DNS error after a timeout.
 *
 *   await searchImages(registryConfig, '127.0.0.1:5000/web', { limit: 25, filters: {} });
 */
import { invalidArgument, unavailable } from '../../errdefs/index.ts';
import { RegistryClient, endpointFor, type RegistryConfig } from '../../registry/index.ts';
import type { Filters } from '../../api/types/index.ts';

/** One row of `docker search`, as the v1 API and the Engine API both spell it. */
export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

/** The index a search term names, and the term left to send it. */
export function searchIndex(term: string): { index: string; query: string } {
  const slash = term.indexOf('/');
  const first = slash < 0 ? '' : term.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost'))
    return { index: first, query: term.slice(slash + 1) };
  return { index: 'docker.io', query: term };
}

/** The search filters, checked as dockerd checks them (before any registry is asked). */
export function searchFilters(f: Filters): (r: SearchResult) => boolean {
  for (const k of Object.keys(f))
    if (!['is-official', 'is-automated', 'stars'].includes(k)) throw invalidArgument(`invalid filter '${k}'`);
  const bool = (k: string): boolean | undefined => {
    const v = f[k];
    if (!v?.length) return undefined;
    if (v.some((x) => x !== 'true' && x !== 'false' && x !== '1' && x !== '0'))
      throw invalidArgument(`invalid filter '${k}=${v.join(',')}'`);
    return v.includes('true') || v.includes('1');
  };
  const official = bool('is-official');
  const automated = bool('is-automated');
  let stars = 0;
  for (const s of f.stars ?? []) {
    if (!/^\d+$/.test(s)) throw invalidArgument(`invalid filter 'stars=${s}'`);
    stars = Math.max(stars, Number(s));
  }
  return (r) =>
    (official === undefined || r.is_official === official) &&
    (automated === undefined || r.is_automated === automated) &&
    r.star_count >= stars;
}

export async function searchImages(
  registry: RegistryConfig,
  term: string,
  o: { limit: number; filters: Filters },
): Promise<SearchResult[]> {
  if (o.limit < 1 || o.limit > 100) throw invalidArgument(`limit ${o.limit} is outside the range of [1, 100]`);
  const keep = searchFilters(o.filters);
  const { index, query } = searchIndex(term);
  // dockerd searches index.docker.io whatever the mirrors (they serve pulls, not searches).
  if (index === 'docker.io')
    throw unavailable(
      `search "${query}": Docker Hub (index.docker.io) is offline here: name a registry to search, as in "registry.example:5000/${query}"`,
    );
  const client = new RegistryClient(endpointFor(index, registry, 'pull'));
  const body = (await client.search(query, o.limit)) as { results?: unknown };
  const rows = Array.isArray(body?.results) ? body.results : [];
  return rows
    .filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null)
    .map((r) => ({
      name: String(r.name ?? ''),
      description: String(r.description ?? ''),
      star_count: Number(r.star_count) || 0,
      is_official: r.is_official === true,
      is_automated: r.is_automated === true,
    }))
    .filter(keep)
    .slice(0, o.limit);
}
