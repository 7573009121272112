/**
 * The `berth` command line: the docker CLI's commands, flags, output and exit codes, against
 * Berth (or any Engine API daemon). `-H/--host` or DOCKER_HOST selects the daemon. main.js is
 * the entry point that loads this.
 */
import {
  ApiError,
  ConnectionError,
  DEFAULT_HOST,
  StreamError,
  dockerContext,
  type ContextEndpoint,
  type TlsFlags,
} from '../client/index.ts';
import { ArgsError, FlagError, FlagValueError, helpText, parseArgs } from './flags.ts';
import { BERTH_VERSION, Cli, PROGRAM, StatusError, type Command } from './cli.ts';
import { GROUPS, TOP as TOP_SOURCES, allCommands, findCommand } from './commands.ts';
import { TemplateError } from './templateerror.ts';
import { goParseBool } from '../spec/index.ts';

const COMMON = ['run', 'exec', 'ps', 'build', 'pull', 'push', 'images', 'login', 'logout', 'version', 'info'];

function describe(cmd: Command): string {
  return cmd.spec.description.split('\n')[0]!;
}

async function mainHelp(): Promise<string> {
  const TOP = await allCommands(TOP_SOURCES);
  const line = (name: string, d: string) => `  ${name.padEnd(11)} ${d}\n`;
  let s = `Usage:  ${PROGRAM} [OPTIONS] COMMAND\n\nA Docker-compatible container engine\n\nCommon Commands:\n`;
  for (const n of COMMON) s += line(n, describe(TOP[n]!));
  s += '\nManagement Commands:\n';
  s += line('compose', 'Define and run multi-container applications');
  for (const [n, g] of Object.entries(GROUPS)) s += line(n, g.description);
  s += line('kube', 'Play and generate Kubernetes YAML');
  s += '\nCommands:\n';
  for (const n of Object.keys(TOP)
    .filter((n) => !COMMON.includes(n))
    .sort())
    s += line(n, describe(TOP[n]!));
  s += `\nGlobal Options:
  -c, --context string     Name of the context to use to connect to the daemon (overrides
                           DOCKER_HOST env var and default context set with "docker context use")
  -H, --host string        Daemon socket to connect to (default ${DEFAULT_HOST}, or $DOCKER_HOST)
      --tls                Use TLS; implied by --tlsverify
      --tlscacert string   Trust certs signed only by this CA (default "~/.docker/ca.pem")
      --tlscert string     Path to TLS certificate file (default "~/.docker/cert.pem")
      --tlskey string      Path to TLS key file (default "~/.docker/key.pem")
      --tlsverify          Use TLS and verify the remote
  -v, --version            Print version information and quit

Run '${PROGRAM} COMMAND --help' for more information on a command.
`;
  return s;
}

async function groupHelp(name: string): Promise<string> {
  const g = GROUPS[name]!;
  // each command once, under its canonical name (the first alias's last word)
  const names = new Map<Command, string>();
  for (const [n, c] of Object.entries(await allCommands(g.sources))) {
    const canonical = c.spec.aliases?.[0]?.split(' ').pop();
    if (!names.has(c) || n === canonical) names.set(c, n);
  }
  let s = `Usage:  ${PROGRAM} ${name} COMMAND\n\n${g.description}\n\nCommands:\n`;
  for (const [c, n] of [...names].sort((a, b) => a[1].localeCompare(b[1]))) s += `  ${n.padEnd(11)} ${describe(c)}\n`;
  return `${s}\nRun '${PROGRAM} ${name} COMMAND --help' for more information on a command.\n`;
}

interface Global {
  host?: string;
  context?: string;
  tls: TlsFlags;
  rest: string[];
}

function globalUsageError(message: string): number {
  process.stderr.write(
    `${message}\n\nUsage:  ${PROGRAM} [OPTIONS] COMMAND\n\nRun '${PROGRAM} --help' for more information\n`,
  );
  return 125;
}

/**
 * The global flags; a number: the exit code of a usage error already printed; 'help': `--help`.
 * bundles.js's cliCommand reads them too, before this module is loaded (main.test.ts holds the two together).
 */
export function parseGlobal(argv: string[]): Global | number | 'help' {
  let host: string | undefined;
  let context: string | undefined;
  const tls: TlsFlags = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--') {
      i++;
      break;
    }
    if (a === '-H' || a === '--host') {
      host = argv[++i];
      if (host === undefined) {
        process.stderr.write(
          `flag needs an argument: ${a === '-H' ? "'H' in -H" : '--host'}\n\nUsage:  ${PROGRAM} [OPTIONS] COMMAND\n\nRun '${PROGRAM} --help' for more information\n`,
        );
        return 125;
      }
    } else if (a.startsWith('--host=')) host = a.slice(7);
    else if (a.startsWith('-H') && a.length > 2) host = a.slice(2).replace(/^=/, '');
    else if (a === '-h' || a === '--help') {
      return 'help';
    } else if (a === '-v' || a === '--version') {
      process.stdout.write(`Berth version ${BERTH_VERSION}\n`);
      return 0;
    } else if (/^--(tls|tlsverify)(=|$)/.test(a)) {
      const [name, value] = a.slice(2).split(/=(.*)/s) as [string, string | undefined];
      const on = value === undefined ? true : goParseBool(value);
      if (on === undefined)
        return globalUsageError(
          `invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
        );
      if (name === 'tls') tls.tls = on;
      else tls.tlsVerify = on;
    } else if (/^--(tlscacert|tlscert|tlskey)(=|$)/.test(a)) {
      const eq = a.indexOf('=');
      const name = (eq >= 0 ? a.slice(2, eq) : a.slice(2)) as 'tlscacert' | 'tlscert' | 'tlskey';
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) return globalUsageError(`flag needs an argument: --${name}`);
      if (name === 'tlscacert') tls.tlsCaCert = value;
      else if (name === 'tlscert') tls.tlsCert = value;
      else tls.tlsKey = value;
    } else if (a === '-D' || a === '--debug') {
      // accepted for compatibility
    } else if (a === '-c' || a === '--context') {
      context = argv[++i];
      if (context === undefined)
        return globalUsageError(`flag needs an argument: ${a === '-c' ? "'c' in -c" : '--context'}`);
    } else if (a.startsWith('--context=')) {
      context = a.slice('--context='.length);
    } else if (['-l', '--log-level', '--config'].includes(a)) {
      i++;
    } else if (/^--(log-level|config)=/.test(a)) {
      // accepted for compatibility
    } else {
      process.stderr.write(
        `unknown flag: ${a}\n\nUsage:  ${PROGRAM} [OPTIONS] COMMAND\n\nRun '${PROGRAM} --help' for more information\n`,
      );
      return 125;
    }
  }
  return { host, context, tls, rest: argv.slice(i) };
}

/** Runs one command line; returns the exit code. */
export async function main(argv: string[], cli?: Cli): Promise<number> {
  const g = parseGlobal(argv);
  if (typeof g === 'number') return g;
  const [name, ...rest] = g === 'help' ? [] : g.rest;
  if (g === 'help' || !name) {
    process.stdout.write(await mainHelp());
    return 0;
  }
  let context: ContextEndpoint | undefined;
  if (!cli) {
    try {
      context = dockerContext({ flag: g.context, hostFlag: g.host !== undefined });
    } catch (e) {
      const m = (e as Error).message;
      process.stderr.write(
        m.startsWith('conflicting options')
          ? `${m}\n`
          : `Failed to initialize: unable to resolve docker endpoint: ${m}\n`,
      );
      return 1;
    }
  }
  if (name === 'kube') {
    const c = cli ?? new Cli(g.host, undefined, g.tls, context);
    try {
      // loaded on demand, as compose is: the yaml parser would slow every other command's start
      const { runKube } = await import('./kube.ts');
      return await runKube(c, rest);
    } catch (e) {
      return report(c, e);
    } finally {
      c.close();
    }
  }
  if (name === 'compose') {
    // compose has its own global flags (-f, -p ...) before its command
    const c = cli ?? new Cli(g.host, undefined, g.tls, context);
    try {
      // loaded on demand: the yaml parser would slow every other command's start
      const { runCompose } = await import('./compose/main.ts');
      return await runCompose(c, rest);
    } catch (e) {
      return report(c, e);
    } finally {
      c.close();
    }
  }
  let cmd: Command | undefined;
  let path: string;
  let args = rest;
  if (Object.hasOwn(GROUPS, name)) {
    const sub = rest[0];
    if (!sub || sub === '--help' || sub === '-h') {
      process.stdout.write(await groupHelp(name));
      return 0;
    }
    cmd = await findCommand(GROUPS[name]!.sources, sub);
    path = `${PROGRAM} ${name} ${sub}`;
    args = rest.slice(1);
    if (!cmd) {
      process.stderr.write(
        `${PROGRAM}: unknown command: ${PROGRAM} ${name} ${sub}\n\nUsage:  ${PROGRAM} ${name}\n\nRun '${PROGRAM} ${name} --help' for more information\n`,
      );
      return 1;
    }
  } else {
    cmd = await findCommand(TOP_SOURCES, name);
    path = `${PROGRAM} ${name}`;
    if (!cmd) {
      process.stderr.write(
        `${PROGRAM}: unknown command: ${PROGRAM} ${name}\n\nRun '${PROGRAM} --help' for more information\n`,
      );
      return 1;
    }
  }
  const spec = { ...cmd.spec, usage: `${path} ${cmd.spec.usage}` };
  const c = cli ?? new Cli(g.host, undefined, g.tls, context);
  try {
    const parsed = parseArgs(args, spec);
    if (parsed.help) {
      c.out(helpText(spec));
      return 0;
    }
    const rc = await cmd.run(c, parsed.flags, parsed.args);
    return typeof rc === 'number' ? rc : 0;
  } catch (e) {
    return report(c, e instanceof FlagValueError ? new FlagError(e.message, spec) : e);
  } finally {
    c.close();
  }
}

/** Prints an error as docker does and returns the exit code. */
export function report(c: Cli, e: unknown): number {
  if (e instanceof FlagError) {
    c.err(`${e.message}\n\nUsage:  ${e.usage}\n\nRun '${e.command} --help' for more information\n`);
    return 125;
  }
  if (e instanceof ArgsError) {
    const see = /at least/.test(e.message) ? 'See' : 'Run';
    c.err(`${PROGRAM}: ${e.message}\n\nUsage:  ${e.usage}\n\n${see} '${e.command} --help' for more information\n`);
    return 1;
  }
  if (e instanceof StatusError) {
    if (e.message) c.err(`${e.message}\n`);
    return e.code || 1;
  }
  if (e instanceof StreamError) {
    c.err(`${e.message}\n`);
    return 1;
  }
  if (e instanceof ApiError) {
    c.err(`Error response from daemon: ${e.message}\n`);
    return 1;
  }
  if (e instanceof ConnectionError) {
    c.err(`${e.message}\n`);
    return 1;
  }
  if (e instanceof TemplateError) {
    c.err(`template parsing error: ${e.message}\n`);
    return 1;
  }
  const err = e as Error;
  c.err(process.env.BERTH_DEBUG ? `${err.stack ?? err}\n` : `${err.message ?? String(err)}\n`);
  return 1;
}

/** Runs the process's command line and exits with its code. */
export function runProcess(argv: string[]): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  main(argv).then(
    (rc) => {
      const exit = () => process.exit(rc);
      if (process.stdout.writableNeedDrain) process.stdout.once('drain', exit);
      else exit();
    },
    (e: unknown) => {
      process.stderr.write(`${PROGRAM}: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
