/**
 * Container commands that do not stream a program: stop, restart, kill, pause, unpause, wait,
 * rm, logs, rename, top, port, diff, commit, export, prune; `ps` is in ps.ts, `stats` in stats.ts.
 */
import { demuxTo } from '../client/index.ts';
import { type Command, StatusError, describeError, forEach, parseFilterFlags } from './cli.ts';
import { naturalLess, tabwrite } from './format.ts';
import { timestampFlag } from './timestamps.ts';
import { refuseTerminal, writeOutput, parseImageRef } from './images.ts';
import { inspectCommand } from './inspect.ts';
import { runCommands } from './run.ts';
import { cp } from './cp.ts';
import { update } from './update.ts';
import { ps } from './ps.ts';
import { stats } from './stats.ts';
import { checkpointCommands } from './checkpoint.ts';
import { pruneFlags } from './commonflags.ts';
import { confirmPrune, deletedList, reclaimedLine } from './prune.ts';

// ------------------------------------------------------------------ lifecycle

const stopLike = (verb: 'stop' | 'restart', description: string): Command => ({
  spec: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description,
    aliases: [`berth container ${verb}`, `berth ${verb}`],
    args: { min: 1 },
    flags: [
      { long: 'signal', short: 's', type: 'string', help: 'Signal to send to the container' },
      { long: 'timeout', short: 't', type: 'int', help: 'Seconds to wait before killing the container' },
      { long: 'time', type: 'int', hidden: true },
    ],
  },
  async run(cli, f, args) {
    const timeout = f.has('timeout') ? f.int('timeout') : f.has('time') ? f.int('time') : undefined;
    const opts = { timeout, signal: f.str('signal') };
    return forEach(cli, args, (id) =>
      verb === 'stop' ? cli.client.containerStop(id, opts) : cli.client.containerRestart(id, opts),
    );
  },
});

const kill: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Kill one or more running containers',
    aliases: ['berth container kill', 'berth kill'],
    args: { min: 1 },
    flags: [{ long: 'signal', short: 's', type: 'string', help: 'Signal to send to the container' }],
  },
  run: (cli, f, args) => forEach(cli, args, (id) => cli.client.containerKill(id, f.str('signal'))),
};

/** `pause` and `unpause`: one call per container named, each printed as it succeeds. */
const pauseLike = (verb: 'pause' | 'unpause', description: string): Command => ({
  spec: {
    usage: 'CONTAINER [CONTAINER...]',
    description,
    aliases: [`berth container ${verb}`, `berth ${verb}`],
    args: { min: 1 },
    flags: [],
  },
  run: (cli, _f, args) =>
    forEach(cli, args, (id) => (verb === 'pause' ? cli.client.containerPause(id) : cli.client.containerUnpause(id))),
});

const pause = pauseLike('pause', 'Pause all processes within one or more containers');
const unpause = pauseLike('unpause', 'Unpause all processes within one or more containers');

const wait: Command = {
  spec: {
    usage: 'CONTAINER [CONTAINER...]',
    description: 'Block until one or more containers stop, then print their exit codes',
    aliases: ['berth container wait', 'berth wait'],
    args: { min: 1 },
    flags: [],
  },
  async run(cli, _f, args) {
    return forEach(
      cli,
      args,
      async (id) => {
        const h = await cli.client.containerWait(id, 'not-running');
        const r = await h.result;
        cli.out(`${r.StatusCode}\n`);
      },
      { print: false },
    );
  },
};

const rm: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Remove one or more containers',
    aliases: ['berth container rm', 'berth container remove', 'berth rm'],
    args: { min: 1 },
    flags: [
      { long: 'force', short: 'f', type: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
      { long: 'link', short: 'l', type: 'bool', help: 'Remove the specified link' },
      { long: 'volumes', short: 'v', type: 'bool', help: 'Remove anonymous volumes associated with the container' },
    ],
  },
  async run(cli, f, args) {
    const errors: string[] = [];
    for (const name of args) {
      const id = name.replace(/^\/+/, '');
      if (!id) {
        errors.push('Container name cannot be empty');
        continue;
      }
      try {
        await cli.client.containerRemove(id, {
          force: f.bool('force'),
          volumes: f.bool('volumes'),
          link: f.bool('link'),
        });
        cli.out(`${name}\n`);
      } catch (e) {
        // docker rm -f reports a missing container but does not fail for it
        if (f.bool('force') && (e as { status?: number }).status === 404) cli.err(`${describeError(e)}\n`);
        else errors.push(describeError(e));
      }
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};

const rename: Command = {
  spec: {
    usage: 'CONTAINER NEW_NAME',
    description: 'Rename a container',
    aliases: ['berth container rename', 'berth rename'],
    args: { min: 2, max: 2 },
    flags: [],
  },
  async run(cli, _f, args) {
    const [old, name] = args as [string, string];
    if (!name.trim()) throw new StatusError(1, 'Error: neither old nor new names may be empty');
    try {
      await cli.client.containerRename(old, name.trim());
    } catch (e) {
      throw new StatusError(1, `${describeError(e)}\nError: failed to rename container named ${old}`);
    }
  },
};

// ------------------------------------------------------------------ logs

const logs: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER',
    description: 'Fetch the logs of a container',
    aliases: ['berth container logs', 'berth logs'],
    args: { min: 1, max: 1 },
    flags: [
      { long: 'details', type: 'bool', help: 'Show extra details provided to logs' },
      { long: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
      {
        long: 'since',
        type: 'string',
        help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
      },
      {
        long: 'tail',
        short: 'n',
        type: 'string',
        default: 'all',
        help: 'Number of lines to show from the end of the logs',
      },
      { long: 'timestamps', short: 't', type: 'bool', help: 'Show timestamps' },
      {
        long: 'until',
        type: 'string',
        help: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
      },
    ],
  },
  async run(cli, f, args) {
    const c = cli.client;
    const info = await c.containerInspect(args[0]!);
    const ts = (name: string) => timestampFlag(f, name, (m) => `invalid value for "${name}": ${m}`);
    const res = await c.containerLogs(info.Id, {
      follow: f.bool('follow'),
      timestamps: f.bool('timestamps'),
      details: f.bool('details'),
      tail: f.str('tail'),
      since: ts('since'),
      until: ts('until'),
    });
    if (info.Config.Tty) {
      for await (const chunk of res as AsyncIterable<Buffer>)
        if (!cli.stdout.write(chunk)) await new Promise<void>((r) => cli.stdout.once('drain', r));
    } else {
      await demuxTo(res as AsyncIterable<Buffer>, cli.stdout, cli.stderr);
    }
  },
};

// ------------------------------------------------------------------ top, port, diff

const top: Command = {
  spec: {
    usage: 'CONTAINER [ps OPTIONS]',
    description: 'Display the running processes of a container',
    aliases: ['berth container top', 'berth top'],
    args: { min: 1 },
    interspersed: false,
    flags: [],
  },
  async run(cli, _f, args) {
    const [id, ...psArgs] = args as [string, ...string[]];
    const t = await cli.client.containerTop(id, psArgs.length ? psArgs.join(' ') : undefined);
    const rows = [t.Titles, ...(t.Processes ?? [])];
    cli.out(tabwrite(rows.map((r) => r.join('\t')).join('\n') + '\n', 20, 3));
  },
};

const joinHostPort = (h: string, p: string) => (h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`);

const port: Command = {
  spec: {
    usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
    description: 'List port mappings or a specific mapping for the container',
    aliases: ['berth container port', 'berth port'],
    args: { min: 1, max: 2 },
    flags: [],
  },
  async run(cli, _f, args) {
    const [id, want] = args as [string, string | undefined];
    const info = await cli.client.containerInspect(id);
    const ports = info.NetworkSettings.Ports ?? {};
    const out: string[] = [];
    if (want) {
      const [p, proto = 'tcp'] = want.split('/') as [string, string | undefined];
      if (!/^\d+$/.test(p) || Number(p) > 65535)
        throw new StatusError(1, `Error: invalid port (${p}): strconv.ParseUint: parsing "${p}": invalid syntax`);
      const fronts = ports[`${p}/${proto}`];
      if (!fronts?.length) throw new StatusError(1, `Error: No public port '${want}' published for ${id}`);
      for (const b of fronts) out.push(joinHostPort(b.HostIp ?? '', b.HostPort ?? ''));
    } else {
      for (const [from, fronts] of Object.entries(ports))
        for (const b of fronts ?? []) out.push(`${from} -> ${joinHostPort(b.HostIp ?? '', b.HostPort ?? '')}`);
    }
    out.sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));
    if (out.length) cli.out(`${out.join('\n')}\n`);
  },
};

const diff: Command = {
  spec: {
    usage: 'CONTAINER',
    description: "Inspect changes to files or directories on a container's filesystem",
    aliases: ['berth container diff', 'berth diff'],
    args: { min: 1, max: 1 },
    flags: [],
  },
  async run(cli, _f, args) {
    const changes = await cli.client.containerChanges(args[0]!);
    for (const ch of changes ?? []) cli.out(`${['C', 'A', 'D'][ch.Kind] ?? '?'} ${ch.Path}\n`);
  },
};

// ------------------------------------------------------------------ commit, export

const commit: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
    description: "Create a new image from a container's changes",
    aliases: ['berth container commit', 'berth commit'],
    args: { min: 1, max: 2 },
    flags: [
      {
        long: 'author',
        short: 'a',
        type: 'string',
        help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")',
      },
      { long: 'change', short: 'c', type: 'list', help: 'Apply Dockerfile instruction to the created image' },
      { long: 'message', short: 'm', type: 'string', help: 'Commit message' },
      { long: 'pause', short: 'p', type: 'bool', default: true, help: 'Pause container during commit' },
      { long: 'no-pause', type: 'bool', hidden: true },
    ],
  },
  async run(cli, f, args) {
    const [id, target] = args as [string, string | undefined];
    let repo: string | undefined;
    let tag: string | undefined;
    if (target) {
      const r = parseImageRef(target);
      repo = target.replace(/:[^/:]+$/, '');
      tag = /:[^/]+$/.test(target) ? r.tag : undefined;
    }
    const res = await cli.client.containerCommit(id, {
      repo,
      tag,
      comment: f.str('message'),
      author: f.str('author'),
      changes: f.list('change'),
      pause: f.bool('pause') && !f.bool('no-pause'),
    });
    cli.out(`${res.Id}\n`);
  },
};

const exportCmd: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER',
    description: "Export a container's filesystem as a tar archive",
    aliases: ['berth container export', 'berth export'],
    args: { min: 1, max: 1 },
    flags: [{ long: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' }],
  },
  async run(cli, f, args) {
    const output = f.str('output');
    if (!output) refuseTerminal(cli);
    const res = await cli.client.containerExport(args[0]!);
    await writeOutput(cli, res, output);
  },
};

// ------------------------------------------------------------------ prune

const prune: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Remove all stopped containers',
    args: { max: 0 },
    flags: [...pruneFlags('until=<timestamp>')],
  },
  async run(cli, f) {
    if (!(await confirmPrune(cli, f, 'WARNING! This will remove all stopped containers.'))) return 0;
    const r = await cli.client.containerPrune(parseFilterFlags(f.list('filter')));
    cli.out(deletedList('Deleted Containers', r.ContainersDeleted) + reclaimedLine(r.SpaceReclaimed ?? 0));
  },
};

const stop = stopLike('stop', 'Stop one or more running containers');
const restart = stopLike('restart', 'Restart one or more containers');

/** `berth container ...` */
export const containerGroup: Record<string, Command> = {
  ...runCommands,
  ls: ps,
  list: ps,
  ps,
  stop,
  restart,
  kill,
  pause,
  unpause,
  wait,
  rm,
  remove: rm,
  logs,
  rename,
  top,
  port,
  diff,
  commit,
  export: exportCmd,
  stats,
  prune,
  cp,
  update,
  ...checkpointCommands,
  inspect: inspectCommand('container'),
};

/** Top-level shortcuts. */
export const containerShortcuts: Record<string, Command> = {
  ...runCommands,
  ps,
  stop,
  restart,
  kill,
  pause,
  unpause,
  wait,
  rm,
  logs,
  rename,
  top,
  port,
  diff,
  commit,
  export: exportCmd,
  stats,
  cp,
  update,
};
