/**
 * `GET /libpod/events`: the daemon's event stream in Podman 4.3's shape, so that `podman
 * --remote events` (and `podman pod create`'s watchers) read Berth. The events are the same
 * bus as Docker's `/events`; each is turned into what Libpod would have logged: its status
 * words (`died`, `remove`, `loadfromarchive`...), `containerExitCode` and `podId` among the
 * attributes, `image`, `name` and `containerExitCode` always present (0 but for exits). Podman's client fails on an event whose type
 * or status it does not know (4.3 dereferences the nil it gets), so an event Libpod has no
 * word for (oom, resize, exec_create, a daemon's reload) is left out rather than sent.
 *
 * Parameters as Podman's handler reads them: `since` and `until` (unix seconds, RFC 3339, or
 * a Go duration ago), `stream` (default true; false answers with the events kept and ends),
 * `filters` (container, event, image, label, network, pod, type, volume).
 */
import type { Router } from '../router.ts';
import type { EventBus } from '../../../events/index.ts';
import type { EventMessage } from '../../../api/types/index.ts';
import { invalidArgument } from '../../../errdefs/index.ts';
import { POD_LABELS } from '../../../services/pods/index.ts';
import { assertKnownFilters, parseFilters } from '../filters.ts';
import { boolValue } from '../query.ts';
import { matchesEvent, parseTime, streamEvents } from './system.ts';

/** A Libpod event: Docker's message with Libpod's words, and the health status of health events. */
export type LibpodEvent = EventMessage & { HealthStatus?: string };

const FILTERS = ['container', 'event', 'image', 'label', 'network', 'pod', 'type', 'volume'] as const;

/** Docker's action → Libpod's status, by type; an action not listed has no Libpod event. */
const STATUS: Record<string, Record<string, string>> = {
  container: {
    attach: 'attach',
    checkpoint: 'checkpoint',
    commit: 'commit',
    create: 'create',
    destroy: 'remove',
    die: 'died',
    exec_start: 'exec',
    exec_die: 'exec_died',
    export: 'export',
    health_status: 'health_status',
    kill: 'kill',
    pause: 'pause',
    prune: 'prune',
    rename: 'rename',
    restart: 'restart',
    restore: 'restore',
    start: 'start',
    stop: 'stop',
    unpause: 'unpause',
  },
  image: {
    delete: 'remove',
    import: 'import',
    load: 'loadfromarchive',
    prune: 'prune',
    pull: 'pull',
    push: 'push',
    save: 'save',
    tag: 'tag',
    untag: 'untag',
  },
  network: { create: 'create', destroy: 'remove', connect: 'connect', disconnect: 'disconnect', prune: 'prune' },
  volume: { create: 'create', destroy: 'remove', mount: 'mount', unmount: 'unmount', prune: 'prune' },
  pod: {
    create: 'create',
    kill: 'kill',
    pause: 'pause',
    remove: 'remove',
    restart: 'restart',
    start: 'start',
    stop: 'stop',
    unpause: 'unpause',
  },
};

/** One bus event as Libpod logs it, or undefined when Libpod has no such event. */
export function libpodEvent(e: EventMessage): LibpodEvent | undefined {
  // `health_status: healthy`, `exec_start: sh -c ...`: the word before the colon.
  const [word, rest] = e.Action.split(/:\s*(.*)/s) as [string, string | undefined];
  const status = STATUS[e.Type]?.[word];
  if (!status) return undefined;
  const src = e.Actor.Attributes;
  const attrs: Record<string, string> = { ...src };
  let id = e.Actor.ID;
  delete attrs.exitCode;
  if (e.Type === 'container') {
    attrs.podId = src[POD_LABELS.id] ?? '';
    if (src.exitCode !== undefined && (word === 'die' || word === 'exec_die')) attrs.containerExitCode = src.exitCode;
  } else if (e.Type === 'network') {
    // Libpod names the network in `network`; a connect's ID is the container's.
    attrs.network = src.name ?? e.Actor.ID;
    if (src.type) attrs.driver = src.type;
    if (src.container) id = src.container;
  } else if (e.Type === 'volume') {
    attrs.name = src.name ?? e.Actor.ID;
  }
  attrs.image ??= '';
  attrs.name ??= '';
  // Podman 4.3's client drops (and then dereferences) an event without a number here.
  attrs.containerExitCode ??= '0';
  if (e.Type === 'pod') attrs.podId = '';
  const out: LibpodEvent = {
    status,
    id,
    from: attrs.image,
    Type: e.Type,
    Action: status,
    Actor: { ID: id, Attributes: attrs },
    scope: 'local',
    time: e.time,
    timeNano: e.timeNano,
  };
  if (word === 'health_status' && rest) out.HealthStatus = rest;
  return out;
}

/** Libpod's own filters: Docker's, prefixes of IDs, and `pod` by name or ID prefix (members by their pod too). */
function matches(f: Record<string, string[]>, e: LibpodEvent): boolean {
  const { pod, container, ...docker } = f;
  const a = e.Actor.Attributes;
  if (
    pod &&
    !pod.some(
      (v) => (e.Type === 'pod' && (a.name === v || e.Actor.ID.startsWith(v))) || (a.podId && a.podId.startsWith(v)),
    )
  )
    return false;
  if (container && !(e.Type === 'container' && container.some((v) => a.name === v || e.Actor.ID.startsWith(v))))
    return false;
  return matchesEvent(docker, e);
}

export function registerLibpodEvents(r: Router, events: EventBus): void {
  r.get('/libpod/events', (req, res) => {
    const filters = parseFilters(req.query.get('filters'));
    assertKnownFilters(filters, FILTERS);
    const since = parseTime(req.query.get('since'));
    const until = parseTime(req.query.get('until'));
    if (since !== undefined && until !== undefined && until < since)
      throw invalidArgument('since time cannot be after until time');
    const stream = boolValue(req.query.get('stream'), true);
    const out = res.stream(200, 'application/json');
    // As Podman's file log: without `stream`, or with a bound, what was logged comes first.
    const replayFrom = !stream || since !== undefined || until !== undefined ? (since ?? 0) : undefined;
    streamEvents(events, out, { replayFrom, until, follow: stream }, (m) => {
      const e = libpodEvent(m);
      if (e && matches(filters, e)) out.write(e);
    });
  });
}
