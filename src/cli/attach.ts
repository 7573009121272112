/**
 * The client side of attach and exec: copy a hijacked connection to the local stdout/stderr
 * (demultiplexed unless there is a TTY), local stdin to it (with the detach key sequence
 * intercepted), the local terminal in raw mode, window size changes sent as resizes, and
 * signals forwarded to the container.
 */
import { spawnSync } from 'node:child_process';
import { demuxTo, type HijackedStream } from '../client/index.ts';
import type { Cli } from './cli.ts';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** docker's detach key syntax: `ctrl-p,ctrl-q`, `a`, `ctrl-@` … as bytes. */
export function parseDetachKeys(spec: string): number[] {
  if (!spec) return [];
  return spec.split(',').map((k) => {
    const key = k.trim();
    if (key.length === 1) return key.charCodeAt(0);
    const m = /^ctrl-(.)$/i.exec(key);
    if (!m) throw new Error(`Unknown character: '${key}'`);
    const c = m[1]!;
    if (c === '@') return 0;
    if (c === '[') return 27;
    if (c === '\\') return 28;
    if (c === ']') return 29;
    if (c === '^') return 30;
    if (c === '_') return 31;
    const lower = c.toLowerCase();
    if (lower >= 'a' && lower <= 'z') return lower.charCodeAt(0) - 96;
    throw new Error(`Unknown character: '${key}'`);
  });
}

/**
 * Filters a byte stream for a key sequence: bytes that might start the sequence are held back
 * until it is complete (detach) or broken (flushed).
 */
export class DetachFilter {
  private readonly keys: number[];
  private held: number[] = [];
  constructor(keys: number[]) {
    this.keys = keys;
  }

  /** Returns the bytes to forward and whether the sequence was completed. */
  push(chunk: Buffer): { data: Buffer; detached: boolean } {
    if (!this.keys.length) return { data: chunk, detached: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) return { data: Buffer.from(out), detached: true };
        continue;
      }
      out.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) this.held.push(b);
      else out.push(b);
    }
    return { data: Buffer.from(out), detached: false };
  }
}

export interface StreamOptions {
  tty: boolean;
  /** Copy local stdin to the connection. */
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  detachKeys?: string;
}

export interface StreamResult {
  /** The user typed the detach sequence. */
  detached: boolean;
}

/**
 * Puts the local terminal in raw mode while `fn` runs (when stdin is a terminal). libuv's raw
 * mode keeps output post-processing (ONLCR), which would turn the container's "\r\n" into
 * "\r\r\n"; docker's raw mode (cfmakeraw) clears OPOST, so stty does that here too.
 */
export async function withRawTerminal<T>(cli: Cli, enabled: boolean, fn: () => Promise<T>): Promise<T> {
  const stdin = cli.stdin;
  if (!enabled || !stdin.isTTY || typeof stdin.setRawMode !== 'function') return fn();
  const saved = stty(stdin, ['-g']);
  stdin.setRawMode(true);
  stty(stdin, ['-opost']);
  const restore = () => {
    try {
      stdin.setRawMode(false);
    } catch {
      // the terminal is gone
    }
    if (saved) stty(stdin, [saved]);
  };
  process.once('exit', restore);
  try {
    return await fn();
  } finally {
    restore();
    process.off('exit', restore);
  }
}

/** Runs stty on the terminal that is our stdin; its output, or undefined when it failed. */
function stty(stdin: NodeJS.ReadStream, args: string[]): string | undefined {
  const fd = (stdin as NodeJS.ReadStream & { fd?: number }).fd ?? 0;
  const r = spawnSync('stty', args, { stdio: [fd, 'pipe', 'ignore'], encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Streams a hijacked connection until its output ends or the user detaches. */
export function streamHijacked(cli: Cli, conn: HijackedStream, o: StreamOptions): Promise<StreamResult> {
  return new Promise<StreamResult>((resolve, reject) => {
    let finished = false;
    const stdin = cli.stdin;
    const cleanup = () => {
      if (o.stdin) {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      }
    };
    const finish = (r: StreamResult) => {
      if (finished) return;
      finished = true;
      cleanup();
      resolve(r);
    };
    const filter = new DetachFilter(o.tty && o.stdin ? parseDetachKeys(o.detachKeys || DEFAULT_DETACH_KEYS) : []);
    const onData = (chunk: Buffer) => {
      const { data, detached } = filter.push(chunk);
      if (data.length) conn.input.write(data);
      if (detached) {
        conn.close();
        finish({ detached: true });
      }
    };
    const onEnd = () => {
      if (!finished) conn.closeWrite();
    };
    if (o.stdin) {
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.resume();
    }
    conn.input.on('error', () => {});
    const out = o.stdout ? cli.stdout : null;
    const err = o.stderr ? cli.stderr : null;
    const copy = o.tty
      ? (async () => {
          for await (const chunk of conn.output as AsyncIterable<Buffer>) {
            if (out && !out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
          }
        })()
      : demuxTo(conn.output as AsyncIterable<Buffer>, out, err).then(() => undefined);
    copy.then(
      () => finish({ detached: false }),
      (e: NodeJS.ErrnoException) => {
        if (finished) return;
        // a connection reset after the container exited is an ordinary end
        if (e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.name === 'AbortError')
          finish({ detached: false });
        else {
          finished = true;
          cleanup();
          reject(e);
        }
      },
    );
  });
}

/** Sends the terminal size now and on every SIGWINCH; returns the stop function. */
export function monitorTtySize(cli: Cli, resize: (h: number, w: number) => Promise<void>): () => void {
  const out = cli.stdout;
  if (!out.isTTY) return () => {};
  const send = () => {
    const [w, h] = out.getWindowSize?.() ?? [out.columns, out.rows];
    if (!h || !w) return;
    resize(h, w).catch(() => {
      // the container may be gone already; the next resize will tell
    });
  };
  send();
  out.on('resize', send);
  return () => {
    out.off('resize', send);
  };
}

/** The local terminal size as [height, width] for ConsoleSize, if stdout is a terminal. */
export function consoleSize(cli: Cli): [number, number] | undefined {
  const out = cli.stdout;
  if (!out.isTTY) return undefined;
  const [w, h] = out.getWindowSize?.() ?? [out.columns, out.rows];
  return h && w ? [h, w] : undefined;
}

const PROXIED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Forwards the signals the CLI receives to the container (docker's --sig-proxy). */
export function proxySignals(kill: (signal: string) => Promise<void>): () => void {
  const handlers = PROXIED_SIGNALS.map((sig) => {
    const h = () => {
      kill(sig).catch(() => {});
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
