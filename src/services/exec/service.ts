/**
 * `docker exec`: more processes in a running container. An exec is created (its command and
 * options checked and kept), then started once, attached (its output streamed, its input
 * forwarded) or detached; its exit code is kept for `GET /exec/{id}/json`.
 *
 * Each started exec runs under a conmon of its own (`--exec`), so it has the container's
 * namespaces, cgroups, capabilities and seccomp profile, exactly like the container's process,
 * and its output is logged to a file of its own (never into the container's log, as in Docker).
 * Exec records live in memory, as in Docker: a daemon restart forgets them.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { conflict, internal, invalidArgument, notFound } from '../../errdefs/index.ts';
import { checkShape, type Shape } from '../../spec/index.ts';
import type { EventBus } from '../../events/index.ts';
import type { ExecConfig, ExecInspect } from '../../api/types/index.ts';
import { homeEnv, hostCapabilities, processUser, resolveUser } from '../../oci/index.ts';
import { execFailureCode, runcWording, type ExecRuntime, type TaskInfo } from '../../runtime/index.ts';
import type { ContainerService, ContainerRecord, LogEntry } from '../containers/index.ts';
import { parseDetachKeys, pumpStdin, DEFAULT_DETACH_KEYS, type Runtimes } from '../containers/index.ts';

/** What the exec service needs of the runtime: exec sessions, and their logs. */
export type ExecSessions = ExecRuntime & Pick<TaskInfo, 'readLogs'>;

export interface ExecRecord {
  ID: string;
  ContainerID: string;
  config: ExecConfig;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  started: boolean;
  dir: string;
  /** The runtime the container runs on, which runs the exec too (see services/containers/runtimes.ts). */
  runtime: string;
  exit?: Promise<number>;
}

export interface ExecServiceDeps {
  containers: ContainerService;
  /** The runtimes, as the container service has them: an exec runs on its container's. */
  runtimes: Runtimes<ExecSessions>;
  events: EventBus;
}

/** An exec's config, as Docker's Go type declares it. */
const EXEC_CONFIG: Shape = {
  fields: {
    Cmd: { list: 'string' },
    Env: { list: 'string' },
    User: 'string',
    WorkingDir: 'string',
    DetachKeys: 'string',
    AttachStdin: 'boolean',
    AttachStdout: 'boolean',
    AttachStderr: 'boolean',
    Tty: 'boolean',
    Privileged: 'boolean',
    ConsoleSize: { list: 'number' },
  },
};

export class ExecService {
  private readonly d: ExecServiceDeps;
  private readonly execs = new Map<string, ExecRecord>();
  private readonly changes = new EventEmitter().setMaxListeners(0);

  constructor(deps: ExecServiceDeps) {
    this.d = deps;
  }

  /** `POST /containers/{id}/exec`. */
  create(ref: string, cfg: ExecConfig): { Id: string } {
    if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg))
      throw invalidArgument('invalid exec config: expected a JSON object');
    const c = this.d.containers.get(ref);
    // dockerd names a paused container as the client did (the start, later, by its ID).
    this.requireRunning(c, ref);
    if (!Array.isArray(cfg.Cmd) || cfg.Cmd.length === 0) throw invalidArgument('No exec command specified');
    checkShape(cfg, EXEC_CONFIG, 'exec config');
    if (cfg.DetachKeys) parseDetachKeys(cfg.DetachKeys);
    if (cfg.Env?.some((e) => e.startsWith('=')))
      throw invalidArgument(`invalid environment variable: ${cfg.Env.find((e) => e.startsWith('='))}`);
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, {
      ID: id,
      ContainerID: c.Id,
      config: { ...cfg },
      Running: false,
      ExitCode: null,
      Pid: 0,
      started: false,
      dir: join(this.d.containers.dir(c.Id), 'exec', id.slice(0, 16)),
      runtime: this.d.runtimes.nameOf(c),
    });
    this.d.containers.publishEvent(c, `exec_create: ${execAction(cfg.Cmd)}`, { execID: id });
    return { Id: id };
  }

  private runtime(e: ExecRecord): ExecSessions {
    return this.d.runtimes.of({ HostConfig: { Runtime: e.runtime } });
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  private requireRunning(c: ContainerRecord, pausedAs = c.Id): void {
    if (c.State.Paused) throw conflict(`Container ${pausedAs} is paused, unpause the container before exec`);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    if (c.State.Restarting) throw conflict(`Container ${c.Id} is restarting, wait until the container is running`);
  }

  /**
   * `POST /exec/{id}/start`: runs the process. Resolves once it runs, with its exit promise;
   * the caller streams `output(id)` and forwards input with `attachStdin`. Whether the process
   * gets a terminal is the create config's `Tty`, never the start request's: as in dockerd, the
   * start body's `Tty` only chooses how the stream is framed (the Python SDK creates with
   * `tty=True` and starts with `{"Tty": false}`, and expects `hello\r\n`).
   */
  async start(id: string, opts: { consoleSize?: [number, number] | null } = {}): Promise<ExecRecord> {
    const e = this.get(id);
    if (e.Running) throw conflict(`Error: Exec command ${id} is already running`);
    if (e.started) throw conflict(`Error: Exec command ${id} has already run`);
    const c = this.d.containers.get(e.ContainerID);
    this.requireRunning(c);
    e.started = true;
    const tty = !!e.config.Tty;
    const process = await this.processSpec(c, e.config, tty, opts.consoleSize ?? e.config.ConsoleSize ?? null).catch(
      (err: Error) => {
        // Its user or group is not there: it never ran, as dockerd counts it (126), in dockerd's bare words.
        e.ExitCode = 126;
        e.exit = Promise.resolve(126);
        setupFailures.add(err);
        throw err;
      },
    );
    await fs.mkdir(e.dir, { recursive: true });
    this.d.containers.publishEvent(c, `exec_start: ${execAction(e.config.Cmd ?? [])}`, { execID: id });
    try {
      const { pid, exit } = await this.runtime(e).exec({
        id: c.Id,
        sessionId: id.slice(0, 32),
        dir: e.dir,
        process,
        logPath: join(e.dir, 'exec.log'),
        terminal: tty,
        stdin: !!e.config.AttachStdin,
      });
      e.Running = true;
      e.Pid = pid;
      e.exit = exit.then((code) => {
        e.Running = false;
        e.ExitCode = code < 0 ? 126 : code;
        this.d.containers.publishEvent(c, 'exec_die', { execID: id, exitCode: String(e.ExitCode) });
        this.changes.emit(`exit:${id}`);
        return e.ExitCode;
      });
    } catch (err) {
      // Docker's exit code for an exec that could not start (command not found, not executable).
      e.ExitCode = 126;
      e.exit = Promise.resolve(126);
      const why = runcWording(
        (err as Error).message.replace(/^exec in container "[0-9a-f]+": /, ''),
        e.config.Cmd?.[0] ?? '',
      );
      // As dockerd: a command that is missing or cannot be executed is the request's fault (400).
      throw execFailureCode(why) === 128 ? internal(why, err) : invalidArgument(why, err);
    }
    return e;
  }

  /** The process's output from its start, until it exits or `signal` aborts. */
  output(e: ExecRecord, signal: AbortSignal): AsyncIterable<LogEntry> {
    return this.runtime(e).readLogs(join(e.dir, 'exec.log'), { follow: true, signal, untilExit: e.exit });
  }

  /**
   * Forwards input to the exec's stdin (see ContainerService.attachStdin for the rules).
   * `detachKeys: false`: no keys detach a terminal, every byte reaches the process (the CRI's
   * exec: kubelet's clients know no detach keys, and containerd passes ctrl-p ctrl-q through).
   */
  async attachStdin(e: ExecRecord, input: Readable, o: { detachKeys?: false } = {}): Promise<'detached' | 'ended'> {
    if (!e.config.AttachStdin || !e.Running) {
      input.resume();
      return 'ended';
    }
    const keys = e.config.Tty && o.detachKeys !== false;
    return pumpStdin(input, this.runtime(e).openExecStdin(e.ID.slice(0, 32)), {
      detachKeys: keys ? parseDetachKeys(e.config.DetachKeys || DEFAULT_DETACH_KEYS) : undefined,
    });
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const e = this.get(id);
    if (!e.Running) throw conflict(`Exec ${id} is not running`);
    if (!e.config.Tty) return;
    await this.runtime(e).resizeIn(e.dir, height, width, `resize exec "${id}"`);
  }

  /** `GET /exec/{id}/json` in Docker's shape. */
  inspect(id: string): ExecInspect {
    const e = this.get(id);
    const cmd = e.config.Cmd ?? [];
    return {
      CanRemove: false,
      ContainerID: e.ContainerID,
      DetachKeys: e.config.DetachKeys ?? '',
      ExitCode: e.ExitCode,
      ID: e.ID,
      OpenStderr: !!e.config.AttachStderr,
      OpenStdin: !!e.config.AttachStdin,
      OpenStdout: !!e.config.AttachStdout,
      ProcessConfig: {
        arguments: cmd.slice(1),
        entrypoint: cmd[0] ?? '',
        privileged: !!e.config.Privileged,
        tty: !!e.config.Tty,
        user: e.config.User ?? '',
      },
      Running: e.Running,
      Pid: e.Pid,
    };
  }

  /** Exec IDs of a container (for `inspect`'s ExecIDs). */
  idsOf(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.ContainerID === containerId).map((e) => e.ID);
  }

  /** Forgets the execs of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, e] of this.execs) if (e.ContainerID === containerId) this.execs.delete(id);
  }

  /** The OCI process for an exec: the container's own, with the exec's command and options. */
  private async processSpec(
    c: ContainerRecord,
    cfg: ExecConfig,
    tty: boolean,
    consoleSize: [number, number] | null,
  ): Promise<Record<string, unknown>> {
    const dir = this.d.containers.dir(c.Id);
    const spec = JSON.parse(await fs.readFile(join(dir, 'config.json'), 'utf8')) as {
      process: Record<string, unknown>;
    };
    const p = structuredClone(spec.process);
    p.args = cfg.Cmd;
    p.terminal = tty;
    if (tty && consoleSize) p.consoleSize = { height: consoleSize[0], width: consoleSize[1] };
    else delete p.consoleSize;
    p.env = mergeEnv(withTerm((p.env as string[] | undefined) ?? [], tty, c.Config.Env ?? []), cfg.Env ?? []);
    if (cfg.WorkingDir) p.cwd = cfg.WorkingDir;
    if (cfg.User) {
      const u = await resolveUser(cfg.User, join(dir, 'rootfs'));
      p.user = processUser(u);
      // The spec's HOME is the container user's unless its config or the exec set one: the
      // exec's user gets its own, as runc gives it.
      const home = homeEnv([...(c.Config.Env ?? []), ...(cfg.Env ?? [])], u);
      if (home) p.env = mergeEnv(p.env as string[], [home]);
    }
    if (cfg.Privileged) {
      const caps = hostCapabilities();
      p.capabilities = { bounding: caps, effective: caps, permitted: caps };
    }
    return p;
  }
}

/**
 * An exec's TERM follows its own terminal, as moby builds an exec's environment afresh: xterm
 * with one, none without — unless the container's config names its own TERM.
 */
function withTerm(env: readonly string[], tty: boolean, configEnv: readonly string[]): string[] {
  if (configEnv.some((e) => e.startsWith('TERM='))) return [...env];
  const rest = env.filter((e) => !e.startsWith('TERM='));
  if (!tty) return rest;
  // Where moby's order has it: after the host name.
  const at = rest.findIndex((e) => e.startsWith('HOSTNAME=')) + 1;
  return [...rest.slice(0, at), 'TERM=xterm', ...rest.slice(at)];
}

/** Errors of an exec's own set-up (its user, its group), before any runtime saw it. */
const setupFailures = new WeakSet<Error>();

/**
 * What the client is told of an exec that failed to start, on its stream: a runtime's refusal
 * in runc's words as dockerd passes them on (`OCI runtime exec failed: exec failed: unable to
 * start container process: exec: "x": …: unknown`), the exec's own set-up's bare.
 */
export function execStartFailure(err: Error): string {
  const why = err.message;
  if (setupFailures.has(err)) return why;
  return `OCI runtime exec failed: ${/^exec: /.test(why) ? `exec failed: unable to start container process: ${why}` : why}: unknown`;
}

function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...extra]) {
    const i = e.indexOf('=');
    out.set(i < 0 ? e : e.slice(0, i), e);
  }
  return [...out.values()];
}

/**
 * The command as exec events name it: dockerd joins the entrypoint and the arguments with a
 * space, so a command without arguments keeps a trailing one (`exec_start: true `), and
 * scripts that match the action whole expect it.
 */
export function execAction(cmd: readonly string[]): string {
  return `${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;
}
