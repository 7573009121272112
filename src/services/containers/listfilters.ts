/**
 * `docker ps` filters read from a container's summary row, as moby's includeContainerInList
 * has them: `network` (a name, or a prefix of the network's ID), `publish` and `expose` (a port
 * or range, `80`, `8000-8080/udp`; TCP when no protocol is given), and `is-task` (a swarm
 * task: Berth runs none).
 */
import { invalidArgument } from '../../errdefs/index.ts';
import type { ContainerRecord } from './types.ts';
import { summary } from './views.ts';

export interface ListFilters {
  network?: string[];
  publish?: string[];
  expose?: string[];
  'is-task'?: string[];
}

/** A predicate for the filters given, or undefined when none of these is. */
export function networkAndPortFilter(f: ListFilters): ((c: ContainerRecord) => boolean) | undefined {
  const task = f['is-task']?.[0];
  if (task !== undefined && !['true', 'false', '1', '0'].includes(task.toLowerCase()))
    throw invalidArgument(`invalid filter 'is-task=${task}'`);
  const wantsTasks = task === 'true' || task === '1';
  const publish = portSet('publish', f.publish);
  const expose = portSet('expose', f.expose);
  if (!f.network && !publish && !expose && !wantsTasks) return undefined;
  return (c) => {
    if (wantsTasks) return false;
    const row = summary(c, '');
    if (f.network) {
      const nets = Object.entries(row.NetworkSettings?.Networks ?? {});
      const on = f.network.some((v) => nets.some(([name, n]) => name === v || !!n?.NetworkID?.startsWith(v)));
      if (!on) return false;
    }
    if (publish || expose) {
      const hit = (row.Ports ?? []).some(
        (p) => publish?.has(`${p.PublicPort ?? 0}/${p.Type}`) || expose?.has(`${p.PrivatePort}/${p.Type}`),
      );
      if (!hit) return false;
    }
    return true;
  };
}

/** `80`, `80/udp`, `8000-8080/tcp` → each port with its protocol; moby's words for what is not one. */
function portSet(key: string, values: string[] | undefined): Set<string> | undefined {
  if (!values?.length) return undefined;
  const out = new Set<string>();
  for (const v of values) {
    if (v.includes(':')) throw invalidArgument(`filter for '${key}' should not contain ':': ${v}`);
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(v);
    const first = m ? Number(m[1]) : NaN;
    const last = m?.[2] ? Number(m[2]) : first;
    if (!m || first > 65535 || last > 65535 || last < first)
      throw invalidArgument(`error while looking up for ${key} ${v}: invalid port: ${v}`);
    for (let p = first; p <= last; p++) out.add(`${p}/${m[3] ?? 'tcp'}`);
  }
  return out;
}
