/**
 * A fake Engine API that answers at once (bench/many.sh): what `docker stats --no-stream` over
 * N containers costs the docker CLI itself — its thousand connections, their JSON, its table —
 * and what `docker ps -a` and curl's `GET /containers/json?all=1` cost their clients (the
 * process, the transfer, the parse and the table): the floor under any daemon's figure. It
 * serves the list and one stats answer captured from a real daemon (files in DIR), the answer's
 * id changed to the one asked for.
 *
 *   bin/node bench/fake-engine.ts SOCKET DIR     (DIR: list.json, stats.json, version.json)
 */
import { createServer } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';

const [sock, dir] = process.argv.slice(2) as [string, string];
const list = readFileSync(`${dir}/list.json`);
const stats = JSON.parse(readFileSync(`${dir}/stats.json`, 'utf8')) as object;
const version = readFileSync(`${dir}/version.json`);
const headers = { 'Api-Version': '1.45', 'Content-Type': 'application/json' };
const server = createServer((req, res) => {
  const url = req.url ?? '';
  const id = /\/containers\/([0-9a-f]+)\/stats/.exec(url)?.[1];
  if (url.startsWith('/_ping')) {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/plain' });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  } else if (url.includes('/events')) {
    res.writeHead(200, headers);
    res.flushHeaders(); // open until the CLI goes
  } else if (id) {
    res.writeHead(200, headers);
    res.end(JSON.stringify({ ...stats, id }));
  } else if (url.includes('/containers/json')) {
    res.writeHead(200, headers);
    res.end(list);
  } else if (url.includes('/version')) {
    res.writeHead(200, headers);
    res.end(version);
  } else {
    res.writeHead(404, headers);
    res.end('{"message":"not faked"}');
  }
});
rmSync(sock, { force: true });
server.listen({ path: sock, backlog: 4096 });
