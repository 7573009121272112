/**
 * The commands that change the project's containers: up, create, down, start, stop, restart,
 * kill, pause, unpause, rm.
 */
import type { ContainerSummary } from '../../client/index.ts';
import { nameOf, withDependencies, type ComposeEngine } from '../../compose/index.ts';
import { StatusError } from '../cli.ts';
import type { FlagDef, Flags } from '../flags.ts';
import { TIMEOUT_FLAG, shortName, timeoutFlag, type ComposeCommand, type Ctx } from './command.ts';
import { printLogs } from './output.ts';

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

function parseScale(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const m = /^([^=]+)=(\d+)$/.exec(s);
    if (!m) throw new StatusError(1, `invalid --scale value "${s}": expected SERVICE=NUM`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

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

export const up: ComposeCommand = {
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

export const create: ComposeCommand = {
  spec: { usage: '[OPTIONS] [SERVICE...]', description: 'Creates containers for a service', flags: CREATE_FLAGS },
  async run(ctx, f, args) {
    await ctx.engine(ctx.project(args)).up({ ...upOptions(f, args), noStart: true });
  },
};

export const down: ComposeCommand = {
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
      const { e } = ctx.forServices(args);
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

export const start: ComposeCommand = {
  spec: { usage: '[SERVICE...]', description: 'Start services', flags: [] },
  async run(ctx, _f, args) {
    const { project, e } = ctx.forServices(args, { enable: true });
    await e.start(args.length ? withDependencies(project.services, args) : Object.keys(project.services));
  },
};

export const stop: ComposeCommand = {
  spec: { usage: '[OPTIONS] [SERVICE...]', description: 'Stop services', flags: [TIMEOUT_FLAG] },
  async run(ctx, f, args) {
    const { e } = ctx.forServices(args);
    await e.stop(args, timeoutFlag(f));
  },
};

export const restart = simple(
  'Restart service containers',
  'Restarting',
  'Started',
  async (ctx, _e, c, f) => {
    await ctx.cli.client.containerRestart(c.Id, f.has('timeout') ? { timeout: f.int('timeout') } : {});
  },
  [TIMEOUT_FLAG, { long: 'no-deps', type: 'bool', help: "Don't restart dependent services" }],
  { all: true },
);

export const kill = simple(
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

export const pause = simple('Pause services', 'Pausing', 'Paused', async (ctx, _e, c) =>
  ctx.cli.client.containerPause(c.Id),
);

export const unpause = simple(
  'Unpause services',
  'Unpausing',
  'Unpaused',
  async (ctx, _e, c) => ctx.cli.client.containerUnpause(c.Id),
  [],
  { all: true },
);

export const rm: ComposeCommand = {
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
    const { e } = ctx.forServices(args);
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
