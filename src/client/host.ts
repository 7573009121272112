/**
 * Daemon addresses as the docker CLI writes them: `unix:///path`, `tcp://host:port`,
 * `http://host:port`, or a bare socket path.
 */

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export type Endpoint = { kind: 'unix'; socketPath: string } | { kind: 'tcp'; host: string; port: number };

export function parseHost(host: string): Endpoint {
  const h = host.trim();
  if (h.startsWith('/')) return { kind: 'unix', socketPath: h };
  const m = /^([a-z]+):\/\/(.*)$/.exec(h);
  if (!m) throw new Error(`unable to parse docker host \`${host}\``);
  const [, scheme, rest] = m as unknown as [string, string, string];
  if (scheme === 'unix') {
    if (!rest) throw new Error(`unable to parse docker host \`${host}\`: empty socket path`);
    return { kind: 'unix', socketPath: rest };
  }
  if (scheme === 'tcp' || scheme === 'http') {
    const hostPort = rest.replace(/\/+$/, '');
    let hostname: string;
    let port = '';
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
    if (v6) {
      hostname = v6[1]!;
      port = v6[2] ?? '';
    } else {
      const i = hostPort.lastIndexOf(':');
      hostname = i >= 0 ? hostPort.slice(0, i) : hostPort;
      port = i >= 0 ? hostPort.slice(i + 1) : '';
    }
    if (port !== '' && !/^\d+$/.test(port)) throw new Error(`invalid port in docker host \`${host}\``);
    return { kind: 'tcp', host: hostname || '127.0.0.1', port: port ? Number(port) : 2375 };
  }
  throw new Error(`unsupported docker host scheme "${scheme}" in \`${host}\``);
}

/** The host a CLI uses: an explicit `-H`, else DOCKER_HOST, else Berth's socket. */
export function resolveHost(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit || env.DOCKER_HOST || DEFAULT_HOST;
}
