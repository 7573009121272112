/** Image commands: images, tag, rmi, history, image inspect/prune, import, save, load, pull, bootstrap. */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { EngineClient, JsonMessage } from '../client/index.ts';
import { parseFlags, UsageError } from './flags.ts';
import { ago, humanSize, render, table } from './format.ts';
import type { Out } from './containers.ts';

interface ImageSummary {
  Id: string;
  RepoTags: string[];
  Created: number;
  Size: number;
}

export async function images(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { bool: ['all', 'quiet', 'no-trunc', 'digests'], value: ['format'], multi: ['filter'], short: { a: 'all', q: 'quiet', f: 'filter' } });
  const filters: Record<string, string[]> = {};
  for (const f of p.multi.filter!) {
    const eq = f.indexOf('=');
    (filters[f.slice(0, eq)] ??= []).push(f.slice(eq + 1));
  }
  if (p.args[0]) (filters.reference ??= []).push(p.args[0]);
  const list = await c.json<ImageSummary[]>('GET', `/images/json?all=${p.flags.all ? 1 : 0}&filters=${encodeURIComponent(JSON.stringify(filters))}`);
  const full = !!p.flags['no-trunc'];
  const rows: Array<{ Repository: string; Tag: string; ID: string; CreatedSince: string; CreatedAt: string; Size: string }> = [];
  for (const i of list) {
    const id = full ? i.Id : i.Id.slice(7, 19);
    const tags = i.RepoTags.length ? i.RepoTags : ['<none>:<none>'];
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      rows.push({ Repository: t.slice(0, colon), Tag: t.slice(colon + 1), ID: id, CreatedSince: ago(i.Created), CreatedAt: new Date(i.Created * 1000).toISOString(), Size: humanSize(i.Size) });
    }
  }
  if (p.flags.quiet) {
    for (const id of new Set(rows.map((r) => r.ID))) o.out(`${id}\n`);
  } else if (typeof p.flags.format === 'string') {
    for (const r of rows) o.out(`${render(p.flags.format, r)}\n`);
  } else {
    o.out(table([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size])]));
  }
  return 0;
}

export async function tag(c: EngineClient, argv: string[]): Promise<number> {
  if (argv.length !== 2) throw new UsageError('"tag" requires exactly 2 arguments.');
  const target = argv[1]!;
  const slash = target.lastIndexOf('/');
  const colon = target.lastIndexOf(':');
  const [repo, t] = colon > slash ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'latest'];
  (await c.call('POST', `/images/${argv[0]}/tag?repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(t)}`)).resume();
  return 0;
}

export async function rmi(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { bool: ['force', 'no-prune'], short: { f: 'force' } });
  let rc = 0;
  for (const name of p.args) {
    try {
      const items = await c.json<Array<{ Untagged?: string; Deleted?: string }>>('DELETE', `/images/${name}?force=${p.flags.force ? 1 : 0}`);
      for (const i of items) o.out(i.Untagged ? `Untagged: ${i.Untagged}\n` : `Deleted: ${i.Deleted}\n`);
    } catch (e) {
      o.err(`Error response from daemon: ${(e as Error).message}\n`);
      rc = 1;
    }
  }
  return rc;
}

export async function history(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { bool: ['no-trunc', 'quiet', 'human'], value: ['format'], short: { q: 'quiet', H: 'human' } });
  const rows = await c.json<Array<{ Id: string; Created: number; CreatedBy: string; Size: number; Comment: string }>>('GET', `/images/${p.args[0]}/history`);
  const full = !!p.flags['no-trunc'];
  if (p.flags.quiet) {
    for (const r of rows) o.out(`${r.Id === '<missing>' || full ? r.Id : r.Id.slice(7, 19)}\n`);
    return 0;
  }
  o.out(table([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...rows.map((r) => [
    r.Id === '<missing>' || full ? r.Id : r.Id.slice(7, 19),
    ago(r.Created),
    full || r.CreatedBy.length <= 45 ? r.CreatedBy : `${r.CreatedBy.slice(0, 44)}…`,
    humanSize(r.Size),
    r.Comment,
  ])]));
  return 0;
}

export async function prune(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { bool: ['all', 'force'], short: { a: 'all', f: 'force' } });
  const filters = p.flags.all ? { dangling: ['false'] } : { dangling: ['true'] };
  const r = await c.json<{ ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed: number }>('POST', `/images/prune?filters=${encodeURIComponent(JSON.stringify(filters))}`);
  if (r.ImagesDeleted?.length) {
    o.out('Deleted Images:\n');
    for (const i of r.ImagesDeleted) o.out(i.Untagged ? `untagged: ${i.Untagged}\n` : `deleted: ${i.Deleted}\n`);
    o.out('\n');
  }
  o.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  return 0;
}

/** Renders pull-style progress: one line per layer id, like the docker CLI's non-TTY output. */
async function progress(c: EngineClient, res: import('node:http').IncomingMessage, o: Out, quiet = false): Promise<JsonMessage[]> {
  const all: JsonMessage[] = [];
  let lastLine = '';
  for await (const m of c.messages(res)) {
    all.push(m);
    if (m.stream) o.out(m.stream);
    else if (m.status && !quiet) {
      const line = `${m.id ? `${m.id}: ` : ''}${m.status}${m.progress ? ` ${m.progress}` : ''}`;
      if (line !== lastLine && !m.progressDetail?.current) o.err(`${line}\n`);
      lastLine = line;
    }
  }
  return all;
}

export async function bootstrap(c: EngineClient, argv: string[], o: Out): Promise<number> {
  if (argv.length !== 1) throw new UsageError('"image bootstrap" requires exactly 1 argument: busybox or debian:<suite>');
  const res = await c.call('POST', `/berth/v1/images/bootstrap?image=${encodeURIComponent(argv[0]!)}`);
  const msgs = await progress(c, res, o);
  const id = msgs.find((m) => m.aux?.ID)?.aux?.ID;
  if (id) o.out(`${id}\n`);
  return 0;
}

export async function pull(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const res = await c.call('POST', `/images/create?fromImage=${encodeURIComponent(argv[0] ?? '')}`);
  await progress(c, res, o);
  return 0;
}

export async function importImage(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { value: ['message'], multi: ['change'], short: { c: 'change', m: 'message' } });
  const [file, ref] = p.args;
  if (!file) throw new UsageError('"import" requires at least 1 argument.');
  const q = new URLSearchParams({ fromSrc: '-' });
  if (ref) {
    const slash = ref.lastIndexOf('/');
    const colon = ref.lastIndexOf(':');
    q.set('repo', colon > slash ? ref.slice(0, colon) : ref);
    if (colon > slash) q.set('tag', ref.slice(colon + 1));
  }
  for (const ch of p.multi.change!) q.append('changes', ch);
  if (typeof p.flags.message === 'string') q.set('message', p.flags.message);
  const body = file === '-' ? process.stdin : createReadStream(file);
  const res = await c.call('POST', `/images/create?${q}`, { body, headers: { 'Content-Type': 'application/x-tar' } });
  const msgs = await progress(c, res, o, true);
  const id = msgs.map((m) => m.status).filter((s) => s?.startsWith('sha256:')).pop();
  if (id) o.out(`${id}\n`);
  return 0;
}

export async function save(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { value: ['output'], short: { o: 'output' } });
  if (!p.args.length) throw new UsageError('"save" requires at least 1 argument.');
  if (typeof p.flags.output !== 'string' && process.stdout.isTTY) {
    o.err('cowardly refusing to save to a terminal. Use the -o flag or redirect\n');
    return 1;
  }
  const res = await c.call('GET', `/images/get?${p.args.map((n) => `names=${encodeURIComponent(n)}`).join('&')}`);
  await pipeline(res, typeof p.flags.output === 'string' ? createWriteStream(p.flags.output) : process.stdout);
  return 0;
}

export async function load(c: EngineClient, argv: string[], o: Out): Promise<number> {
  const p = parseFlags(argv, { value: ['input'], bool: ['quiet'], short: { i: 'input', q: 'quiet' } });
  const body = typeof p.flags.input === 'string' ? createReadStream(p.flags.input) : process.stdin;
  const res = await c.call('POST', `/images/load?quiet=${p.flags.quiet ? 1 : 0}`, { body, headers: { 'Content-Type': 'application/x-tar' } });
  await progress(c, res, o, !!p.flags.quiet);
  return 0;
}
