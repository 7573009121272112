/**
 * Published ports of rootless berthd. berthd runs inside rootlesskit's network namespace, so
 * its userland proxies listen there; rootlesskit's port driver (`--port-driver=builtin`)
 * listens on the host for each one and forwards to the child's 127.0.0.1:<port>, where the
 * proxy is. Its API is HTTP on `<state-dir>/api.sock` (`$ROOTLESSKIT_STATE_DIR`, set in the
 * child): `POST /v1/ports` with the parent address and port and the child port, `DELETE
 * /v1/ports/<id>` — what dockerd-rootless's `rootlesskit-docker-proxy` calls.
 *
 *     const ports = new PortProxies(rootlesskitPorts(process.env.ROOTLESSKIT_STATE_DIR!));
 */
import http from 'node:http';
import { join } from 'node:path';
import { unavailable } from '../errdefs/index.ts';
import type { PortExposer } from './ports.ts';

function call(sock: string, method: string, path: string, body?: object): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: sock, method, path, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${res.statusCode}: ${text.trim()}`));
          else resolve(text);
        });
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** The host side of rootless berthd's published ports, through rootlesskit's API in `stateDir`. */
export function rootlesskitPorts(stateDir: string): PortExposer {
  const sock = join(stateDir, 'api.sock');
  return {
    async expose(proto, hostIp, port) {
      let id: number;
      try {
        const text = await call(sock, 'POST', '/v1/ports', {
          proto,
          parentIP: hostIp,
          parentPort: port,
          childPort: port,
        });
        id = (JSON.parse(text) as { id: number }).id;
      } catch (e) {
        throw unavailable(
          `expose port ${hostIp}:${port}/${proto} on the host through rootlesskit: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
      return () => void call(sock, 'DELETE', `/v1/ports/${id}`).catch(() => {});
    },
  };
}
