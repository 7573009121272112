import os from 'node:os';
import type { Router, StreamWriter } from '../router.ts';
import { API_VERSION, MIN_API_VERSION } from '../router.ts';
import type { EventBus } from '../../../events/index.ts';
import type { DiskUsage, EventMessage, Filters, SystemInfo, SystemVersion } from '../../../api/types/index.ts';
import { parseFilters } from '../filters.ts';
import { invalidArgument } from '../../../errdefs/index.ts';
import { parseInt64, unixTimestamp } from '../query.ts';
import { familiarName, parseReference } from '../../../spec/index.ts';

export const BERTH_VERSION = '0.1.0';

export interface SystemDeps {
  events: EventBus;
  info: () => SystemInfo;
  df?: () => Promise<DiskUsage>;
  /** `berthd --experimental`: the CLI offers `docker checkpoint` only to an experimental daemon. */
  experimental?: boolean;
  /** `docker version`'s components after the Engine (the runtime, the init). */
  components?: () => SystemVersion['Components'];
  /** The Engine's own Git commit and build time, when known. */
  build?: () => { GitCommit: string; BuildTime: string } | undefined;
}

export function registerSystem(r: Router, deps: SystemDeps): void {
  const ping = (method: 'GET' | 'HEAD') => (_req: unknown, res: import('../router.ts').Response) => {
    res.raw.setHeader('Api-Version', API_VERSION);
    res.raw.setHeader('Ostype', 'linux');
    res.raw.setHeader('Docker-Experimental', String(!!deps.experimental));
    res.raw.setHeader('Builder-Version', '1');
    res.raw.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    res.raw.setHeader('Pragma', 'no-cache');
    if (method === 'HEAD') res.empty(200);
    else res.text(200, 'OK');
  };
  r.get('/_ping', ping('GET'));
  r.head('/_ping', ping('HEAD'));

  r.get('/version', (_req, res) =>
    res.json(200, versionInfo(!!deps.experimental, deps.components?.() ?? [], deps.build?.())),
  );
  r.get('/info', (_req, res) => res.json(200, deps.info()));
  if (deps.df) {
    const df = deps.df;
    r.get('/system/df', async (_req, res) => res.json(200, await df()));
  }

  r.get('/events', (req, res) => {
    const filters = parseFilters(req.query.get('filters'));
    const since = eventTime(req.query.get('since'));
    const until = eventTime(req.query.get('until'));
    if (since !== undefined && until !== undefined && until < since)
      throw invalidArgument(
        `\`since\` time (${req.query.get('since')}) cannot be after \`until\` time (${req.query.get('until')})`,
      );
    const out = res.stream();
    streamEvents(deps.events, out, { replayFrom: since, until, follow: true }, (e) => {
      if (matchesEvent(filters, e)) out.write(e);
    });
  });
}

/**
 * The events of a window, for `/events` and Libpod's: those logged since `replayFrom` (when
 * given) up to `until`, then — with `follow`, and while `until` is ahead — each new one until
 * then, the stream ending at `until` or when the client goes.
 */
export function streamEvents(
  events: EventBus,
  out: StreamWriter,
  o: { replayFrom?: number; until?: number; follow: boolean },
  send: (e: EventMessage) => void,
): void {
  const { until } = o;
  if (o.replayFrom !== undefined)
    for (const e of events.since(o.replayFrom)) if (until === undefined || e.timeNano <= until) send(e);
  const nowNs = Date.now() * 1e6;
  if (!o.follow || (until !== undefined && until <= nowNs)) {
    out.end();
    return;
  }
  const unsubscribe = events.subscribe((e) => {
    if (until === undefined || e.timeNano <= until) send(e);
  });
  const timer = until === undefined ? undefined : setTimeout(() => out.end(), Math.max(0, (until - nowNs) / 1e6));
  out.onClose(() => {
    unsubscribe();
    if (timer) clearTimeout(timer);
  });
}

export function versionInfo(
  experimental = false,
  components: SystemVersion['Components'] = [],
  build: { GitCommit: string; BuildTime: string } = { GitCommit: '', BuildTime: '' },
): SystemVersion {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return {
    Platform: { Name: 'Berth Engine' },
    Components: [
      {
        Name: 'Engine',
        Version: BERTH_VERSION,
        Details: {
          ApiVersion: API_VERSION,
          Arch: arch,
          BuildTime: build.BuildTime,
          Experimental: String(experimental),
          GitCommit: build.GitCommit,
          GoVersion: `node${process.version}`,
          KernelVersion: os.release(),
          MinAPIVersion: MIN_API_VERSION,
          Os: 'linux',
        },
      },
      ...components,
    ],
    Version: BERTH_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: build.GitCommit,
    GoVersion: `node${process.version}`,
    Os: 'linux',
    Arch: arch,
    KernelVersion: os.release(),
    BuildTime: build.BuildTime,
  };
}

/**
 * `since` and `until` of the events, as dockerd reads them: unix timestamps (unixTimestamp),
 * nanoseconds; absent, empty or -1 is no bound (and 0 is the epoch, a bound).
 */
function eventTime(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  const ns = unixTimestamp(raw);
  // dockerd's default of -1 seconds, whatever the fraction, means "not given".
  return parseInt64(raw.split('.')[0]!) === -1 ? undefined : ns;
}

/**
 * The `until` of prune filters, as timetypes.GetTimestamp reads it: unix seconds (with optional
 * fraction), RFC 3339, or a Go duration ago ("10m", "1h30m"). Returns nanoseconds; anything
 * else is Docker's 400. Empty is no bound, unless `strict` (a filter given empty is refused).
 * `wholeSeconds`: a duration's time is cut to its second, as GetTimestamp formats it (Unix()),
 * so dockerd's `prune --filter until=0s` keeps what was made in the current second.
 */
export function parseTime(s: string | null, strict = false, wholeSeconds = false): number | undefined {
  if (s === null || (s === '' && !strict)) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1e9);
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) {
    const mult: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
    let ago = 0;
    for (const [, n, , unit] of s.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ago += Number(n) * mult[unit!]!;
    const at = Date.now() - ago;
    return (wholeSeconds ? Math.floor(at / 1000) * 1000 : at) * 1e6;
  }
  const t = Date.parse(s);
  if (!Number.isNaN(t) && /^\d{4}-\d{2}-\d{2}/.test(s)) return t * 1e6;
  throw invalidArgument(`failed to parse value as time or duration: "${s}"`);
}

/** The filters whose value names an object by the start of its ID or name (dockerd's fuzzyMatchName). */
const NAMED_BY_PREFIX = ['container', 'network', 'volume', 'daemon', 'plugin', 'service', 'node', 'secret', 'config'];

/**
 * Whether an event passes the filters, as dockerd's events.Filter decides: `type` and `scope`
 * exactly; `container`, `network`, `volume`, `daemon` (and the swarm kinds) by a prefix of the
 * actor's ID or name whatever the event's type (so `container=web` keeps web-1's events, and
 * `daemon=<name>` keeps only the daemon's own); `image` by the image's name or ID, with or
 * without its tag (a container event's `image`, an image event's `name`); `label` by key or
 * key=value.
 */
export function matchesEvent(f: Filters, e: EventMessage): boolean {
  const any = (key: string, vals: (string | undefined)[]) => !f[key] || f[key]!.some((v) => vals.includes(v));
  const attrs = e.Actor.Attributes;
  const prefixed = (key: string) =>
    !f[key] || f[key]!.some((p) => e.Actor.ID.startsWith(p) || (attrs.name ?? '').startsWith(p));
  const image = e.Type === 'image' ? attrs.name : attrs.image;
  return (
    any('type', [e.Type]) &&
    any('scope', [e.scope]) &&
    any('event', [e.Action, e.Action.split(':')[0]]) &&
    NAMED_BY_PREFIX.every(prefixed) &&
    any('image', [e.Actor.ID, image, withoutTag(e.Actor.ID), withoutTag(image)]) &&
    (!f.label ||
      f.label.every((l) => {
        const [k, v] = l.split('=');
        return v === undefined ? k! in attrs : attrs[k!] === v;
      }))
  );
}

/** `busybox:latest` → `busybox` (moby's stripTag); IDs and what does not parse stay as they are. */
function withoutTag(s: string | undefined): string | undefined {
  if (!s || s.startsWith('sha256:')) return s;
  try {
    return familiarName(parseReference(s));
  } catch {
    return s;
  }
}
