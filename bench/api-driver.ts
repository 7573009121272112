/**
 * The Engine API calls behind the everyday `docker` commands, timed at the socket (no CLI
 * start-up in the figures), on several daemons in one run. bench/api.sh prepares the daemons
 * (the same containers and images on each) and runs this:
 *
 *   bin/node bench/api-driver.ts <rounds> <name=socket>...
 *
 * Each round runs every operation once on every daemon, one operation after another, the
 * daemons in one order one round and the reverse the next: a load that moves during the run
 * moves all daemons alike. Round 0 warms up and is not counted. Every request opens its own
 * connection, as each `docker` command does. Prints one JSON line per operation: the medians
 * and 90th percentiles per daemon.
 *
 * The containers each daemon has (made by api.sh): `target` (printed 1000 lines, sleeps; logs,
 * top, exec, cp, diff, commit, inspect read it), `ss` (stop/start and restart), `kl` (kill, then
 * started again untimed), `pz` (pause/unpause), `rn` (renamed back and forth), `done` (exited:
 * wait).
 */
import { request } from 'node:http';

interface Reply {
  status: number;
  body: Buffer;
}

const call = (
  sock: string,
  method: string,
  path: string,
  body?: Buffer | object,
  type = 'application/json',
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath: sock,
        method,
        path,
        agent: false,
        headers: data ? { 'Content-Type': type, 'Content-Length': data.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const reply = { status: res.statusCode ?? 0, body: Buffer.concat(chunks) };
          if (reply.status >= 300)
            reject(new Error(`${method} ${path}: ${reply.status} ${reply.body.toString().slice(0, 200)}`));
          else resolve(reply);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });

const json = async (sock: string, method: string, path: string, body?: object): Promise<Record<string, unknown>> =>
  JSON.parse((await call(sock, method, path, body)).body.toString() || '{}') as Record<string, unknown>;

// A tar of one small file, for PUT /archive (docker cp into a container).
const tarOf = (name: string, content: string): Buffer => {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(content.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write(
    Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0') + '\0',
    136,
  );
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const data = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  data.write(content);
  return Buffer.concat([header, data, Buffer.alloc(1024)]);
};

type Op = [name: string, run: (sock: string, round: number, state: State) => Promise<void>];
interface State {
  save?: Buffer;
  since: number;
}

const ops: Op[] = [
  ['ps -a (json?all=1)', async (s) => void (await call(s, 'GET', '/containers/json?all=1'))],
  ['inspect container (also port)', async (s) => void (await call(s, 'GET', '/containers/target/json'))],
  ['inspect image', async (s) => void (await call(s, 'GET', '/images/busybox/json'))],
  ['images', async (s) => void (await call(s, 'GET', '/images/json'))],
  ['logs --tail 100', async (s) => void (await call(s, 'GET', '/containers/target/logs?stdout=1&stderr=1&tail=100'))],
  ['logs (all 1000 lines)', async (s) => void (await call(s, 'GET', '/containers/target/logs?stdout=1&stderr=1'))],
  ['top', async (s) => void (await call(s, 'GET', '/containers/target/top'))],
  [
    'exec true (create+start+inspect)',
    async (s) => {
      const { Id } = await json(s, 'POST', '/containers/target/exec', {
        Cmd: ['true'],
        AttachStdout: true,
        AttachStderr: true,
      });
      await call(s, 'POST', `/exec/${Id as string}/start`, { Detach: false, Tty: false });
      await call(s, 'GET', `/exec/${Id as string}/json`);
    },
  ],
  ['stop -t 0', async (s) => void (await call(s, 'POST', '/containers/ss/stop?t=0'))],
  ['start', async (s) => void (await call(s, 'POST', '/containers/ss/start'))],
  ['restart -t 0', async (s) => void (await call(s, 'POST', '/containers/ss/restart?t=0'))],
  ['kill', async (s) => void (await call(s, 'POST', '/containers/kl/kill'))],
  ['pause', async (s) => void (await call(s, 'POST', '/containers/pz/pause'))],
  ['unpause', async (s) => void (await call(s, 'POST', '/containers/pz/unpause'))],
  [
    'rename',
    async (s, r) =>
      void (await call(s, 'POST', `/containers/${r % 2 ? 'rn2' : 'rn'}/rename?name=${r % 2 ? 'rn' : 'rn2'}`)),
  ],
  ['volume ls', async (s) => void (await call(s, 'GET', '/volumes'))],
  ['volume create', async (s, r) => void (await call(s, 'POST', '/volumes/create', { Name: `bv${r}` }))],
  ['volume rm', async (s, r) => void (await call(s, 'DELETE', `/volumes/bv${r}`))],
  ['network ls', async (s) => void (await call(s, 'GET', '/networks'))],
  ['network inspect', async (s) => void (await call(s, 'GET', '/networks/none'))],
  ['system df', async (s) => void (await call(s, 'GET', '/system/df'))],
  ['info', async (s) => void (await call(s, 'GET', '/info'))],
  ['version', async (s) => void (await call(s, 'GET', '/version'))],
  [
    'events --since --until',
    async (s, _r, st) =>
      void (await call(s, 'GET', `/events?since=${st.since}&until=${Math.floor(Date.now() / 1000)}`)),
  ],
  ['cp out (GET archive)', async (s) => void (await call(s, 'GET', '/containers/target/archive?path=/etc/passwd'))],
  [
    'cp in (PUT archive)',
    async (s, r) =>
      void (await call(
        s,
        'PUT',
        '/containers/target/archive?path=/tmp',
        tarOf(`f${r}`, 'hello\n'),
        'application/x-tar',
      )),
  ],
  ['diff', async (s) => void (await call(s, 'GET', '/containers/target/changes'))],
  ['wait (exited)', async (s) => void (await call(s, 'POST', '/containers/done/wait'))],
  ['commit', async (s, r) => void (await call(s, 'POST', `/commit?container=target&repo=bcommit&tag=r${r}`))],
  ['image rm (committed)', async (s, r) => void (await call(s, 'DELETE', `/images/bcommit:r${r}`))],
  ['tag', async (s, r) => void (await call(s, 'POST', `/images/busybox/tag?repo=btag&tag=r${r}`))],
  ['image rm (untag)', async (s, r) => void (await call(s, 'DELETE', `/images/btag:r${r}`))],
  ['history', async (s) => void (await call(s, 'GET', '/images/busybox/history'))],
  ['save busybox', async (s, _r, st) => void (st.save = (await call(s, 'GET', '/images/get?names=busybox')).body)],
  [
    'load',
    async (s, _r, st) =>
      void (await call(s, 'POST', '/images/load?quiet=1', st.save ?? Buffer.alloc(0), 'application/x-tar')),
  ],
];

const [roundsArg, ...daemons] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!rounds || daemons.length === 0) throw new Error('usage: api-driver.ts <rounds> <name=socket>...');
const names = daemons.map((d) => d.split('=')[0]!);
const socks = daemons.map((d) => d.slice(d.indexOf('=') + 1));
const only = process.env.OPS ? new RegExp(process.env.OPS) : undefined;
const chosen = ops.filter(([name]) => !only || only.test(name));
const states: State[] = socks.map(() => ({ since: Math.floor(Date.now() / 1000) - 60 }));
const times = chosen.map(() => names.map((): number[] => []));

for (let r = 0; r <= rounds; r++) {
  const order = names.map((_, i) => i);
  if (r % 2) order.reverse();
  for (const [k, [, run]] of chosen.entries()) {
    for (const i of order) {
      const t = process.hrtime.bigint();
      await run(socks[i]!, r, states[i]!);
      if (r > 0) times[k]![i]!.push(Number(process.hrtime.bigint() - t) / 1e6);
      // kill's container started again, untimed, for the next round.
      if (chosen[k]![0] === 'kill') await call(socks[i]!, 'POST', '/containers/kl/start');
    }
  }
}

const q = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
for (const [k, [name]] of chosen.entries()) {
  const row: Record<string, unknown> = { op: name };
  for (const [i, d] of names.entries()) row[d] = { median: q(times[k]![i]!, 0.5), p90: q(times[k]![i]!, 0.9) };
  console.log(JSON.stringify(row));
}
