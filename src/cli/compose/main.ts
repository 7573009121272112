/**
 * `berth compose`: docker compose v2's commands, flags and output over src/compose/. This
 * folder does the command line, the printing (progress, tables, log prefixes) and what needs
 * the terminal (exec, run, attached up); the project model and its lifecycle live in compose/.
 * Here: the global flags, the command table and the project loaded for a command; the
 * commands are in files by group (lifecycle, images, status, exec, config).
 */
import { ComposeEngine, NoConfigError, emptyProject, loadProject, type Project } from '../../compose/index.ts';
import type { Cli } from '../cli.ts';
import { helpText, parseArgs, type CommandSpec, type FlagDef } from '../flags.ts';
import type { ComposeCommand, Ctx } from './command.ts';
import { config, version } from './config.ts';
import { exec, run } from './exec.ts';
import { build, images, pull } from './images.ts';
import { create, down, kill, pause, restart, rm, start, stop, unpause, up } from './lifecycle.ts';
import { ProgressReporter, builder } from './output.ts';
import { logs, ls, port, ps, top } from './status.ts';

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
    forServices(names, o = {}) {
      const project = ctx.project(o.enable ? names : undefined);
      const e = ctx.engine(project);
      e.checkServices(names);
      return { project, e };
    },
  };
  const rc = await cmd.run(ctx, p.flags, p.args);
  return typeof rc === 'number' ? rc : 0;
}
