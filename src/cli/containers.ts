/** Container commands: run, create, start, stop, restart, kill, wait, rm, ps, logs, inspect, rename, top, prune, export. */
import { request } from 'node:http';
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Duplex } from 'node:stream';
import { ApiError, demux, readAll, type EngineClient } from '../client/index.ts';
import { parseFlags, UsageError, type FlagSpec } from './flags.ts';
import { ago, humanSize, render, table } from './format.ts';

export type Out = { out: (s: string) => void; err: (s: string) => void };

const RUN_SPEC: FlagSpec = {
  bool: ['detach', 'rm', 'init', 'read-only', 'privileged', 'interactive', 'tty', 'help', 'publish-all'],
  value: ['name', 'workdir', 'user', 'entrypoint', 'hostname', 'memory', 'cpus', 'pids-limit', 'network', 'restart', 'stop-signal', 'stop-timeout', 'detach-keys'],
  multi: ['env', 'env-file', 'label', 'cap-add', 'cap-drop', 'security-opt', 'ulimit', 'publish', 'volume', 'dns', 'add-host', 'expose'],
  short: { d: 'detach', e: 'env', w: 'workdir', u: 'user', h: 'hostname', l: 'label', m: 'memory', i: 'interactive', t: 'tty', p: 'publish', v: 'volume', P: 'publish-all' },
  stopAtPositional: true,
};

function parseMemory(s: string): number {
  const m = s.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)([bkmgt]?)b?$/);
  if (!m) throw new UsageError(`invalid size: '${s}'`);
  const mult: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  return Math.round(Number(m[1]) * mult[m[2]!]!);
}

function parseUlimit(s: string): { Name: string; Soft: number; Hard: number } {
  const m = s.match(/^([a-z]+)=(-?\d+)(?::(-?\d+))?$/);
  if (!m) throw new UsageError(`invalid ulimit argument: ${s}`);
  return { Name: m[1]!, Soft: Number(m[2]), Hard: Number(m[3] ?? m[2]) };
}

function envFromFiles(files: string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const l = line.trim();
      if (!l || l.startsWith('#')) continue;
      out.push(l.includes('=') ? l : `${l}=${process.env[l] ?? ''}`);
    }
  }
  return out;
}

/** The create request body for `run` and `create`, from docker's flags. */
export function createBody(argv: string[]): { name?: string; body: Record<string, unknown>; detach: boolean; rm: boolean; tty: boolean; stdin: boolean } {
  const p = parseFlags(argv, RUN_SPEC);
  const [image, ...cmd] = p.args;
  if (!image) throw new UsageError('"run" requires at least 1 argument.');
  const f = p.flags;
  const env = [...envFromFiles(p.multi['env-file']!), ...p.multi.env!.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`))];
  const labels = Object.fromEntries(p.multi.label!.map((l) => [l.split('=')[0]!, l.includes('=') ? l.slice(l.indexOf('=') + 1) : '']));
  const restart = typeof f.restart === 'string' ? f.restart : 'no';
  const [policy, retries] = restart.split(':');
  const body: Record<string, unknown> = {
    Image: image,
    Cmd: cmd.length ? cmd : undefined,
    Env: env,
    Labels: labels,
    Tty: !!f.tty,
    OpenStdin: !!f.interactive,
    StdinOnce: !!f.interactive,
    AttachStdout: !f.detach,
    AttachStderr: !f.detach,
    WorkingDir: f.workdir,
    User: f.user,
    Hostname: f.hostname,
    Entrypoint: f.entrypoint === undefined ? undefined : f.entrypoint === '' ? [''] : [f.entrypoint],
    StopSignal: f['stop-signal'],
    HostConfig: {
      AutoRemove: !!f.rm,
      Init: f.init ? true : null,
      ReadonlyRootfs: !!f['read-only'],
      Privileged: !!f.privileged,
      CapAdd: p.multi['cap-add'],
      CapDrop: p.multi['cap-drop'],
      SecurityOpt: p.multi['security-opt'],
      Ulimits: p.multi.ulimit!.map(parseUlimit),
      Memory: typeof f.memory === 'string' ? parseMemory(f.memory) : 0,
      NanoCpus: typeof f.cpus === 'string' ? Math.round(Number(f.cpus) * 1e9) : 0,
      PidsLimit: typeof f['pids-limit'] === 'string' ? Number(f['pids-limit']) : null,
      NetworkMode: typeof f.network === 'string' ? f.network : 'default',
      RestartPolicy: { Name: policy, MaximumRetryCount: Number(retries ?? 0) },
      Dns: p.multi.dns,
      ExtraHosts: p.multi['add-host'],
      Binds: p.multi.volume,
    },
  };
  return { name: typeof f.name === 'string' ? f.name : undefined, body, detach: !!f.detach, rm: !!f.rm, tty: !!f.tty, stdin: !!f.interactive };
}

async function createContainer(c: EngineClient, o: Out, name: string | undefined, body: Record<string, unknown>): Promise<string> {
  const q = name ? `?name=${encodeURIComponent(name)}` : '';
  try {
    return (await c.json<{ Id: string }>('POST', `/containers/create${q}`, body)).Id;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && /No such image/.test(e.message)) {
      o.err(`Unable to find image '${body.Image}' locally\n`);
      const res = await c.call('POST', `/images/create?fromImage=${encodeURIComponent(String(body.Image))}`);
      for await (const m of c.messages(res)) if (m.status) o.err(`${m.status}\n`);
      return (await c.json<{ Id: string }>('POST', `/containers/create${q}`, body)).Id;
    }
    throw e;
  }
}

/** Opens the hijacked attach stream (101 UPGRADED) and returns its socket. */
function attach(c: EngineClient, id: string, stdin: boolean): Promise<Duplex> {
  const url = new URL(c.host.includes('://') ? c.host : `unix://${c.host}`);
  const base = url.protocol === 'unix:' ? { socketPath: url.pathname } : { host: url.hostname, port: Number(url.port || 2375) };
  return new Promise((resolve, reject) => {
    const req = request({ ...base, method: 'POST', path: `/containers/${id}/attach?stream=1&stdout=1&stderr=1${stdin ? '&stdin=1' : ''}`, headers: { Connection: 'Upgrade', Upgrade: 'tcp' } });
    req.on('upgrade', (_res, socket, head) => {
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.on('response', async (res) => reject(new ApiError(res.statusCode ?? 500, (await readAll(res)).toString())));
    req.on('error', reject);
    req.end();
  });
}

export async function run(c: EngineClient, argv: string[], o: Out, createOnly = false): Promise<number> {
  const r = createBody(argv);
  let id: string;
  try {
    id = await createContainer(c, o, r.name, r.body);
  } catch (e) {
    o.err(`docker: Error response from daemon: ${(e as Error).message}\n`.replace(/^docker:/, 'berth:'));
    return 125;
  }
  if (createOnly) {
    o.out(`${id}\n`);
    return 0;
  }
  if (r.detach) {
    try {
      await c.call('POST', `/containers/${id}/start`);
    } catch (e) {
      o.err(`berth: Error response from daemon: ${(e as Error).message}\n`);
      return 125;
    }
    o.out(`${id}\n`);
    return 0;
  }
  const sock = await attach(c, id, r.stdin);
  const waitRes = c.call('POST', `/containers/${id}/wait?condition=${r.rm ? 'removed' : 'next-exit'}`);
  const streamed = r.tty
    ? pipeline(sock, process.stdout, { end: false })
    : demux(sock as AsyncIterable<Buffer>, (s, d) => (s === 2 ? process.stderr : process.stdout).write(d));
  if (r.stdin) process.stdin.pipe(sock);
  try {
    await c.call('POST', `/containers/${id}/start`);
  } catch (e) {
    sock.destroy();
    o.err(`berth: Error response from daemon: ${(e as Error).message}\n`);
    await waitRes.then((x) => x.resume()).catch(() => {});
    return 125;
  }
  await streamed.catch(() => {});
  const status = JSON.parse((await readAll(await waitRes)).toString()) as { StatusCode: number };
  return status.StatusCode;
}

const simple = async (c: EngineClient, o: Out, ids: string[], fn: (id: string) => Promise<unknown>, verb: string): Promise<number> => {
  if (!ids.length) throw new UsageError(`"${verb}" requires at least 1 argument.`);
  let rc = 0;
  for (const id of ids) {
    try {
      await fn(id);
      o.out(`${id}\n`);
    } catch (e) {
      o.err(`Error response from daemon: ${(e as Error).message}\n`);
      rc = 1;
    }
  }
  return rc;
};

export async function start(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { bool: ['attach', 'interactive'], short: { a: 'attach', i: 'interactive' } });
  if (p.flags.attach && p.args.length === 1) {
    const id = p.args[0]!;
    const sock = await attach(c, id, false);
    const waitRes = c.call('POST', `/containers/${id}/wait?condition=next-exit`);
    const streamed = demux(sock as AsyncIterable<Buffer>, (s, d) => (s === 2 ? process.stderr : process.stdout).write(d));
    await c.call('POST', `/containers/${id}/start`);
    await streamed.catch(() => {});
    return (JSON.parse((await readAll(await waitRes)).toString()) as { StatusCode: number }).StatusCode;
  }
  return simple(c, o, p.args, (id) => c.call('POST', `/containers/${id}/start`).then((r) => r.resume()), 'start');
}

export async function stopLike(c: EngineClient, argv: string[], o: Out, action: 'stop' | 'restart'): Promise<number> {
  const p = parseFlags(argv, { value: ['time', 'signal'], short: { t: 'time', s: 'signal' } });
  const q = new URLSearchParams();
  if (typeof p.flags.time === 'string') q.set('t', p.flags.time);
  if (typeof p.flags.signal === 'string') q.set('signal', p.flags.signal);
  return simple(c, o, p.args, (id) => c.call('POST', `/containers/${id}/${action}?${q}`).then((r) => r.resume()), action);
}

export async function kill(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { value: ['signal'], short: { s: 'signal' } });
  const sig = typeof p.flags.signal === 'string' ? `?signal=${p.flags.signal}` : '';
  return simple(c, o, p.args, (id) => c.call('POST', `/containers/${id}/kill${sig}`).then((r) => r.resume()), 'kill');
}

export async function simpleAction(c: EngineClient, argv: string[], o: Out, action: 'pause' | 'unpause'): Promise<number> {
  return simple(c, o, argv, (id) => c.call('POST', `/containers/${id}/${action}`).then((r) => r.resume()), action);
}

export async function wait(c: EngineClient, argv: string[], o: Out): Promise<number> {
  let rc = 0;
  for (const id of argv) {
    try {
      o.out(`${(await c.json<{ StatusCode: number }>('POST', `/containers/${id}/wait`)).StatusCode}\n`);
    } catch (e) {
      o.err(`Error response from daemon: ${(e as Error).message}\n`);
      rc = 1;
    }
  }
  return rc;
}

export async function rm(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { bool: ['force', 'volumes'], short: { f: 'force', v: 'volumes' } });
  const q = `?force=${p.flags.force ? 1 : 0}&v=${p.flags.volumes ? 1 : 0}`;
  return simple(c, o, p.args, (id) => c.call('DELETE', `/containers/${id}${q}`).then((r) => r.resume()), 'rm');
}

interface Summary {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  Status: string;
  State: string;
  Labels: Record<string, string>;
  Ports: unknown[];
}

export async function ps(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { bool: ['all', 'quiet', 'no-trunc', 'latest', 'size'], value: ['format', 'last'], multi: ['filter'], short: { a: 'all', q: 'quiet', l: 'latest', n: 'last', f: 'filter', s: 'size' } });
  const filters: Record<string, string[]> = {};
  for (const f of p.multi.filter!) {
    const eq = f.indexOf('=');
    (filters[f.slice(0, eq)] ??= []).push(f.slice(eq + 1));
  }
  const q = new URLSearchParams({ all: p.flags.all ? '1' : '0', filters: JSON.stringify(filters) });
  if (p.flags.latest) q.set('limit', '1');
  if (typeof p.flags.last === 'string') q.set('limit', p.flags.last);
  const list = await c.json<Summary[]>('GET', `/containers/json?${q}`);
  const full = !!p.flags['no-trunc'];
  if (p.flags.quiet) {
    for (const x of list) o.out(`${full ? x.Id : x.Id.slice(0, 12)}\n`);
    return 0;
  }
  const view = (x: Summary) => ({
    ID: full ? x.Id : x.Id.slice(0, 12),
    Image: x.Image,
    Command: `"${full || x.Command.length <= 20 ? x.Command : `${x.Command.slice(0, 19)}…`}"`,
    CreatedAt: new Date(x.Created * 1000).toISOString(),
    RunningFor: ago(x.Created).replace(/ ago$/, '') + ' ago',
    Status: x.Status,
    State: x.State,
    Ports: '',
    Names: x.Names.map((n) => n.replace(/^\//, '')).join(','),
    Labels: Object.entries(x.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
  });
  if (typeof p.flags.format === 'string') {
    for (const x of list) o.out(`${render(p.flags.format, view(x))}\n`);
    return 0;
  }
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const x of list.map(view)) rows.push([x.ID, x.Image, x.Command, x.RunningFor, x.Status, x.Ports, x.Names]);
  o.out(table(rows));
  return 0;
}

export async function logs(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { bool: ['follow', 'timestamps', 'details'], value: ['tail', 'since', 'until'], short: { f: 'follow', t: 'timestamps', n: 'tail' } });
  const id = p.args[0];
  if (!id) throw new UsageError('"logs" requires exactly 1 argument.');
  const info = await c.json<{ Config: { Tty: boolean } }>('GET', `/containers/${id}/json`);
  const q = new URLSearchParams({ stdout: '1', stderr: '1', follow: p.flags.follow ? '1' : '0', timestamps: p.flags.timestamps ? '1' : '0', tail: typeof p.flags.tail === 'string' ? p.flags.tail : 'all' });
  for (const k of ['since', 'until'] as const) if (typeof p.flags[k] === 'string') q.set(k, String(p.flags[k]));
  const res = await c.call('GET', `/containers/${id}/logs?${q}`);
  if (info.Config.Tty) await pipeline(res, process.stdout, { end: false });
  else await demux(res as AsyncIterable<Buffer>, (s, d) => (s === 2 ? process.stderr : process.stdout).write(d));
  void o;
  return 0;
}

export async function inspect(c: EngineClient, argv: string[], o: Out, kind?: 'container' | 'image'): Promise<number> {
  const p = parseFlags(argv, { value: ['format', 'type'], bool: ['size'], short: { f: 'format', s: 'size' } });
  const out: unknown[] = [];
  let rc = 0;
  for (const name of p.args) {
    const tries = kind === 'image' || p.flags.type === 'image' ? ['image'] : kind === 'container' || p.flags.type === 'container' ? ['container'] : ['container', 'image'];
    let found: unknown;
    for (const t of tries) {
      try {
        found = await c.json('GET', t === 'container' ? `/containers/${encodeURIComponent(name)}/json` : `/images/${name}/json`);
        break;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
    }
    if (found === undefined) {
      o.err(`Error: No such ${kind ?? 'object'}: ${name}\n`);
      rc = 1;
    } else out.push(found);
  }
  if (typeof p.flags.format === 'string') for (const x of out) o.out(`${render(p.flags.format, x)}\n`);
  else o.out(`${JSON.stringify(out, null, 4)}\n`);
  return rc;
}

export async function rename(c: EngineClient, argv: string[], o: Out): Promise<number> {
  if (argv.length !== 2) throw new UsageError('"rename" requires exactly 2 arguments.');
  (await c.call('POST', `/containers/${argv[0]}/rename?name=${encodeURIComponent(argv[1]!)}`)).resume();
  void o;
  return 0;
}

export async function top(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const [id, ...psArgs] = argv;
  const t = await c.json<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${id}/top${psArgs.length ? `?ps_args=${encodeURIComponent(psArgs.join(' '))}` : ''}`);
  o.out(table([t.Titles, ...t.Processes]));
  return 0;
}

export async function prune(c: EngineClient, _argv: string[], o: Out): Promise<number> {
  const r = await c.json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune');
  if (r.ContainersDeleted?.length) o.out(`Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n`);
  o.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  return 0;
}

export async function exportFs(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { value: ['output'], short: { o: 'output' } });
  const res = await c.call('GET', `/containers/${p.args[0]}/export`);
  if (typeof p.flags.output === 'string') await pipeline(res, createWriteStream(p.flags.output));
  else if (process.stdout.isTTY) {
    o.err('cowardly refusing to save to a terminal. Use the -o flag or redirect\n');
    return 1;
  } else await pipeline(res, process.stdout);
  return 0;
}
