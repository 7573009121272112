/**
 * What every `berth compose` command gets and shares: the context (the CLI, the global flags,
 * the project loaded on demand, an engine over it, the progress reporter), the command shape,
 * and the small helpers several commands use.
 */
import type { ContainerSummary } from '../../client/index.ts';
import { containerNumber, nameOf, type ComposeEngine, type Project } from '../../compose/index.ts';
import { type Cli, StatusError } from '../cli.ts';
import type { CommandSpec, FlagDef, Flags } from '../flags.ts';
import type { ProgressReporter } from './output.ts';

/** What a compose command gets: the CLI, the global flags, and the project on demand. */
export interface Ctx {
  cli: Cli;
  g: Flags;
  /** Loads the project; `services` named on the command line are enabled whatever their profile. */
  project(services?: readonly string[]): Project;
  engine(project: Project): ComposeEngine;
  /**
   * The project and an engine over it, with the services named on the command line checked
   * (an unknown one fails as compose fails it); with `enable`, they are also enabled whatever
   * their profiles.
   */
  forServices(names: readonly string[], o?: { enable?: boolean }): { project: Project; e: ComposeEngine };
  reporter: ProgressReporter;
}

export interface ComposeCommand {
  spec: Omit<CommandSpec, 'usage'> & { usage: string };
  run(ctx: Ctx, f: Flags, args: string[]): Promise<number | void>;
}

/** `web-1` from `demo-web-1`: the prefix compose v2 shows in logs. */
export function shortName(project: Project, c: ContainerSummary): string {
  const n = nameOf(c);
  return n.startsWith(`${project.name}-`) ? n.slice(project.name.length + 1) : n;
}

export function timeoutFlag(f: Flags): number | undefined {
  return f.has('timeout') ? f.int('timeout') : undefined;
}

export const TIMEOUT_FLAG: FlagDef = {
  long: 'timeout',
  short: 't',
  type: 'int',
  help: 'Specify a shutdown timeout in seconds',
};

/** The container of a service that exec/port/top address: `--index`, else the first. */
export async function serviceContainer(
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
