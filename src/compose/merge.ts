/**
 * Merging an override file's service into the base, as the compose-spec's "Merge and override"
 * says: maps merge by key, sequences of unique values are unioned, ports are appended unless
 * already there, volumes are replaced by target, a few nested mappings merge one level down,
 * and anything else the later file sets wins. Both sides are already in canonical form.
 */
import type { PortConfig, Service, ServiceVolume } from './model.ts';

const UNION_KEYS = new Set([
  'expose',
  'dns',
  'dns_search',
  'cap_add',
  'cap_drop',
  'extra_hosts',
  'tmpfs',
  'profiles',
  'security_opt',
  'group_add',
  'dns_opt',
]);
const MAP_KEYS = new Set(['environment', 'labels', 'sysctls', 'ulimits', 'networks', 'depends_on']);

export function mergeService(base: Partial<Service>, over: Partial<Service>): Partial<Service> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    if (cur === undefined || v === null || cur === null) out[k] = v;
    else if (MAP_KEYS.has(k)) out[k] = { ...(cur as object), ...(v as object) };
    else if (UNION_KEYS.has(k)) out[k] = [...new Set([...(cur as string[]), ...(v as string[])])];
    else if (k === 'ports') {
      const seen = new Set((cur as PortConfig[]).map((p) => JSON.stringify(p)));
      out[k] = [...(cur as PortConfig[]), ...(v as PortConfig[]).filter((p) => !seen.has(JSON.stringify(p)))];
    } else if (k === 'volumes') {
      const byTarget = new Map((cur as ServiceVolume[]).map((x) => [x.target, x]));
      for (const x of v as ServiceVolume[]) byTarget.set(x.target, x);
      out[k] = [...byTarget.values()];
    } else if (k === 'build' || k === 'healthcheck' || k === 'logging') {
      const b = cur as Record<string, unknown>;
      const o = v as Record<string, unknown>;
      out[k] = {
        ...b,
        ...o,
        ...(b.args || o.args ? { args: { ...(b.args as object), ...(o.args as object) } } : {}),
        ...(b.options || o.options ? { options: { ...(b.options as object), ...(o.options as object) } } : {}),
      };
    } else if (k === 'deploy') {
      const b = cur as Record<string, Record<string, unknown>>;
      const o = v as Record<string, Record<string, unknown>>;
      out[k] = {
        ...b,
        ...o,
        ...(b.resources || o.resources
          ? { resources: { limits: { ...(b.resources?.limits as object), ...(o.resources?.limits as object) } } }
          : {}),
      };
    } else out[k] = v;
  }
  return out as Partial<Service>;
}
