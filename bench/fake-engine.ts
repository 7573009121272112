/**
 * A fake Engine API that answers at once: what the docker CLI itself costs (and curl's
 * `GET /containers/json?all=1`: the process, the transfer, the parse), the floor under any
 * daemon's figure on this machine.
 *
 * - `docker stats --no-stream` over N containers (its thousand connections, their JSON, its
 *   table), `docker ps -a` and `GET /containers/json?all=1` (bench/many.sh). It serves the
 *   list and one stats answer captured from a real daemon (files in DIR), the answer's id
 *   changed to the one asked for.
 * - `docker run [--rm] busybox true` (bench/warm.sh): create, attach (hijacked, 101 as Berth
 *   answers it), wait (its headers at once, as Berth sends them once the wait is registered)
 *   and start, with Berth's status codes and bodies; the attach stream ends and the wait's
 *   body (exit 0) goes as soon as start has answered — a container that ran, exited and was
 *   removed in no time. Needs no DIR.
 *
 *   bin/node bench/fake-engine.ts SOCKET [DIR]     (DIR: list.json, stats.json, version.json)
 *
 * A request it does not fake is answered 404 and named on stderr.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';

const [sock, dir] = process.argv.slice(2) as [string, string | undefined];
const file = (name: string) => (dir ? readFileSync(`${dir}/${name}`) : undefined);
const list = file('list.json');
const stats = dir ? (JSON.parse(file('stats.json')!.toString('utf8')) as object) : undefined;
const version = file('version.json');
const headers = { 'Api-Version': '1.45', 'Content-Type': 'application/json' };

/** A run's connections that end when its container "exits": at start's answer. */
const pending = new Map<string, { attach?: Socket; wait?: ServerResponse }>();
const runOf = (id: string) => pending.get(id) ?? pending.set(id, {}).get(id)!;

const server = createServer((req, res) => {
  const url = req.url ?? '';
  const id = /\/containers\/([0-9a-f]+)\/stats/.exec(url)?.[1];
  const run = /\/containers\/([0-9a-f]{64})\/(wait|start)/.exec(url);
  req.resume(); // bodies (create's config) are not read
  if (url.startsWith('/_ping')) {
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'text/plain; charset=utf-8',
      Ostype: 'linux',
      'Builder-Version': '1',
      'Docker-Experimental': 'false',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  } else if (req.method === 'POST' && /\/containers\/create/.test(url)) {
    res.writeHead(201, headers);
    res.end(JSON.stringify({ Id: randomBytes(32).toString('hex'), Warnings: [] }) + '\n');
  } else if (run?.[2] === 'wait') {
    res.writeHead(200, headers);
    res.flushHeaders();
    runOf(run[1]!).wait = res;
  } else if (run?.[2] === 'start') {
    res.writeHead(204, { 'Api-Version': '1.45' });
    res.end();
    const r = runOf(run[1]!);
    pending.delete(run[1]!);
    r.attach?.end();
    r.wait?.end(JSON.stringify({ StatusCode: 0, Error: null }) + '\n');
  } else if (url.includes('/events')) {
    res.writeHead(200, headers);
    res.flushHeaders(); // open until the CLI goes
  } else if (id && stats) {
    res.writeHead(200, headers);
    res.end(JSON.stringify({ ...stats, id }));
  } else if (url.includes('/containers/json') && list) {
    res.writeHead(200, headers);
    res.end(list);
  } else if (url.includes('/version') && version) {
    res.writeHead(200, headers);
    res.end(version);
  } else {
    process.stderr.write(`fake-engine: not faked: ${req.method} ${url}\n`);
    res.writeHead(404, headers);
    res.end('{"message":"not faked"}');
  }
});
// `docker run`'s attach asks for the connection (Connection: Upgrade, Upgrade: tcp).
server.on('upgrade', (req, socket: Socket) => {
  const m = /\/containers\/([0-9a-f]{64})\/attach/.exec(req.url ?? '');
  if (!m) {
    process.stderr.write(`fake-engine: not faked: upgrade ${req.method} ${req.url}\n`);
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  socket.write(
    'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
  );
  socket.on('error', () => {});
  runOf(m[1]!).attach = socket;
});
rmSync(sock, { force: true });
server.listen({ path: sock, backlog: 4096 });
