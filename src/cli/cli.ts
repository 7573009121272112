/**
 * What every command gets: the streams, a lazily made Engine API client, the errors that end a
 * command with docker's exit codes, and docker's confirmation prompt.
 */
import {
  EngineClient,
  clientTlsFiles,
  resolveHost,
  socketVersionMemory,
  type ContextEndpoint,
  type TlsFlags,
} from '../client/index.ts';
import { loadClientTls, type ClientTlsFiles } from '../tls/index.ts';
import { FlagValueError, type CommandSpec, type Flags } from './flags.ts';

export const BERTH_VERSION = '0.1.0';
export const PROGRAM = 'berth';

/** Ends a command with an exit code, printing `message` (if any) on stderr. */
export class StatusError extends Error {
  readonly code: number;
  constructor(code: number, message = '') {
    super(message);
    this.code = code;
  }
}

export interface Command {
  /** Usage after the command path: `[OPTIONS] CONTAINER [CONTAINER...]` */
  spec: Omit<CommandSpec, 'usage'> & { usage: string };
  run(cli: Cli, flags: Flags, args: string[]): Promise<number | void>;
}

export interface Group {
  description: string;
  commands: Record<string, Command>;
  /** Names listed in help (aliases are left out). */
  listed?: string[];
}

export interface Streams {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export class Cli {
  /** The streams a caller gave; undefined: the process's, each made on first use (see stdin). */
  private readonly streams: Streams | undefined;
  readonly host: string;
  /** The TLS files the global flags and environment name; undefined: plain HTTP. */
  readonly tlsFiles: ClientTlsFiles | undefined;
  private clientInstance: EngineClient | undefined;

  constructor(
    host: string | undefined,
    streams?: Streams,
    tls: TlsFlags = {},
    /** A docker context's endpoint (see client/context.ts): it decides the host and TLS instead. */
    context?: ContextEndpoint,
  ) {
    this.tlsFiles = context ? context.tls : clientTlsFiles(tls);
    this.host = context ? context.host : resolveHost(host, process.env, !!this.tlsFiles);
    this.streams = streams;
  }

  /**
   * Node makes process.stdin when it is first read: a file's read stream (hyperfine's
   * /dev/null, a redirect) loads Node's file streams and fs/promises with them, ~6 ms of a
   * start that most commands (`run -d`, `ps`, `pod create`) never read from.
   */
  get stdin(): NodeJS.ReadStream {
    return this.streams ? this.streams.stdin : process.stdin;
  }

  get stdout(): NodeJS.WriteStream {
    return this.streams ? this.streams.stdout : process.stdout;
  }

  get stderr(): NodeJS.WriteStream {
    return this.streams ? this.streams.stderr : process.stderr;
  }

  /** The client, made on first use: its TLS files are read then, and a missing one fails the command (as docker). */
  get client(): EngineClient {
    if (!this.clientInstance) {
      let tls;
      try {
        // read even for a unix socket, which then ignores them: docker fails on a missing file either way
        tls = this.tlsFiles ? loadClientTls(this.tlsFiles) : undefined;
      } catch (e) {
        throw new StatusError(1, `unable to resolve docker endpoint: ${(e as Error).message}`);
      }
      // A daemon on a unix socket is asked its API version once, not by every berth process:
      // the ping was a round trip of each command's start (versionmemory.ts).
      const socket = /^unix:\/\/(.+)$/.exec(this.host)?.[1] ?? (this.host.startsWith('/') ? this.host : undefined);
      this.clientInstance = new EngineClient({
        host: this.host,
        version: process.env.DOCKER_API_VERSION || undefined,
        tls,
        versionMemory: socket ? socketVersionMemory(socket) : undefined,
      });
    }
    return this.clientInstance;
  }

  out(s: string): void {
    this.stdout.write(s);
  }

  err(s: string): void {
    this.stderr.write(s);
  }

  get outIsTTY(): boolean {
    return !!this.stdout.isTTY;
  }

  get inIsTTY(): boolean {
    return !!this.stdin.isTTY;
  }

  close(): void {
    this.clientInstance?.close();
  }

  /**
   * docker's PromptForConfirmation: true only for "y"/"Y"; no input reads as "no". The
   * question goes on its own line unless `sameLine` (as `builder prune` asks it).
   */
  async confirm(message: string, sameLine = false): Promise<boolean> {
    this.out(`${message}${sameLine ? ' ' : '\n'}Are you sure you want to continue? [y/N] `);
    const line = await readLine(this.stdin);
    return /^\s*y\s*$/i.test(line ?? '');
  }
}

/** Reads one line from a stream (undefined at EOF), leaving the stream paused. */
export async function readLine(stream: NodeJS.ReadStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (v: string | undefined) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onEnd);
      stream.pause();
      resolve(v);
    };
    const onData = (c: Buffer | string) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const rest = buf.slice(nl + 1);
        if (rest) stream.unshift(Buffer.from(rest));
        done(buf.slice(0, nl).replace(/\r$/, ''));
      }
    };
    const onEnd = () => done(buf || undefined);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onEnd);
    stream.resume();
  });
}

/** `filter` flags (`key=value`) as Engine API filters. */
export function parseFilterFlags(list: string[]): Record<string, string[]> {
  const f: Record<string, string[]> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new FlagValueError(
        `invalid argument "${item}" for "-f, --filter" flag: bad format of filter (expected name=value)`,
      );
    const k = item.slice(0, eq).trim().toLowerCase();
    (f[k] ??= []).push(item.slice(eq + 1));
  }
  return f;
}

/** `--label k=v` / `--label k` flags as a map. */
export function parseKeyValues(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const eq = l.indexOf('=');
    if (eq < 0) out[l] = '';
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

/** Runs `fn` for each name, printing docker's per-item errors; exit 1 if any failed. */
export async function forEach(
  cli: Cli,
  names: string[],
  fn: (name: string) => Promise<void>,
  opts: { print?: boolean } = {},
): Promise<number> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      await fn(name);
      if (opts.print !== false) cli.out(`${name}\n`);
    } catch (e) {
      errors.push(describeError(e));
    }
  }
  if (errors.length) {
    cli.err(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}

/** An error as docker prints it: daemon refusals prefixed "Error response from daemon: ". */
export function describeError(e: unknown): string {
  if (e && typeof e === 'object' && (e as { name?: string }).name === 'ApiError')
    return `Error response from daemon: ${(e as Error).message}`;
  return e instanceof Error ? e.message : String(e);
}
