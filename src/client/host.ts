/**
 * Daemon addresses as the docker CLI writes them: `unix:///path`, `tcp://host:port`,
 * `http://host:port`, `https://host:port`, or a bare socket path.
 */

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
/** The docker CLI's default when TLS is on and no host is given. */
export const DEFAULT_TLS_HOST = 'tcp://localhost:2376';

export type Endpoint =
  | { kind: 'unix'; socketPath: string }
  /** `https` is a TCP address whose scheme itself asks for TLS. */
  | { kind: 'tcp'; host: string; port: number; https?: boolean };

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
  if (scheme === 'tcp' || scheme === 'http' || scheme === 'https') {
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
    const e = { kind: 'tcp' as const, host: hostname || 'localhost', port: port ? Number(port) : 2375 };
    return scheme === 'https' ? { ...e, https: true } : e;
  }
  throw new Error(`unsupported docker host scheme "${scheme}" in \`${host}\``);
}

/** The host a CLI uses: an explicit `-H`, else DOCKER_HOST, else Berth's socket (or docker's TLS default). */
export function resolveHost(explicit?: string, env: NodeJS.ProcessEnv = process.env, tls = false): string {
  return explicit || env.DOCKER_HOST || (tls ? DEFAULT_TLS_HOST : DEFAULT_HOST);
}
