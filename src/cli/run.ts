/** The commands that run programs and stream them: run, create, start, attach, exec. */
import { existsSync, writeFileSync } from 'node:fs';
import { isNotFound, type ContainerCreateRequest } from '../client/index.ts';
import { familiarString } from '../spec/index.ts';
import { ArgsError, FlagValueError, parseArgs, type FlagDef, type Flags } from './flags.ts';
import { type Cli, type Command, StatusError, describeError } from './cli.ts';
import { RUN_FLAGS, buildRunRequest, expandEnv, readKeyValueFile, type RunRequest } from './runopts.ts';
import {
  consoleSize,
  monitorTtySize,
  parseDetachKeys,
  proxySignals,
  streamHijacked,
  withRawTerminal,
} from './attach.ts';
import { parseImageRef } from './imageref.ts';
import { configuredDetachKeys } from './config.ts';

/** Errors of `run`/`create` before the container runs: "berth: <msg>" and exit 125. */
function runError(e: unknown, command: string): Error {
  if (e instanceof StatusError || e instanceof FlagValueError) return e as Error;
  return new StatusError(125, `berth: ${describeError(e)}\n\nRun 'berth ${command} --help' for more information`);
}

/** Creates the container, pulling the image first when it is missing (docker's createContainer). */
async function createContainer(cli: Cli, r: RunRequest): Promise<string> {
  const ref = parseImageRef(r.image);
  // the pull's code (progress display, credentials) only when there is a pull
  const pull = async () =>
    (await import('./images.ts')).pullImage(cli, ref, r.quiet ? null : cli.stderr, { platform: r.platform });
  if (r.pull === 'always' && r.rootfsFile === undefined) await pull();
  if (r.cidfile && existsSync(r.cidfile))
    throw new StatusError(
      125,
      `berth: container ID file found, make sure the other container isn't running or delete ${r.cidfile}`,
    );
  const create = () =>
    cli.client.containerCreate(r.body as ContainerCreateRequest, { name: r.name, platform: r.platform, pod: r.pod });
  let res;
  try {
    res = await create();
  } catch (e) {
    if (!(isNotFound(e) && /image/i.test((e as Error).message)) || r.pull !== 'missing' || r.rootfsFile !== undefined)
      throw e;
    cli.err(`Unable to find image '${familiarString(ref)}' locally\n`);
    await pull();
    res = await create();
  }
  for (const w of res.Warnings ?? []) cli.err(`WARNING: ${w}\n`);
  if (r.cidfile) writeFileSync(r.cidfile, res.Id);
  return res.Id;
}

// IMAGE may be absent with --rootfs-file: the count is checked by `needImage` then.
const RUN_SPEC_BASE = { flags: RUN_FLAGS, interspersed: false, args: { min: 0 } };

/** docker's "requires at least 1 argument", unless --rootfs-file stands for the image. */
function needImage(f: Flags, args: string[], command: 'run' | 'create'): void {
  if (args.length || f.has('rootfs-file')) return;
  throw new ArgsError(`'berth ${command}' requires at least 1 argument`, {
    ...RUN_SPEC_BASE,
    usage: `berth ${command} [OPTIONS] IMAGE [COMMAND] [ARG...]`,
    description: '',
  });
}

const create: Command = {
  spec: {
    ...RUN_SPEC_BASE,
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: 'Create a new container',
    aliases: ['berth container create', 'berth create'],
  },
  async run(cli, f, args) {
    needImage(f, args, 'create');
    let id: string;
    try {
      const r = buildRunRequest(f, args, { consoleSize: consoleSize(cli) });
      id = await createContainer(cli, r);
    } catch (e) {
      throw runError(e, 'create');
    }
    cli.out(`${id}\n`);
  },
};

/** `--detach-keys`, else the config file's `detachKeys` (what the docker CLI does for run, start, attach and exec). */
function detachKeysOf(f: Flags): string | undefined {
  return f.str('detach-keys') ?? configuredDetachKeys();
}

const run: Command = {
  spec: {
    ...RUN_SPEC_BASE,
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: 'Create and run a new container from an image',
    aliases: ['berth container run', 'berth run'],
  },
  async run(cli, f, args) {
    needImage(f, args, 'run');
    let r: RunRequest;
    try {
      r = buildRunRequest(f, args, { consoleSize: consoleSize(cli) });
      r.detachKeys ??= configuredDetachKeys();
      if (r.detachKeys) parseDetachKeys(r.detachKeys);
    } catch (e) {
      throw runError(e, 'run');
    }
    if (r.tty && r.attach.stdin && !cli.inIsTTY) throw new StatusError(1, 'the input device is not a TTY');
    let id: string;
    try {
      id = await createContainer(cli, r);
    } catch (e) {
      throw runError(e, 'run');
    }
    const c = cli.client;
    if (r.detach) {
      try {
        await c.containerStart(id);
      } catch (e) {
        throw runError(e, 'run');
      }
      cli.out(`${id}\n`);
      return 0;
    }
    const conn = await c.containerAttach(id, {
      stdin: r.attach.stdin,
      stdout: r.attach.stdout,
      stderr: r.attach.stderr,
      detachKeys: r.detachKeys,
    });
    const wait = await c.containerWait(id, r.autoRemove ? 'removed' : 'next-exit');
    return withRawTerminal(cli, r.tty && r.attach.stdin, async () => {
      const streaming = streamHijacked(cli, conn, {
        tty: r.tty,
        stdin: r.attach.stdin,
        stdout: r.attach.stdout,
        stderr: r.attach.stderr,
        detachKeys: r.detachKeys,
      });
      try {
        await c.containerStart(id);
      } catch (e) {
        conn.close();
        await streaming.catch(() => {});
        if (r.autoRemove) await wait.result.catch(() => {});
        else wait.cancel();
        throw runError(e, 'run');
      }
      const stopResize = r.tty ? monitorTtySize(cli, (h, w) => c.containerResize(id, h, w)) : () => {};
      const stopSignals = r.sigProxy && !r.tty ? proxySignals((sig) => c.containerKill(id, sig)) : () => {};
      try {
        const s = await streaming;
        if (s.detached) {
          wait.cancel();
          return 0;
        }
        const status = await wait.result;
        if (status.Error?.Message) cli.err(`${status.Error.Message}\n`);
        return status.StatusCode;
      } finally {
        stopResize();
        stopSignals();
      }
    });
  },
};

/** Attaches to a running/starting container and streams until it ends; returns its exit status. */
async function attachAndWait(
  cli: Cli,
  id: string,
  o: { stdin: boolean; detachKeys?: string; start: boolean; sigProxy: boolean },
): Promise<number> {
  const c = cli.client;
  const info = await c.containerInspect(id);
  const tty = !!info.Config.Tty;
  const stdin = o.stdin && !!info.Config.OpenStdin;
  if (tty && stdin && !cli.inIsTTY) throw new StatusError(1, 'the input device is not a TTY');
  const conn = await c.containerAttach(info.Id, { stdin, stdout: true, stderr: true, detachKeys: o.detachKeys });
  const wait = await c.containerWait(info.Id, info.HostConfig.AutoRemove ? 'removed' : 'next-exit');
  return withRawTerminal(cli, tty && stdin, async () => {
    const streaming = streamHijacked(cli, conn, { tty, stdin, stdout: true, stderr: true, detachKeys: o.detachKeys });
    if (o.start) {
      try {
        await c.containerStart(info.Id, { detachKeys: o.detachKeys });
      } catch (e) {
        conn.close();
        wait.cancel();
        throw e;
      }
    }
    const stopResize = tty ? monitorTtySize(cli, (h, w) => c.containerResize(info.Id, h, w)) : () => {};
    const stopSignals = o.sigProxy && !tty ? proxySignals((sig) => c.containerKill(info.Id, sig)) : () => {};
    try {
      const s = await streaming;
      if (s.detached) {
        wait.cancel();
        return 0;
      }
      const status = await wait.result;
      return status.StatusCode;
    } finally {
      stopResize();
      stopSignals();
    }
  });
}

const start: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Start one or more stopped containers',
    aliases: ['berth container start', 'berth start'],
    args: { min: 1 },
    flags: [
      { long: 'attach', short: 'a', type: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
      { long: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
      { long: 'interactive', short: 'i', type: 'bool', help: "Attach container's STDIN" },
    ],
  },
  async run(cli, f, args) {
    if (f.bool('attach') || f.bool('interactive')) {
      if (args.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
      return attachAndWait(cli, args[0]!, {
        stdin: f.bool('interactive'),
        detachKeys: detachKeysOf(f),
        start: true,
        sigProxy: true,
      });
    }
    const failed: string[] = [];
    const errors: string[] = [];
    for (const name of args) {
      try {
        await cli.client.containerStart(name, { detachKeys: detachKeysOf(f) });
        cli.out(`${name}\n`);
      } catch (e) {
        errors.push(describeError(e));
        failed.push(name);
      }
    }
    if (failed.length)
      throw new StatusError(1, `${errors.join('\n')}\nError: failed to start containers: ${failed.join(', ')}`);
  },
};

const attach: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER',
    description: 'Attach local standard input, output, and error streams to a running container',
    aliases: ['berth container attach', 'berth attach'],
    args: { min: 1, max: 1 },
    flags: [
      { long: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
      { long: 'no-stdin', type: 'bool', help: 'Do not attach STDIN' },
      { long: 'sig-proxy', type: 'bool', default: true, help: 'Proxy all received signals to the process' },
    ],
  },
  async run(cli, f, args) {
    const info = await cli.client.containerInspect(args[0]!);
    if (!info.State.Running) throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
    if (info.State.Paused) throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
    return attachAndWait(cli, info.Id, {
      stdin: !f.bool('no-stdin'),
      detachKeys: detachKeysOf(f),
      start: false,
      sigProxy: f.bool('sig-proxy'),
    });
  },
};

const EXEC_FLAGS: FlagDef[] = [
  { long: 'detach', short: 'd', type: 'bool', help: 'Detached mode: run command in the background' },
  { long: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
  { long: 'env', short: 'e', type: 'list', help: 'Set environment variables' },
  { long: 'env-file', type: 'list', help: 'Read in a file of environment variables' },
  { long: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
  { long: 'privileged', type: 'bool', help: 'Give extended privileges to the command' },
  { long: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
  { long: 'user', short: 'u', type: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  { long: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container' },
];

const exec: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
    description: 'Execute a command in a running container',
    aliases: ['berth container exec', 'berth exec'],
    args: { min: 2 },
    interspersed: false,
    flags: EXEC_FLAGS,
  },
  async run(cli, f, args) {
    const [container, ...cmd] = args as [string, ...string[]];
    const tty = f.bool('tty');
    const interactive = f.bool('interactive');
    const detach = f.bool('detach');
    if (tty && interactive && !detach && !cli.inIsTTY) throw new StatusError(1, 'the input device is not a TTY');
    const env = [...f.list('env-file').flatMap((p) => readKeyValueFile(p)), ...f.list('env').map((e) => expandEnv(e))];
    const c = cli.client;
    const size = tty ? consoleSize(cli) : undefined;
    const { Id: execId } = await c.execCreate(container, {
      AttachStdin: interactive && !detach,
      AttachStdout: !detach,
      AttachStderr: !detach,
      Tty: tty,
      Env: env.length ? env : undefined,
      Cmd: cmd,
      User: f.str('user'),
      WorkingDir: f.str('workdir'),
      Privileged: f.bool('privileged'),
      DetachKeys: detachKeysOf(f),
      ConsoleSize: size ?? null,
    });
    if (detach) {
      await c.execStartDetached(execId, tty);
      return 0;
    }
    const conn = await c.execStart(execId, { tty, consoleSize: size });
    const s = await withRawTerminal(cli, tty && interactive, async () => {
      const streaming = streamHijacked(cli, conn, {
        tty,
        stdin: interactive,
        stdout: true,
        stderr: true,
        detachKeys: detachKeysOf(f),
      });
      const stopResize = tty ? monitorTtySize(cli, (h, w) => c.execResize(execId, h, w)) : () => {};
      try {
        return await streaming;
      } finally {
        stopResize();
      }
    });
    if (s.detached) return 0;
    // the exit code can lag the end of the stream by a moment
    for (let i = 0; i < 100; i++) {
      const info = await c.execInspect(execId);
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      await new Promise((r) => setTimeout(r, 20));
    }
    return 0;
  },
};

export const runCommands: Record<string, Command> = { run, create, start, attach, exec };

/** Used by tests: the create request a `run` command line makes. */
export function runRequestFor(argv: string[]): RunRequest {
  const p = parseArgs(argv, {
    ...RUN_SPEC_BASE,
    usage: 'berth run [OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: '',
  });
  return buildRunRequest(p.flags, p.args, { env: {} });
}
