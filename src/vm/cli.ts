/**
 * berth-vm's command line: runc's (global `--root`, `--log`, `--log-format`; `create`,
 * `start`, `run`, `state`, `kill`, `delete`, `pause`, `resume`, `ps`, `exec`, `update`, `list`),
 * so conmon and Berth's driver run it as they run runc, and a person can drive it by hand with
 * an OCI bundle. Errors go to stderr (and the `--log` file) as runc writes them: a JSON line
 * `{"level":"error","msg":...}` with `--log-format json`, plain text otherwise; exit status 1.
 *
 * @example
 *   berth-vm --root /run/berth-vm create --bundle /path/to/bundle --pid-file pid vm1
 *   berth-vm start vm1 && berth-vm state vm1 && berth-vm delete --force vm1
 */
import { promises as fs } from 'node:fs';
import { invalidArgument } from '../errdefs/index.ts';
import type { Host } from '../host/index.ts';
import * as cmd from './commands.ts';

export const VERSION = '0.1.0';

/** Flags that take a value, per command ('' for the global ones). Short aliases map to long names. */
const VALUED: Record<string, string[]> = {
  '': ['root', 'log', 'log-format', 'criu'],
  create: ['bundle', 'pid-file', 'console-socket', 'preserve-fds'],
  run: ['bundle', 'pid-file', 'console-socket', 'preserve-fds'],
  exec: [
    'pid-file',
    'process',
    'console-socket',
    'cwd',
    'env',
    'user',
    'preserve-fds',
    'process-label',
    'apparmor',
    'cap',
  ],
  ps: ['format'],
  update: ['resources', 'memory', 'cpus', 'cpu-quota', 'cpu-period', 'pids-limit'],
  kill: [],
  delete: [],
};
const ALIASES: Record<string, string> = {
  b: 'bundle',
  a: 'all',
  f: 'force',
  d: 'detach',
  t: 'tty',
  p: 'process',
  e: 'env',
  u: 'user',
  r: 'resources',
  v: 'version',
};

export interface Parsed {
  flags: Map<string, string[]>;
  args: string[];
}

/** Flags up to the first argument (urfave/cli's rule, which runc follows), then the arguments. */
export function parseFlags(argv: readonly string[], valued: readonly string[], command: string): Parsed {
  const flags = new Map<string, string[]>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    let name = a.replace(/^--?/, '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) [name, value] = [name.slice(0, eq), name.slice(eq + 1)];
    name = ALIASES[name] ?? name;
    if (valued.includes(name)) {
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined) throw invalidArgument(`${command}: flag needs an argument: --${name}`);
      }
    } else value ??= 'true';
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, args: argv.slice(i) };
}

const last = (p: Parsed, name: string) => p.flags.get(name)?.at(-1);
const on = (p: Parsed, name: string) => {
  const v = last(p, name);
  return v !== undefined && v !== 'false';
};

function oneId(p: Parsed, command: string): string {
  const id = p.args[0];
  if (!id) throw invalidArgument(`${command}: missing container ID`);
  return id;
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Runs one command line; resolves with the exit status. */
export async function main(
  argv: readonly string[],
  host: Host,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let json = false;
  let logFile: string | undefined;
  try {
    const g = parseFlags(argv, VALUED['']!, 'berth-vm');
    json = last(g, 'log-format') === 'json';
    logFile = last(g, 'log');
    if (on(g, 'version') || g.args[0] === 'version' || g.args[0] === '--version') {
      io.out(`berth-vm version ${VERSION}\nspec: 1.0.2\n`);
      return 0;
    }
    if (on(g, 'systemd-cgroup')) throw invalidArgument('berth-vm does not manage cgroups through systemd');
    const ctx: cmd.Context = { host, root: last(g, 'root') ?? '/run/berth-vm', env };
    const [command, ...rest] = g.args;
    if (!command) throw invalidArgument('usage: berth-vm [--root DIR] COMMAND [OPTIONS] ID');
    const p = parseFlags(rest, VALUED[command] ?? [], command);
    return await dispatch(ctx, command, p, io);
  } catch (e) {
    const msg = (e as Error).message;
    const line = json
      ? JSON.stringify({ level: 'error', msg, time: new Date().toISOString() })
      : `time="${new Date().toISOString()}" level=error msg=${JSON.stringify(msg)}`;
    io.err(`${line}\n`);
    if (logFile) await fs.appendFile(logFile, `${line}\n`).catch(() => {});
    return 1;
  }
}

async function dispatch(ctx: cmd.Context, command: string, p: Parsed, io: Io): Promise<number> {
  switch (command) {
    case 'create':
    case 'run': {
      const id = oneId(p, command);
      const { shim } = await cmd.create(ctx, {
        id,
        bundle: last(p, 'bundle') ?? process.cwd(),
        pidFile: last(p, 'pid-file'),
        consoleSocket: last(p, 'console-socket'),
      });
      if (command === 'create') return 0;
      await cmd.start(ctx, id);
      return await cmd.waitExit(shim);
    }
    case 'start':
      await cmd.start(ctx, oneId(p, command));
      return 0;
    case 'state': {
      const s = await cmd.state(ctx, oneId(p, command));
      const view = {
        ociVersion: '1.0.2',
        id: s.id,
        pid: s.status === 'stopped' ? 0 : s.pid,
        status: s.status,
        bundle: s.bundle,
        rootfs: s.rootfs,
        created: s.created,
        owner: '',
        annotations: { 'io.berth.vm.kernel': s.release, 'io.berth.vm.accel': s.accel },
      };
      io.out(`${JSON.stringify(view, null, 2)}\n`);
      return 0;
    }
    case 'kill':
      await cmd.kill(ctx, oneId(p, command), p.args[1] ?? 'SIGTERM', on(p, 'all'));
      return 0;
    case 'delete':
      await cmd.remove(ctx, oneId(p, command), on(p, 'force'));
      return 0;
    case 'pause':
      await cmd.pause(ctx, oneId(p, command));
      return 0;
    case 'resume':
      await cmd.resume(ctx, oneId(p, command));
      return 0;
    case 'ps': {
      // json: the host pids in the VM's cgroup, as runc's; table: the guest's own processes.
      if (last(p, 'format') === 'json') io.out(`${JSON.stringify(await cmd.ps(ctx, oneId(p, command)))}\n`);
      else io.out(await cmd.psTable(ctx, oneId(p, command)));
      return 0;
    }
    case 'exec': {
      const id = oneId(p, command);
      const tty = on(p, 'tty');
      const proc = await cmd.processFrom(ctx, id, last(p, 'process'), p.args.slice(1), {
        tty,
        cwd: last(p, 'cwd'),
        env: p.flags.get('env') ?? [],
        user: last(p, 'user'),
      });
      return await cmd.exec(ctx, {
        id,
        process: tty && !proc.terminal ? { ...proc, terminal: true } : proc,
        tty: tty || proc.terminal,
        consoleSocket: last(p, 'console-socket'),
        pidFile: last(p, 'pid-file'),
        detach: on(p, 'detach'),
      });
    }
    case 'update':
      return await cmd.update();
    case 'list':
    case 'ls': {
      const ids = await fs.readdir(ctx.root).catch(() => [] as string[]);
      const rows = ['ID\tPID\tSTATUS\tBUNDLE\tCREATED'];
      for (const id of ids.sort()) {
        const s = await cmd.state(ctx, id).catch(() => undefined);
        if (s) rows.push(`${s.id}\t${s.status === 'stopped' ? 0 : s.pid}\t${s.status}\t${s.bundle}\t${s.created}`);
      }
      io.out(`${rows.join('\n')}\n`);
      return 0;
    }
    default:
      throw invalidArgument(`berth-vm: no such command "${command}"`);
  }
}
