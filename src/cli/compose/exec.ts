/**
 * exec and run: a command in a service's container, or a one-off container of a service, run
 * through the CLI's own `exec` and `start -a`, so the terminal work (TTY, stdin, signals) is
 * the same as `berth exec` and `berth run`.
 */
import { randomBytes } from 'node:crypto';
import { LABELS, splitShell, withDependencies } from '../../compose/index.ts';
import { parseArgs } from '../flags.ts';
import { runCommands } from '../run.ts';
import { serviceContainer, type ComposeCommand, type Ctx } from './command.ts';

export const exec: ComposeCommand = {
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

export const run: ComposeCommand = {
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
    const { project, e } = ctx.forServices([service], { enable: true });
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
