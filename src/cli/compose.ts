/**
 * `berth compose`: docker compose v2's commands, flags and output over src/compose/. This file
 * does the command line, the printing (progress, tables, log prefixes) and what needs the
 * terminal (exec, run, attached up); the project model and its lifecycle live in compose/.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { demux, type ContainerSummary, type JsonMessage } from '../client/index.ts';
import {
  COMPOSE_VERSION,
  ComposeEngine,
  ComposeError,
  LABELS,
  NoConfigError,
  emptyProject,
  containerNumber,
  imageName,
  loadProject,
  nameOf,
  serviceOf,
  splitShell,
  withDependencies,
  type Builder,
  type Project,
  type Reporter,
} from '../compose/index.ts';
import { type Cli, StatusError } from './cli.ts';
import { helpText, parseArgs, type CommandSpec, type FlagDef, type Flags } from './flags.ts';
import { contextTar } from './build.ts';
import { displayJsonMessages } from './progress.ts';
import { displayablePorts } from './containers.ts';
import { ago, ellipsis, goQuote, humanSize, shortId, tabwrite } from './format.ts';
import { runCommands } from './run.ts';

const GLOBAL_FLAGS: FlagDef[] = [
  { long: 'file', short: 'f', type: 'list', valueName: 'stringArray', help: 'Compose configuration files' },
  { long: 'project-name', short: 'p', type: 'string', help: 'Project name' },
  {
    long: 'project-directory',
    type: 'string',
    help: 'Specify an alternate working directory (default: the path of the, first specified, Compose file)',
  },
  { long: 'env-file', type: 'list', valueName: 'stringArray', help: 'Specify an alternate environment file' },
  { long: 'profile', type: 'list', valueName: 'stringArray', help: 'Specify a profile to enable' },
  {
    long: 'ansi',
    type: 'string',
    default: 'auto',
    help: 'Control when to print ANSI control characters ("never"|"always"|"auto")',
  },
  { long: 'progress', type: 'string', default: 'auto', help: 'Set type of progress output (auto, tty, plain, quiet)' },
  { long: 'parallel', type: 'int', default: -1, help: 'Control max parallelism, -1 for unlimited' },
  { long: 'compatibility', type: 'bool', hidden: true },
];

const GLOBAL_SPEC: CommandSpec = {
  usage: 'berth compose [OPTIONS] COMMAND',
  description: 'Define and run multi-container applications with Berth',
  flags: GLOBAL_FLAGS,
  interspersed: false,
};

/** What a compose command gets: the CLI, the global flags, and the project on demand. */
interface Ctx {
  cli: Cli;
  g: Flags;
  /** Loads the project; `services` named on the command line are enabled whatever their profile. */
  project(services?: readonly string[]): Project;
  engine(project: Project): ComposeEngine;
  reporter: ProgressReporter;
}

interface ComposeCommand {
  spec: Omit<CommandSpec, 'usage'> & { usage: string };
  run(ctx: Ctx, f: Flags, args: string[]): Promise<number | void>;
}

// ------------------------------------------------------------------ output

const COLORS = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];

/**
 * compose v2's progress: on a terminal a block redrawn in place (`[+] Running 2/3`, then one
 * line per resource, ` ✔ Container demo-web-1  Started  0.4s`); otherwise plain lines, one
 * per step (` Container demo-web-1  Starting`), which is what v2's `--progress plain` prints.
 */
export class ProgressReporter implements Reporter {
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private readonly out: NodeJS.WriteStream;
  private readonly lines = new Map<
    string,
    { kind: string; name: string; status: string; done: boolean; start: number; end?: number }
  >();
  private drawn = 0;

  constructor(cli: Cli, mode: string) {
    this.out = cli.stderr;
    this.tty = mode === 'tty' || (mode === 'auto' && !!cli.stderr.isTTY);
    this.quiet = mode === 'quiet';
  }

  event(kind: string, name: string, status: string, done: boolean): void {
    if (this.quiet) return;
    if (!this.tty) {
      this.out.write(` ${kind} ${name}  ${status}\n`);
      return;
    }
    const key = `${kind} ${name}`;
    const cur = this.lines.get(key);
    const now = Date.now();
    if (cur && cur.done && !done) cur.start = now;
    this.lines.set(key, { kind, name, status, done, start: cur?.start ?? now, end: done ? now : undefined });
    this.render();
  }

  private render(): void {
    const all = [...this.lines.values()];
    const width = Math.max(...all.map((l) => `${l.kind} ${l.name}`.length));
    let s = this.drawn ? `\x1b[${this.drawn}A` : '';
    s += `\x1b[2K\x1b[34m[+] Running ${all.filter((l) => l.done).length}/${all.length}\x1b[0m\n`;
    for (const l of all) {
      const mark = !l.done ? '\x1b[33m ⠿\x1b[0m' : l.status === 'Error' ? '\x1b[31m ✘\x1b[0m' : '\x1b[32m ✔\x1b[0m';
      const secs = `${(((l.end ?? Date.now()) - l.start) / 1000).toFixed(1)}s`;
      const status = l.done ? `\x1b[32m${l.status}\x1b[0m` : l.status;
      s += `\x1b[2K${mark} ${`${l.kind} ${l.name}`.padEnd(width)}  ${status}${' '.repeat(Math.max(1, 12 - l.status.length))}\x1b[34m${secs}\x1b[0m\n`;
    }
    this.drawn = all.length + 1;
    this.out.write(s);
  }

  /** Text that is not progress (build output): printed below, the block starts again after it. */
  write(text: string): void {
    if (this.tty) {
      this.drawn = 0;
      this.lines.clear();
    }
    this.out.write(text);
  }

  warn(message: string): void {
    this.write(`WARN[0000] ${message}\n`);
  }
}

/** The image builder the engine uses: the service's context packed as `berth build` packs it, POST /build. */
function builder(cli: Cli, reporter: ProgressReporter, quiet = false): Builder {
  return {
    async build(_project, s, tag, opts) {
      const b = s.build!;
      if (!existsSync(b.context))
        throw new ComposeError(`building service "${s.name}": build context "${b.context}" does not exist`);
      const dockerfile = b.dockerfile ?? 'Dockerfile';
      const rel = isAbsolute(dockerfile) ? relative(b.context, dockerfile) : dockerfile;
      const buildArgs: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(b.args ?? {})) buildArgs[k] = v ?? process.env[k] ?? null;
      const stream = await cli.client.imageBuild(
        contextTar(b.context, rel) as unknown as AsyncIterable<Buffer> as never,
        {
          tags: [tag],
          dockerfile: rel,
          target: b.target,
          buildArgs,
          labels: { ...b.labels },
          noCache: opts.noCache,
          pull: opts.pull,
          remove: true,
        },
      );
      const out = quiet
        ? { write: () => true, isTTY: false }
        : {
            write: (x: string) => {
              reporter.write(x);
              return true;
            },
            isTTY: false,
          };
      await displayJsonMessages(stream as AsyncIterable<JsonMessage>, out);
    },
  };
}

// ------------------------------------------------------------------ helpers

/** `web-1` from `demo-web-1`: the prefix compose v2 shows in logs. */
function shortName(project: Project, c: ContainerSummary): string {
  const n = nameOf(c);
  return n.startsWith(`${project.name}-`) ? n.slice(project.name.length + 1) : n;
}

function parseScale(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const m = /^([^=]+)=(\d+)$/.exec(s);
    if (!m) throw new StatusError(1, `invalid --scale value "${s}": expected SERVICE=NUM`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function timeoutFlag(f: Flags): number | undefined {
  return f.has('timeout') ? f.int('timeout') : undefined;
}

/** Follows (or dumps) the logs of containers with `name  | ` prefixes; resolves when every stream ends. */
async function printLogs(
  ctx: Ctx,
  project: Project,
  containers: ContainerSummary[],
  o: {
    follow?: boolean;
    tail?: string;
    timestamps?: boolean;
    noPrefix?: boolean;
    noColor?: boolean;
    since?: string;
    until?: string;
    onExit?: (c: ContainerSummary) => Promise<void>;
  },
): Promise<void> {
  const { cli } = ctx;
  const ansi = ctx.g.str('ansi');
  const color = !o.noColor && (ansi === 'always' || (ansi !== 'never' && !!cli.stdout.isTTY));
  const width = Math.max(0, ...containers.map((c) => shortName(project, c).length));
  await Promise.all(
    containers.map(async (c, i) => {
      const name = shortName(project, c);
      const raw = `${name.padEnd(width)}  | `;
      const prefix = o.noPrefix ? '' : color ? `\x1b[${COLORS[i % COLORS.length]}m${raw}\x1b[0m` : raw;
      const info = await cli.client.containerInspect(c.Id);
      const res = await cli.client.containerLogs(c.Id, {
        stdout: true,
        stderr: true,
        follow: o.follow,
        tail: o.tail,
        timestamps: o.timestamps,
        since: o.since,
        until: o.until,
      });
      const partial = ['', ''];
      const emit = (stream: number, data: Buffer) => {
        const k = stream === 2 ? 1 : 0;
        const text = partial[k] + data.toString();
        const lines = text.split('\n');
        partial[k] = lines.pop()!;
        for (const l of lines) (stream === 2 ? cli.stderr : cli.stdout).write(`${prefix}${l}\n`);
      };
      try {
        if (info.Config.Tty) for await (const chunk of res) emit(1, chunk as Buffer);
        else for await (const fr of demux(res)) emit(fr.stream, fr.data);
      } catch {
        // a container removed while followed ends its stream
      }
      for (const [k, rest] of partial.entries()) if (rest) (k ? cli.stderr : cli.stdout).write(`${prefix}${rest}\n`);
      await o.onExit?.(c);
    }),
  );
}

// ------------------------------------------------------------------ commands

const CREATE_FLAGS: FlagDef[] = [
  { long: 'build', type: 'bool', help: 'Build images before starting containers' },
  { long: 'no-build', type: 'bool', help: "Don't build an image, even if it's policy" },
  {
    long: 'force-recreate',
    type: 'bool',
    help: "Recreate containers even if their configuration and image haven't changed",
  },
  {
    long: 'no-recreate',
    type: 'bool',
    help: "If containers already exist, don't recreate them. Incompatible with --force-recreate.",
  },
  { long: 'remove-orphans', type: 'bool', help: 'Remove containers for services not defined in the Compose file' },
  {
    long: 'scale',
    type: 'list',
    valueName: 'scale',
    help: 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.',
  },
  { long: 'pull', type: 'string', default: 'policy', help: 'Pull image before running ("always"|"missing"|"never")' },
  { long: 'quiet-pull', type: 'bool', help: 'Pull without printing progress information' },
];

function upOptions(f: Flags, services: string[]) {
  if (f.bool('build') && f.bool('no-build')) throw new StatusError(1, '--build and --no-build are incompatible');
  if (f.bool('force-recreate') && f.bool('no-recreate'))
    throw new StatusError(1, '--force-recreate and --no-recreate are incompatible');
  const pull = f.str('pull');
  if (pull !== 'policy' && pull !== 'always' && pull !== 'missing' && pull !== 'never')
    throw new StatusError(1, `invalid --pull option "${pull}"`);
  return {
    pull: pull === 'policy' ? undefined : (pull as 'always' | 'missing' | 'never'),
    services,
    build: f.bool('build') ? ('always' as const) : f.bool('no-build') ? ('never' as const) : ('auto' as const),
    forceRecreate: f.bool('force-recreate'),
    noRecreate: f.bool('no-recreate'),
    removeOrphans: f.bool('remove-orphans'),
    scale: parseScale(f.list('scale')),
  };
}

const up: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Create and start containers',
    flags: [
      ...CREATE_FLAGS,
      { long: 'detach', short: 'd', type: 'bool', help: 'Detached mode: Run containers in the background' },
      { long: 'wait', type: 'bool', help: 'Wait for services to be running|healthy. Implies detached mode.' },
      {
        long: 'timeout',
        short: 't',
        type: 'int',
        help: 'Use this timeout in seconds for container shutdown when attached or when containers are already running',
      },
      { long: 'no-deps', type: 'bool', help: "Don't start linked services" },
      { long: 'no-start', type: 'bool', help: "Don't start the services after creating them" },
      { long: 'no-color', type: 'bool', help: 'Produce monochrome output' },
      { long: 'no-log-prefix', type: 'bool', help: "Don't print prefix in logs" },
      {
        long: 'abort-on-container-exit',
        type: 'bool',
        help: 'Stops all containers if any container was stopped. Incompatible with -d',
      },
    ],
  },
  async run(ctx, f, args) {
    const project = ctx.project(args);
    const e = ctx.engine(project);
    const since = Math.floor(Date.now() / 1000);
    const detach = f.bool('detach') || f.bool('wait') || f.bool('no-start');
    await e.up({
      ...upOptions(f, args),
      noDeps: f.bool('no-deps'),
      noStart: f.bool('no-start'),
      wait: f.bool('wait'),
      timeout: timeoutFlag(f),
    });
    if (detach) return 0;
    // attached: every service's output with its prefix until the containers end or Ctrl-C
    const targets = args.length ? args : Object.keys(project.services);
    const containers = await e.containers({ all: true, services: targets });
    ctx.cli.out(`Attaching to ${containers.map((c) => shortName(project, c)).join(', ')}\n`);
    let stopping = false;
    const stopAll = async () => {
      if (stopping) {
        for (const c of await e.containers({ services: targets }))
          await ctx.cli.client.containerKill(c.Id).catch(() => {});
        process.exit(130);
      }
      stopping = true;
      ctx.cli.out('Gracefully stopping... (press Ctrl+C again to force)\n');
      await e.stop(targets, timeoutFlag(f));
    };
    const onSig = () => void stopAll().catch((err) => ctx.cli.err(`${(err as Error).message}\n`));
    process.on('SIGINT', onSig);
    process.on('SIGTERM', onSig);
    try {
      await printLogs(ctx, project, containers, {
        follow: true,
        since: String(since),
        noPrefix: f.bool('no-log-prefix'),
        noColor: f.bool('no-color'),
        onExit: async (c) => {
          const info = await ctx.cli.client.containerInspect(c.Id).catch(() => undefined);
          if (info && !info.State.Running)
            ctx.cli.out(`${shortName(project, c)} exited with code ${info.State.ExitCode}\n`);
          if (f.bool('abort-on-container-exit') && !stopping) await stopAll();
        },
      });
    } finally {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    }
    return stopping ? 130 : 0;
  },
};

const create: ComposeCommand = {
  spec: { usage: '[OPTIONS] [SERVICE...]', description: 'Creates containers for a service', flags: CREATE_FLAGS },
  async run(ctx, f, args) {
    await ctx.engine(ctx.project(args)).up({ ...upOptions(f, args), noStart: true });
  },
};

const down: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICES]',
    description: 'Stop and remove containers, networks',
    flags: [
      {
        long: 'volumes',
        short: 'v',
        type: 'bool',
        help: 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers',
      },
      {
        long: 'rmi',
        type: 'string',
        help: 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")',
      },
      { long: 'remove-orphans', type: 'bool', help: 'Remove containers for services not defined in the Compose file' },
      { long: 'timeout', short: 't', type: 'int', help: 'Specify a shutdown timeout in seconds' },
    ],
  },
  async run(ctx, f) {
    const rmi = f.str('rmi');
    if (rmi !== undefined && rmi !== 'local' && rmi !== 'all')
      throw new StatusError(1, `invalid value for --rmi: "${rmi}"`);
    await ctx.engine(ctx.project()).down({
      volumes: f.bool('volumes'),
      rmi: rmi as 'local' | 'all' | undefined,
      removeOrphans: f.bool('remove-orphans'),
      timeout: timeoutFlag(f),
    });
  },
};

const ps: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List containers',
    flags: [
      {
        long: 'all',
        short: 'a',
        type: 'bool',
        help: 'Show all stopped containers (including those created by the run command)',
      },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display IDs' },
      { long: 'services', type: 'bool', help: 'Display services' },
      {
        long: 'format',
        type: 'string',
        default: 'table',
        help: "Format output using a custom template: 'table' (default), 'json'",
      },
      {
        long: 'status',
        type: 'list',
        valueName: 'stringArray',
        help: 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]',
      },
      { long: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    ],
  },
  async run(ctx, f, args) {
    const project = ctx.project();
    const e = ctx.engine(project);
    e.checkServices(args);
    let list = await e.containers({
      all: f.bool('all') || f.list('status').length > 0,
      services: args,
      oneoff: f.bool('all') ? 'any' : false,
    });
    if (f.list('status').length) list = list.filter((c) => f.list('status').includes(c.State));
    if (f.bool('quiet')) {
      for (const c of list) ctx.cli.out(`${c.Id}\n`);
      return;
    }
    if (f.bool('services')) {
      for (const s of [...new Set(list.map(serviceOf))]) ctx.cli.out(`${s}\n`);
      return;
    }
    const format = f.str('format') ?? 'table';
    if (format === 'json') {
      for (const c of list) {
        ctx.cli.out(
          JSON.stringify({
            Command: c.Command,
            CreatedAt: new Date(c.Created * 1000).toISOString(),
            ExitCode: exitCode(c.Status),
            Health: health(c.Status),
            ID: c.Id,
            Image: c.Image,
            Labels: Object.entries(c.Labels ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
            Name: nameOf(c),
            Names: nameOf(c),
            Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
            Ports: displayablePorts(c.Ports),
            Project: project.name,
            Publishers: (c.Ports ?? []).map((p) => ({
              URL: p.IP ?? '',
              TargetPort: p.PrivatePort,
              PublishedPort: p.PublicPort ?? 0,
              Protocol: p.Type,
            })),
            RunningFor: ago(c.Created),
            Service: serviceOf(c),
            State: c.State,
            Status: c.Status,
          }) + '\n',
        );
      }
      return;
    }
    if (format !== 'table')
      throw new StatusError(1, `unsupported format "${format}": berth compose ps knows table and json`);
    const trunc = !f.bool('no-trunc');
    const quote = (s: string) => goQuote(trunc ? ellipsis(s, 20) : s);
    let out = 'NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS\n';
    for (const c of list)
      out += `${nameOf(c)}\t${c.Image}\t${quote(c.Command ?? '')}\t${serviceOf(c)}\t${ago(c.Created)}\t${c.Status}\t${displayablePorts(c.Ports)}\n`;
    ctx.cli.out(tabwrite(out, 10, 3));
  },
};

function exitCode(status: string): number {
  const m = /Exited \((\d+)\)/.exec(status);
  return m ? Number(m[1]) : 0;
}

function health(status: string): string {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  return m ? m[1]!.replace('health: ', '') : '';
}

const logs: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'View output from containers',
    flags: [
      { long: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
      {
        long: 'tail',
        short: 'n',
        type: 'string',
        default: 'all',
        help: 'Number of lines to show from the end of the logs for each container',
      },
      { long: 'timestamps', short: 't', type: 'bool', help: 'Show timestamps' },
      { long: 'no-log-prefix', type: 'bool', help: "Don't print prefix in logs" },
      { long: 'no-color', type: 'bool', help: 'Produce monochrome output' },
      {
        long: 'since',
        type: 'string',
        help: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)',
      },
      {
        long: 'until',
        type: 'string',
        help: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)',
      },
      { long: 'index', type: 'int', help: 'index of the container if service has multiple replicas' },
    ],
  },
  async run(ctx, f, args) {
    const project = ctx.project();
    const e = ctx.engine(project);
    e.checkServices(args);
    let list = await e.containers({ all: true, services: args });
    if (f.has('index')) list = list.filter((c) => containerNumber(c) === f.int('index'));
    await printLogs(ctx, project, list, {
      follow: f.bool('follow'),
      tail: f.str('tail'),
      timestamps: f.bool('timestamps'),
      noPrefix: f.bool('no-log-prefix'),
      noColor: f.bool('no-color'),
      since: f.str('since'),
      until: f.str('until'),
    });
  },
};

const build: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Build or rebuild services',
    flags: [
      { long: 'no-cache', type: 'bool', help: 'Do not use cache when building the image' },
      { long: 'pull', type: 'bool', help: 'Always attempt to pull a newer version of the image' },
      { long: 'quiet', short: 'q', type: 'bool', help: "Don't print anything to STDOUT" },
    ],
  },
  async run(ctx, f, args) {
    const project = ctx.project(args);
    const e = new ComposeEngine(ctx.cli.client, project, ctx.reporter, builder(ctx.cli, ctx.reporter, f.bool('quiet')));
    e.checkServices(args);
    await e.build(args.length ? args : Object.keys(project.services), {
      noCache: f.bool('no-cache'),
      pull: f.bool('pull'),
    });
  },
};

const pull: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Pull service images',
    flags: [
      { long: 'ignore-pull-failures', type: 'bool', help: 'Pull what it can and ignores images with pull failures' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Pull without printing progress information' },
      { long: 'include-deps', type: 'bool', help: 'Also pull services declared as dependencies' },
    ],
  },
  async run(ctx, f, args) {
    const project = ctx.project(args);
    const e = ctx.engine(project);
    e.checkServices(args);
    const targets = args.length
      ? f.bool('include-deps')
        ? withDependencies(project.services, args)
        : args
      : Object.keys(project.services);
    // services built here have no registry image to pull unless they also name one
    await e.pull(
      targets.filter((n) => project.services[n]!.image && !project.services[n]!.build),
      { ignoreFailures: f.bool('ignore-pull-failures') },
    );
  },
};

/** start/stop/restart/kill/pause/unpause over each container of the named services. */
function simple(
  description: string,
  verb: string,
  done: string,
  action: (ctx: Ctx, e: ComposeEngine, c: ContainerSummary, f: Flags) => Promise<void>,
  flags: FlagDef[] = [],
  opts: { all?: boolean; reverse?: boolean } = {},
): ComposeCommand {
  return {
    spec: { usage: '[OPTIONS] [SERVICE...]', description, flags },
    async run(ctx, f, args) {
      const project = ctx.project();
      const e = ctx.engine(project);
      e.checkServices(args);
      let list = await e.containers({ all: opts.all, services: args });
      if (opts.reverse) list = list.reverse();
      for (const c of list) {
        ctx.reporter.event('Container', nameOf(c), verb, false);
        await action(ctx, e, c, f);
        ctx.reporter.event('Container', nameOf(c), done, true);
      }
    },
  };
}

const TIMEOUT_FLAG: FlagDef = {
  long: 'timeout',
  short: 't',
  type: 'int',
  help: 'Specify a shutdown timeout in seconds',
};

const start: ComposeCommand = {
  spec: { usage: '[SERVICE...]', description: 'Start services', flags: [] },
  async run(ctx, _f, args) {
    const project = ctx.project(args);
    const e = ctx.engine(project);
    e.checkServices(args);
    await e.start(args.length ? withDependencies(project.services, args) : Object.keys(project.services));
  },
};

const stop: ComposeCommand = {
  spec: { usage: '[OPTIONS] [SERVICE...]', description: 'Stop services', flags: [TIMEOUT_FLAG] },
  async run(ctx, f, args) {
    const e = ctx.engine(ctx.project());
    e.checkServices(args);
    await e.stop(args, timeoutFlag(f));
  },
};

const restart = simple(
  'Restart service containers',
  'Restarting',
  'Started',
  async (ctx, _e, c, f) => {
    await ctx.cli.client.containerRestart(c.Id, f.has('timeout') ? { timeout: f.int('timeout') } : {});
  },
  [TIMEOUT_FLAG, { long: 'no-deps', type: 'bool', help: "Don't restart dependent services" }],
  { all: true },
);

const kill = simple(
  'Force stop service containers',
  'Killing',
  'Killed',
  async (ctx, _e, c, f) => {
    await ctx.cli.client.containerKill(c.Id, f.str('signal'));
  },
  [
    { long: 'signal', short: 's', type: 'string', default: 'SIGKILL', help: 'SIGNAL to send to the container' },
    { long: 'remove-orphans', type: 'bool', help: 'Remove containers for services not defined in the Compose file' },
  ],
);

const pause = simple('Pause services', 'Pausing', 'Paused', async (ctx, _e, c) => ctx.cli.client.containerPause(c.Id));
const unpause = simple(
  'Unpause services',
  'Unpausing',
  'Unpaused',
  async (ctx, _e, c) => ctx.cli.client.containerUnpause(c.Id),
  [],
  { all: true },
);

const rm: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Removes stopped service containers',
    flags: [
      { long: 'force', short: 'f', type: 'bool', help: "Don't ask to confirm removal" },
      { long: 'stop', short: 's', type: 'bool', help: 'Stop the containers, if required, before removing' },
      { long: 'volumes', short: 'v', type: 'bool', help: 'Remove any anonymous volumes attached to containers' },
    ],
  },
  async run(ctx, f, args) {
    const e = ctx.engine(ctx.project());
    e.checkServices(args);
    if (f.bool('stop')) await e.stop(args);
    const list = (await e.containers({ all: true, services: args })).filter(
      (c) => c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting',
    );
    if (!list.length) {
      ctx.cli.err('No stopped containers\n');
      return;
    }
    if (!f.bool('force')) {
      ctx.cli.out(`Going to remove ${list.map(nameOf).join(', ')}\n`);
      if (!(await ctx.cli.confirm(''))) return;
    }
    for (const c of list) await e.removeContainer(c, { volumes: f.bool('volumes') });
  },
};

/** The container of a service that exec/port/top address: `--index`, else the first. */
async function serviceContainer(
  ctx: Ctx,
  e: ComposeEngine,
  service: string,
  index?: number,
): Promise<ContainerSummary> {
  e.checkServices([service]);
  const list = await e.containers({ services: [service] });
  const c = index !== undefined ? list.find((x) => containerNumber(x) === index) : list[0];
  if (!c)
    throw new StatusError(
      1,
      index !== undefined
        ? `service "${service}" is not running container #${index}`
        : `service "${service}" is not running`,
    );
  return c;
}

const exec: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] SERVICE COMMAND [ARGS...]',
    description: 'Execute a command in a running container',
    args: { min: 2 },
    interspersed: false,
    flags: [
      { long: 'detach', short: 'd', type: 'bool', help: 'Detached mode: Run command in the background' },
      { long: 'env', short: 'e', type: 'list', valueName: 'stringArray', help: 'Set environment variables' },
      { long: 'index', type: 'int', default: 1, help: 'Index of the container if service has multiple replicas' },
      {
        long: 'no-TTY',
        short: 'T',
        type: 'bool',
        help: 'Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.',
      },
      { long: 'privileged', type: 'bool', help: 'Give extended privileges to the process' },
      { long: 'user', short: 'u', type: 'string', help: 'Run the command as this user' },
      { long: 'workdir', short: 'w', type: 'string', help: 'Path to workdir directory for this command' },
      { long: 'interactive', short: 'i', type: 'bool', default: true, hidden: true },
      { long: 'tty', short: 't', type: 'bool', default: true, hidden: true },
    ],
  },
  async run(ctx, f, args) {
    const [service, ...cmd] = args as [string, ...string[]];
    const e = ctx.engine(ctx.project());
    const c = await serviceContainer(ctx, e, service, f.int('index'));
    // a TTY by default, as compose does, but only when there is a terminal to give it
    const tty = !f.bool('no-TTY') && f.bool('tty') && ctx.cli.inIsTTY;
    const argv = [
      ...(f.bool('detach') ? ['-d'] : []),
      ...(tty ? ['-t'] : []),
      ...(f.bool('interactive') && !f.bool('detach') ? ['-i'] : []),
      ...(f.bool('privileged') ? ['--privileged'] : []),
      ...f.list('env').flatMap((x) => ['-e', x]),
      ...(f.str('user') ? ['-u', f.str('user')!] : []),
      ...(f.str('workdir') ? ['-w', f.str('workdir')!] : []),
      c.Id,
      ...cmd,
    ];
    return runDockerCommand(ctx, 'exec', argv);
  },
};

/** Runs one of the CLI's own container commands (exec, start -a) with a prepared command line. */
async function runDockerCommand(ctx: Ctx, name: 'exec' | 'start', argv: string[]): Promise<number> {
  const cmd = runCommands[name]!;
  const p = parseArgs(argv, { ...cmd.spec, usage: `berth ${name} ${cmd.spec.usage}` });
  const rc = await cmd.run(ctx.cli, p.flags, p.args);
  return typeof rc === 'number' ? rc : 0;
}

const run: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] SERVICE [COMMAND] [ARGS...]',
    description: 'Run a one-off command on a service',
    args: { min: 1 },
    interspersed: false,
    flags: [
      { long: 'detach', short: 'd', type: 'bool', help: 'Run container in background and print container ID' },
      { long: 'rm', type: 'bool', help: 'Automatically remove the container when it exits' },
      { long: 'env', short: 'e', type: 'list', valueName: 'stringArray', help: 'Set environment variables' },
      { long: 'entrypoint', type: 'string', help: 'Override the entrypoint of the image' },
      { long: 'no-deps', type: 'bool', help: "Don't start linked services" },
      { long: 'no-TTY', short: 'T', type: 'bool', help: 'Disable pseudo-TTY allocation (default: auto-detected)' },
      { long: 'name', type: 'string', help: 'Assign a name to the container' },
      { long: 'user', short: 'u', type: 'string', help: 'Run as specified username or uid' },
      { long: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container' },
      {
        long: 'service-ports',
        type: 'bool',
        help: "Run command with all service's ports enabled and mapped to the host",
      },
      { long: 'label', short: 'l', type: 'list', valueName: 'stringArray', help: 'Add or override a label' },
      { long: 'interactive', short: 'i', type: 'bool', default: true, help: 'Keep STDIN open even if not attached' },
      { long: 'tty', short: 't', type: 'bool', default: true, hidden: true },
      { long: 'build', type: 'bool', help: 'Build image before starting container' },
      { long: 'quiet-pull', type: 'bool', help: 'Pull without printing progress information' },
    ],
  },
  async run(ctx, f, args) {
    const [service, ...cmd] = args as [string, ...string[]];
    const project = ctx.project([service]);
    const e = ctx.engine(project);
    e.checkServices([service]);
    const s = project.services[service]!;
    const deps = withDependencies(project.services, [service]).filter((n) => n !== service);
    if (!f.bool('no-deps') && deps.length) await e.up({ services: deps });
    await e.ensureNetworks([service]);
    await e.ensureVolumes([service]);
    await e.ensureImages([service], f.bool('build') ? 'always' : 'auto');
    const slug = randomBytes(6).toString('hex');
    const name = f.str('name') ?? `${project.name}-${service}-run-${slug}`;
    const tty = !f.bool('no-TTY') && f.bool('tty') && ctx.cli.inIsTTY;
    const interactive = f.bool('interactive') && !f.bool('detach');
    // one-off containers carry v2's slug label beside oneoff=True
    const labelled = {
      ...s,
      labels: {
        ...s.labels,
        [LABELS.slug]: slug,
        ...Object.fromEntries(f.list('label').map((l) => [l.split('=')[0]!, l.slice(l.indexOf('=') + 1)])),
      },
      ...(f.str('user') ? { user: f.str('user') } : {}),
      ...(f.str('workdir') ? { working_dir: f.str('workdir') } : {}),
    };
    const id = await e.createReplica(labelled, 1, await e.imageId(s), {
      name,
      oneoff: true,
      command: cmd.length ? cmd : undefined,
      entrypoint: f.has('entrypoint') ? splitShell(f.str('entrypoint')!) : undefined,
      env: f.list('env'),
      tty,
      stdinOpen: interactive,
      publish: f.bool('service-ports'),
    });
    if (f.bool('detach')) {
      await ctx.cli.client.containerStart(id);
      ctx.cli.out(`${name}\n`);
      return 0;
    }
    let rc: number;
    try {
      rc = await runDockerCommand(ctx, 'start', ['-a', ...(interactive ? ['-i'] : []), id]);
    } finally {
      if (f.bool('rm')) await ctx.cli.client.containerRemove(id, { force: true, volumes: true }).catch(() => {});
    }
    return rc;
  },
};

const top: ComposeCommand = {
  spec: { usage: '[SERVICES...]', description: 'Display the running processes', flags: [] },
  async run(ctx, _f, args) {
    const project = ctx.project();
    const e = ctx.engine(project);
    e.checkServices(args);
    for (const c of await e.containers({ services: args })) {
      const t = await ctx.cli.client.containerTop(c.Id);
      ctx.cli.out(`${nameOf(c)}\n`);
      ctx.cli.out(tabwrite([t.Titles, ...t.Processes].map((r) => r.join('\t')).join('\n') + '\n', 0, 3) + '\n');
    }
  },
};

const port: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] SERVICE PRIVATE_PORT',
    description: 'Print the public port for a port binding',
    args: { min: 2, max: 2 },
    flags: [
      { long: 'index', type: 'int', default: 1, help: 'Index of the container if service has multiple replicas' },
      { long: 'protocol', type: 'string', default: 'tcp', help: 'tcp or udp' },
    ],
  },
  async run(ctx, f, args) {
    const e = ctx.engine(ctx.project());
    const c = await serviceContainer(ctx, e, args[0]!, f.int('index'));
    const want = Number(args[1]);
    const p = (c.Ports ?? []).find((x) => x.PrivatePort === want && x.Type === f.str('protocol') && x.PublicPort);
    if (!p)
      throw new StatusError(1, `no port ${args[1]}/${f.str('protocol')} for container ${nameOf(c)}: not published`);
    ctx.cli.out(`${p.IP || '0.0.0.0'}:${p.PublicPort}\n`);
  },
};

/** The model as compose-spec YAML: what `config` prints. */
export function projectYaml(project: Project): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const [n, s] of Object.entries(project.services)) {
    const { name: _n, ...rest } = s;
    services[n] = rest;
  }
  return {
    name: project.name,
    services,
    ...(Object.keys(project.networks).length ? { networks: project.networks } : {}),
    ...(Object.keys(project.volumes).length ? { volumes: project.volumes } : {}),
  };
}

const config: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Parse, resolve and render compose file in canonical format',
    flags: [
      { long: 'quiet', short: 'q', type: 'bool', help: "Only validate the configuration, don't print anything" },
      { long: 'services', type: 'bool', help: 'Print the service names, one per line' },
      { long: 'volumes', type: 'bool', help: 'Print the volume names, one per line' },
      { long: 'networks', type: 'bool', help: 'Print the network names, one per line' },
      { long: 'images', type: 'bool', help: 'Print the image names, one per line' },
      { long: 'profiles', type: 'bool', help: 'Print the profile names, one per line' },
      { long: 'format', type: 'string', default: 'yaml', help: 'Format the output. Values: [yaml | json]' },
      { long: 'output', short: 'o', type: 'string', help: 'Save to file (default to stdout)' },
    ],
  },
  async run(ctx, f, args) {
    const project = ctx.project(args);
    if (f.bool('quiet')) return;
    const lines = (xs: string[]) => ctx.cli.out(xs.map((x) => `${x}\n`).join(''));
    if (f.bool('services')) return void lines(Object.keys(project.services));
    if (f.bool('volumes')) return void lines(Object.keys(project.volumes));
    if (f.bool('networks')) return void lines(Object.keys(project.networks));
    if (f.bool('images')) return void lines(Object.values(project.services).map((s) => imageName(project, s)));
    if (f.bool('profiles'))
      return void lines([...new Set(Object.values(project.services).flatMap((s) => s.profiles ?? []))].sort());
    const model = projectYaml(project);
    const text =
      f.str('format') === 'json'
        ? JSON.stringify(model, null, 2) + '\n'
        : stringify(model, { lineWidth: 0, aliasDuplicateObjects: false });
    if (f.str('output')) (await import('node:fs')).writeFileSync(f.str('output')!, text);
    else ctx.cli.out(text);
  },
};

const ls: ComposeCommand = {
  spec: {
    usage: '[OPTIONS]',
    description: 'List running compose projects',
    args: { max: 0 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Show all stopped Compose projects' },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display project names' },
      { long: 'format', type: 'string', default: 'table', help: 'Format the output. Values: [table | json]' },
    ],
  },
  async run(ctx, f) {
    const list = await ctx.cli.client.containerList({ all: true, filters: { label: [LABELS.project] } });
    const projects = new Map<string, { states: Map<string, number>; files: Set<string> }>();
    for (const c of list) {
      const n = c.Labels![LABELS.project]!;
      const p = projects.get(n) ?? { states: new Map(), files: new Set() };
      p.states.set(c.State, (p.states.get(c.State) ?? 0) + 1);
      if (c.Labels?.[LABELS.configFiles]) p.files.add(c.Labels[LABELS.configFiles]);
      projects.set(n, p);
    }
    const rows = [...projects]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .filter(([, p]) => f.bool('all') || p.states.has('running'))
      .map(([name, p]) => ({
        Name: name,
        Status: [...p.states].map(([s, n]) => `${s}(${n})`).join(', '),
        ConfigFiles: [...p.files].join(','),
      }));
    if (f.bool('quiet')) return void ctx.cli.out(rows.map((r) => `${r.Name}\n`).join(''));
    if (f.str('format') === 'json') return void ctx.cli.out(JSON.stringify(rows) + '\n');
    ctx.cli.out(
      tabwrite(
        `NAME\tSTATUS\tCONFIG FILES\n${rows.map((r) => `${r.Name}\t${r.Status}\t${r.ConfigFiles}\n`).join('')}`,
        10,
        3,
      ),
    );
  },
};

const images: ComposeCommand = {
  spec: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List images used by the created containers',
    flags: [
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display IDs' },
      { long: 'format', type: 'string', default: 'table', help: 'Format the output. Values: [table | json]' },
    ],
  },
  async run(ctx, f, args) {
    const e = ctx.engine(ctx.project());
    e.checkServices(args);
    const rows: { c: string; repo: string; tag: string; id: string; size: number }[] = [];
    for (const c of await e.containers({ all: true, services: args })) {
      const img = await ctx.cli.client.imageInspect(c.ImageID || c.Image).catch(() => undefined);
      const ref = c.Image;
      const colon = ref.lastIndexOf(':');
      const [repo, tag] = colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
      rows.push({
        c: nameOf(c),
        repo,
        tag,
        id: img?.Id ?? c.ImageID,
        size: (img as { Size?: number } | undefined)?.Size ?? 0,
      });
    }
    if (f.bool('quiet')) return void ctx.cli.out([...new Set(rows.map((r) => r.id))].map((x) => `${x}\n`).join(''));
    if (f.str('format') === 'json')
      return void ctx.cli.out(
        JSON.stringify(
          rows.map((r) => ({ ContainerName: r.c, Repository: r.repo, Tag: r.tag, ID: r.id, Size: r.size })),
        ) + '\n',
      );
    ctx.cli.out(
      tabwrite(
        `CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE\n${rows.map((r) => `${r.c}\t${r.repo}\t${r.tag}\t${shortId(r.id)}\t${humanSize(r.size)}\n`).join('')}`,
        10,
        3,
      ),
    );
  },
};

const version: ComposeCommand = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Show the Docker Compose version information',
    args: { max: 0 },
    flags: [
      { long: 'short', type: 'bool', help: "Shows only Compose's version number" },
      { long: 'format', short: 'f', type: 'string', help: 'Format the output. Values: [pretty | json]' },
    ],
  },
  async run(ctx, f) {
    if (f.bool('short')) ctx.cli.out(`${COMPOSE_VERSION}\n`);
    else if (f.str('format') === 'json') ctx.cli.out(JSON.stringify({ version: `v${COMPOSE_VERSION}` }) + '\n');
    else ctx.cli.out(`Berth Compose version v${COMPOSE_VERSION}\n`);
  },
};

export const COMPOSE_COMMANDS: Record<string, ComposeCommand> = {
  build,
  config,
  create,
  down,
  exec,
  images,
  kill,
  logs,
  ls,
  pause,
  port,
  ps,
  pull,
  restart,
  rm,
  run,
  start,
  stop,
  top,
  unpause,
  up,
  version,
};

function composeHelp(): string {
  let s = helpText(GLOBAL_SPEC);
  s += '\nCommands:\n';
  for (const [n, c] of Object.entries(COMPOSE_COMMANDS)) s += `  ${n.padEnd(11)} ${c.spec.description}\n`;
  return `${s}\nRun 'berth compose COMMAND --help' for more information on a command.\n`;
}

/** Commands that can run on a project known only by its name. */
const LABEL_ONLY = new Set([
  'down',
  'ps',
  'logs',
  'stop',
  'start',
  'restart',
  'kill',
  'pause',
  'unpause',
  'rm',
  'top',
  'images',
  'port',
  'exec',
]);

/** `berth compose ...`: its global flags, then one command. Returns the exit code. */
export async function runCompose(cli: Cli, argv: string[]): Promise<number> {
  const g = parseArgs(argv, GLOBAL_SPEC);
  const [name, ...rest] = g.args;
  if (g.help || !name) {
    cli.out(composeHelp());
    return 0;
  }
  const cmd = COMPOSE_COMMANDS[name];
  if (!cmd) {
    cli.err(`unknown docker command: "compose ${name}"\n`);
    return 1;
  }
  const spec = { ...cmd.spec, usage: `berth compose ${name} ${cmd.spec.usage}` };
  const p = parseArgs(rest, spec);
  if (p.help) {
    cli.out(helpText(spec));
    return 0;
  }
  const reporter = new ProgressReporter(cli, g.flags.str('progress') ?? 'auto');
  let cached: Project | undefined;
  const ctx: Ctx = {
    cli,
    g: g.flags,
    reporter,
    project(services) {
      if (cached) return cached;
      const projectName = g.flags.str('project-name');
      try {
        cached = loadProject({
          files: g.flags.list('file'),
          projectName,
          projectDirectory: g.flags.str('project-directory'),
          envFiles: g.flags.list('env-file'),
          profiles: g.flags.list('profile'),
          services,
          cwd: process.cwd(),
          env: process.env,
        });
      } catch (e) {
        // `-p name` without a file: commands over existing containers work from the labels
        if (!(e instanceof NoConfigError) || !projectName || !LABEL_ONLY.has(name)) throw e;
        cached = emptyProject(projectName, process.cwd());
      }
      return cached;
    },
    engine(project) {
      return new ComposeEngine(cli.client, project, reporter, builder(cli, reporter));
    },
  };
  const rc = await cmd.run(ctx, p.flags, p.args);
  return typeof rc === 'number' ? rc : 0;
}
