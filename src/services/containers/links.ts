/**
 * Legacy `--link name:alias` on the default bridge: the linked container's address in
 * /etc/hosts under the alias, its hostname and name, and Docker's environment variables
 * (ALIAS_NAME, ALIAS_PORT, ALIAS_PORT_80_TCP_ADDR..., ALIAS_ENV_<its env>).
 */
import { conflict, internal, notFound } from '../../errdefs/index.ts';
import type { ContainerRecord } from './types.ts';

/** "web:db", "/web:/me/db" or "web" → container and alias. */
export function parseLink(link: string): { name: string; alias: string } {
  const [a, b] = link.split(':');
  const name = a!.replace(/^\//, '');
  const alias = b ? b.split('/').pop()! : name;
  return { name, alias };
}

/**
 * `HostConfig.Links` as dockerd's inspect shows them: from its link graph, so each names the
 * linked container by its current name and the link by its full path (`/db:/web/alias`), and a
 * link to a container since removed is gone. `nameOf` answers a container's current name.
 */
export function shownLinks(
  links: string[],
  selfName: string,
  nameOf: (ref: string) => string | undefined,
): string[] | null {
  const shown = links.flatMap((l) => {
    const { name, alias } = parseLink(l);
    const current = nameOf(name);
    return current === undefined ? [] : [`/${current}:/${selfName}/${alias}`];
  });
  return shown.length ? shown : null;
}

export function linkSettings(
  links: string[],
  find: (ref: string) => ContainerRecord | undefined,
  selfName = '',
): { hosts: Array<{ ip: string; names: string[] }>; env: string[] } {
  const hosts: Array<{ ip: string; names: string[] }> = [];
  const env: string[] = [];
  for (const l of links) {
    const { name, alias } = parseLink(l);
    const other = find(name);
    const ip = other?.State.Running ? other.Network?.ipAddress : undefined;
    if (!other || !ip) throw conflict(`cannot link to a non running container: /${name} AS /${selfName}/${alias}`);
    const names = [alias];
    if (other.Config.Hostname && !names.includes(other.Config.Hostname)) names.push(other.Config.Hostname);
    if (!names.includes(other.Name)) names.push(other.Name);
    hosts.push({ ip, names });
    const p = alias.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    const ports = Object.keys(other.Config.ExposedPorts ?? {})
      .map((k) => {
        const [n, proto = 'tcp'] = k.split('/');
        return { n: Number(n), proto };
      })
      .sort((x, y) => x.n - y.n || x.proto.localeCompare(y.proto));
    if (ports.length) env.push(`${p}_PORT=${ports[0]!.proto}://${ip}:${ports[0]!.n}`);
    for (const { n, proto } of ports) {
      const k = `${p}_PORT_${n}_${proto.toUpperCase()}`;
      env.push(`${k}=${proto}://${ip}:${n}`, `${k}_ADDR=${ip}`, `${k}_PORT=${n}`, `${k}_PROTO=${proto}`);
    }
    env.push(`${p}_NAME=/${selfName}/${alias}`);
    for (const e of other.Config.Env ?? []) {
      const i = e.indexOf('=');
      if (i < 0) continue;
      const k = e.slice(0, i);
      if (k === 'HOME' || k === 'PATH') continue;
      env.push(`${p}_ENV_${k}=${e.slice(i + 1)}`);
    }
  }
  return { hosts, env };
}

/**
 * On a user network `--link name:alias` is the embedded DNS's, not /etc/hosts' (no variables
 * either): dockerd keeps the links on the network's endpoint, and `HostConfig.Links` is null.
 */
export function linksToEndpoint(c: ContainerRecord, userNetwork: string | undefined): void {
  const links = c.HostConfig.Links;
  if (!userNetwork || !links?.length) return;
  const eps = (c.EndpointsConfig ??= {});
  const ep = (eps[userNetwork] ??= {});
  if (!ep.Links?.length) ep.Links = [...links];
  c.HostConfig.Links = null;
}

/**
 * `DELETE /containers/{parent}/{alias}?link=1` (`docker rm --link /web/db`): the parent's links
 * without the one named `alias`. As dockerd: a name without a parent is the container's own
 * name, which cannot go (500, dockerd's words); a link the parent does not have is not found.
 */
export function withoutLink(linkName: string, parent: ContainerRecord | undefined): string[] {
  const parts = linkName.replace(/^\/+/, '').split('/');
  if (parts.length < 2) throw internal('Conflict, cannot remove the default link name of the container');
  const alias = parts.pop()!;
  const links = parent?.HostConfig.Links ?? [];
  const kept = links.filter((l) => parseLink(l).alias !== alias);
  if (!parent || kept.length === links.length) throw notFound(`No such container: ${parts.join('/')}/${alias}`);
  return kept;
}
