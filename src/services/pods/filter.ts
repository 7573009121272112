/**
 * `pod ps --filter` (Libpod's `GET /libpod/pods/json?filters=`): Podman 4.3's filters over a
 * list entry, as a pure predicate, its values checked once with Podman's words (a user's
 * script matches on them): `id`, `name` (regular expressions, as Podman's), `label`, `status`,
 * `until`, `network`, and the members' `ctr-names`, `ctr-ids`, `ctr-status`, `ctr-number`
 * (the infra among them, as Podman counts it).
 *
 * Podman's `ctr-names` and `ctr-ids` look at the first container only (a `return` inside its
 * loop); Berth's match any container of the pod, which is what the words promise.
 *
 * Example:
 *   const keep = podFilter({ status: ['running'], 'ctr-number': ['3'] }, { now: Date.now(), matchLabel });
 *   list.filter(keep);
 */
import { invalidArgument } from '../../errdefs/index.ts';
import type { Filters, PodListEntry } from '../../api/types/index.ts';

export const POD_FILTERS = [
  'id',
  'name',
  'label',
  'status',
  'until',
  'network',
  'ctr-names',
  'ctr-ids',
  'ctr-status',
  'ctr-number',
] as const;

const POD_STATUSES = ['stopped', 'running', 'paused', 'exited', 'dead', 'created', 'degraded'];
const CTR_STATUSES = ['created', 'running', 'paused', 'stopped', 'exited', 'unknown'];

export interface PodFilterDeps {
  /** `label=k` or `label=k=v` against a pod's labels (images' `matchLabel`). */
  matchLabel(labels: Record<string, string>, filter: string): boolean;
  /** `until`'s value as unix nanoseconds (a time or a duration before now), throwing on a bad one. */
  parseUntil(value: string): number;
}

/** A regular expression of a filter value; a bad one is the user's error, not the daemon's. */
function regex(key: string, v: string): RegExp {
  try {
    return new RegExp(v);
  } catch (e) {
    throw invalidArgument(`invalid filter "${key}=${v}": ${(e as Error).message}`, e);
  }
}

/** A container's status in Podman's words: the engine's restarting and removing are running and unknown to Podman. */
function ctrStatus(s: string): string {
  if (s === 'restarting') return 'running';
  if (s === 'removing' || s === 'dead') return 'unknown';
  return s;
}

/** The predicate of Libpod's pod filters; an unknown filter or value throws InvalidArgument with Podman's message. */
export function podFilter(f: Filters, deps: PodFilterDeps): (p: PodListEntry) => boolean {
  for (const k of Object.keys(f))
    if (!(POD_FILTERS as readonly string[]).includes(k)) throw invalidArgument(`${k} is an invalid filter`);
  const any = (key: string) => f[key] ?? [];
  for (const v of any('status')) if (!POD_STATUSES.includes(v)) throw invalidArgument(`${v} is not a valid pod status`);
  for (const v of any('ctr-status')) if (!CTR_STATUSES.includes(v)) throw invalidArgument(`${v} is not a valid status`);
  const numbers = any('ctr-number').map((v) => {
    if (!/^\d+$/.test(v)) throw invalidArgument(`invalid filter "ctr-number=${v}": not a number`);
    return Number(v);
  });
  const ids = any('id').map((v) => regex('id', v));
  const names = any('name').map((v) => regex('name', v));
  const ctrNames = any('ctr-names').map((v) => regex('ctr-names', v));
  const ctrIds = any('ctr-ids').map((v) => regex('ctr-ids', v));
  // Podman's `until` takes the first value that parses; Berth's requires each to.
  const until = any('until').map((v) => deps.parseUntil(v));
  const statuses = any('status');
  const ctrStatuses = any('ctr-status').map((v) => (v === 'stopped' ? 'exited' : v));
  const networks = any('network');
  const labels = any('label');
  return (p) =>
    (!ids.length || ids.some((r) => r.test(p.Id))) &&
    (!names.length || names.some((r) => r.test(p.Name))) &&
    (!statuses.length || statuses.includes(p.Status.toLowerCase())) &&
    labels.every((l) => deps.matchLabel(p.Labels, l)) &&
    (!until.length || Date.parse(p.Created) * 1e6 < until[0]!) &&
    (!networks.length || p.Networks.some((n) => networks.includes(n))) &&
    (!ctrNames.length || p.Containers.some((c) => ctrNames.some((r) => r.test(c.Names)))) &&
    (!ctrIds.length || p.Containers.some((c) => ctrIds.some((r) => r.test(c.Id)))) &&
    (!ctrStatuses.length || p.Containers.some((c) => ctrStatuses.includes(ctrStatus(c.Status)))) &&
    (!numbers.length || numbers.includes(p.Containers.length));
}
