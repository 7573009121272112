/**
 * What compose prints besides tables: v2's progress lines (a block redrawn in place on a
 * terminal), build output through the same reporter, and services' logs with their prefixes.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { demux, type ContainerSummary, type JsonMessage } from '../../client/index.ts';
import { ComposeError, type Builder, type Project, type Reporter } from '../../compose/index.ts';
import type { Cli } from '../cli.ts';
import { contextTar } from '../build.ts';
import { displayJsonMessages } from '../progress.ts';
import { getTimestamp } from '../timestamps.ts';
import { shortName, type Ctx } from './command.ts';

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
export function builder(cli: Cli, reporter: ProgressReporter, quiet = false): Builder {
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
          noCache: opts.noCache || b.no_cache,
          pull: opts.pull,
          cacheFrom: b.cache_from?.length ? [...b.cache_from] : undefined,
          networkMode: b.network,
          shmSize: b.shm_size,
          extraHosts: b.extra_hosts?.length ? [...b.extra_hosts] : undefined,
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

/** Follows (or dumps) the logs of containers with `name  | ` prefixes; resolves when every stream ends. */
export async function printLogs(
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
        // The API takes unix timestamps: dates and durations are converted here, as docker's are.
        since: o.since && getTimestamp(o.since),
        until: o.until && getTimestamp(o.until),
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
