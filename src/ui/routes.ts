/**
 * The dashboard's API allow-list: the only method + path pairs its server answers under
 * `/api/`, each with the pattern its path parameters must match.
 *
 * Why an allow-list rather than a proxy: the Engine API can create privileged containers,
 * exec into them and bind-mount the host, i.e. it is root. The pages need listing, lifecycle
 * actions, logs, stats, top and removal, so that is all there is: no create, exec, build,
 * archive, commit, update or anything privileged.
 *
 * Why the parameter patterns: a parameter reaches the daemon inside a path. Matching happens on
 * the raw path split at `/`, each segment then percent-decoded, so `..%2F..%2Fimages%2Fx` is one
 * parameter that no pattern accepts, and a literal `..` segment is refused before any matching.
 */
import { parseReference } from '../spec/index.ts';

export type Param = 'container' | 'image' | 'volume' | 'network';

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Segments after `/api/`: literals, or `:container`, `:image`, `:volume`, `:network`. */
  path: string;
  /** What it does, for the handler table and for tests. */
  name: string;
  /** Answers a stream (logs follow, stats, events) that must end when the browser goes. */
  stream?: boolean;
}

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: 'overview', name: 'overview' },
  { method: 'GET', path: 'containers', name: 'containers.list' },
  { method: 'GET', path: 'containers/:container', name: 'containers.inspect' },
  { method: 'POST', path: 'containers/:container/start', name: 'containers.start' },
  { method: 'POST', path: 'containers/:container/stop', name: 'containers.stop' },
  { method: 'POST', path: 'containers/:container/restart', name: 'containers.restart' },
  { method: 'POST', path: 'containers/:container/pause', name: 'containers.pause' },
  { method: 'POST', path: 'containers/:container/unpause', name: 'containers.unpause' },
  { method: 'POST', path: 'containers/:container/kill', name: 'containers.kill' },
  { method: 'DELETE', path: 'containers/:container', name: 'containers.remove' },
  { method: 'GET', path: 'containers/:container/logs', name: 'containers.logs', stream: true },
  { method: 'GET', path: 'containers/:container/top', name: 'containers.top' },
  { method: 'GET', path: 'containers/:container/stats', name: 'containers.stats', stream: true },
  { method: 'POST', path: 'containers/prune', name: 'containers.prune' },
  { method: 'GET', path: 'images', name: 'images.list' },
  { method: 'GET', path: 'images/:image', name: 'images.inspect' },
  { method: 'GET', path: 'images/:image/history', name: 'images.history' },
  { method: 'DELETE', path: 'images/:image', name: 'images.remove' },
  { method: 'POST', path: 'images/prune', name: 'images.prune' },
  { method: 'GET', path: 'volumes', name: 'volumes.list' },
  { method: 'GET', path: 'volumes/:volume', name: 'volumes.inspect' },
  { method: 'DELETE', path: 'volumes/:volume', name: 'volumes.remove' },
  { method: 'POST', path: 'volumes/prune', name: 'volumes.prune' },
  { method: 'GET', path: 'networks', name: 'networks.list' },
  { method: 'GET', path: 'networks/:network', name: 'networks.inspect' },
  { method: 'DELETE', path: 'networks/:network', name: 'networks.remove' },
  { method: 'POST', path: 'networks/prune', name: 'networks.prune' },
  { method: 'GET', path: 'events', name: 'events', stream: true },
];

/** Docker's name grammar for containers and volumes ([a-zA-Z0-9][a-zA-Z0-9_.-]*), or a hex ID. */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** Whether a decoded path parameter is an acceptable value of its kind. */
export function paramOk(kind: Param, v: string): boolean {
  switch (kind) {
    case 'container':
    case 'network':
      return NAME.test(v);
    case 'volume':
      return NAME.test(v) && v.length >= 2;
    case 'image': {
      // an image ID (full or short, with or without sha256:), or a reference; references keep
      // their slashes on the way to the daemon, so `.`/`..` segments must not get through
      if (/^(sha256:)?[a-f0-9]{12,64}$/.test(v)) return true;
      if (v.length > 512 || v.split('/').some((s) => s === '' || s === '.' || s === '..')) return false;
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.:@/-]*$/.test(v)) return false;
      try {
        parseReference(v);
        return true;
      } catch {
        return false;
      }
    }
  }
}

export type Match =
  | { ok: true; route: Route; params: Partial<Record<Param, string>> }
  | { ok: false; status: 400 | 404 | 405; message: string };

/**
 * Finds the route for a method and the raw path after `/api/` (no query). 404 for paths not in
 * the list, 405 for a listed path with another method, 400 for a parameter its pattern refuses.
 */
export function matchRoute(method: string, rawPath: string): Match {
  const raw = rawPath.split('/');
  if (raw.some((s) => s === '' || s === '.' || s === '..'))
    return { ok: false, status: 400, message: `invalid path "/api/${rawPath}"` };
  let segs: string[];
  try {
    segs = raw.map((s) => decodeURIComponent(s));
  } catch {
    return { ok: false, status: 400, message: `invalid path "/api/${rawPath}"` };
  }
  let pathMatched = false;
  let badParam: string | undefined;
  for (const route of ROUTES) {
    const pat = route.path.split('/');
    if (pat.length !== segs.length) continue;
    const params: Partial<Record<Param, string>> = {};
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      const p = pat[i]!;
      const s = segs[i]!;
      if (p.startsWith(':')) {
        // a literal route beats a parameter (`containers/prune` is not a container called prune)
        params[p.slice(1) as Param] = s;
      } else ok = p === s && raw[i] === s;
    }
    if (!ok) continue;
    if (literalRouteExists(segs, route)) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    for (const [k, v] of Object.entries(params) as [Param, string][]) {
      if (!paramOk(k, v)) badParam = `invalid ${k} "${v}"`;
    }
    if (badParam) return { ok: false, status: 400, message: badParam };
    return { ok: true, route, params };
  }
  if (pathMatched) return { ok: false, status: 405, message: `method ${method} not allowed on /api/${rawPath}` };
  return { ok: false, status: 404, message: `no such dashboard endpoint: /api/${rawPath}` };
}

/** Whether a route with literals where `route` has parameters matches these segments. */
function literalRouteExists(segs: string[], route: Route): boolean {
  if (!route.path.includes(':')) return false;
  return ROUTES.some((r) => r !== route && !r.path.includes(':') && r.path === segs.join('/'));
}
