/**
 * The container routes that stream: `GET /containers/{id}/logs` and `POST
 * /containers/{id}/attach` (Docker's and Libpod's alike: routes/libpod.ts registers the same
 * handlers), and what they share with exec's (routes/exec.ts): the pump that writes log entries
 * as Docker's frames, and a resize's terminal size. containers.ts registers the two routes.
 */
import type { Duplex } from 'node:stream';
import type { Request, Response } from '../router.ts';
import { invalidArgument } from '../../../errdefs/index.ts';
import {
  type ContainerService,
  type LogEntry,
  parseDetachKeys,
  DEFAULT_DETACH_KEYS,
  logAttributes,
} from '../../../services/containers/index.ts';
import { atoi, boolValue, logsTail, unixTimestamp } from '../query.ts';

/**
 * `GET /containers/{id}/logs`, Docker's and Libpod's alike (routes/libpod.ts: `podman --remote
 * logs` and `pod logs -c` read the same multiplexed stream).
 */
export function logsHandler(svc: ContainerService) {
  return async (req: Request, res: Response) => {
    const c = svc.get(req.params.id!);
    const stdout = boolValue(req.query.get('stdout'));
    const stderr = boolValue(req.query.get('stderr'));
    if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
    const follow = boolValue(req.query.get('follow'));
    const tail = logsTail(req.query.get('tail'));
    const { since, until } = logsWindow(req.query);
    svc.checkLogsReadable(c);
    const tty = !!c.Config.Tty;
    res.raw.writeHead(200, {
      'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream',
    });
    const following = follow && (c.State.Running || c.State.Status === 'paused');
    // A follower gets the headers at once (its next line may be far off); an answer that ends
    // sends them with its first bytes: one write and one wake-up of the client less.
    if (following) res.raw.flushHeaders();
    const ac = new AbortController();
    res.raw.on('close', () => ac.abort());
    const untilExit = c.State.Running || c.State.Status === 'paused' ? svc.nextExit(c.Id) : Promise.resolve(0);
    const entries = svc.logs(c, {
      follow: following,
      tail,
      since: since === undefined ? undefined : new Date(since / 1e6),
      until: until === undefined ? undefined : new Date(until / 1e6),
      signal: ac.signal,
      untilExit,
    });
    // --details: each line after its log attributes and a space, as moby writes it (after the time).
    const details = boolValue(req.query.get('details')) ? Buffer.from(`${logAttributes(c)} `) : undefined;
    await pump(entries, res.raw, { stdout, stderr, tty, timestamps: boolValue(req.query.get('timestamps')), details });
    res.raw.end();
  };
}

/**
 * `POST /containers/{id}/attach`, Docker's and Libpod's alike (routes/libpod.ts): the
 * container's output from now on (and what it wrote before, with `logs`), its stdin from the
 * client with `stdin`, until it exits or the client detaches.
 */
export function attachHandler(svc: ContainerService) {
  return async (req: Request, res: Response) => {
    // Bad detach keys are refused before the container is looked for, as dockerd does.
    const detachKeys = parseDetachKeys(req.query.get('detachKeys') || DEFAULT_DETACH_KEYS);
    const c = svc.get(req.params.id!);
    const stdout = boolValue(req.query.get('stdout'));
    const stderr = boolValue(req.query.get('stderr'));
    const logs = boolValue(req.query.get('logs'));
    const stream = boolValue(req.query.get('stream'));
    const stdin = boolValue(req.query.get('stdin'));
    const sock: Duplex = res.hijack(
      c.Config.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream',
    );
    const ac = new AbortController();
    sock.on('close', () => ac.abort());
    sock.on('error', () => ac.abort());
    svc.attached(c);
    const untilExit = svc.nextExit(c.Id);
    const startedAt = new Date();
    const entries = svc.logs(c, {
      follow: stream,
      since: logs ? undefined : startedAt,
      signal: ac.signal,
      untilExit,
    });
    if (stdin && stream) {
      void svc.attachStdin(c.Id, sock, detachKeys).then((how) => {
        if (how !== 'detached') return;
        svc.detached(c);
        ac.abort();
      });
    }
    await pump(entries, sock, { stdout, stderr, tty: !!c.Config.Tty, timestamps: false });
    sock.end();
  };
}

/**
 * Writes log entries as Docker's stream: 8-byte frame headers unless the container has a TTY.
 * The frames made in one turn of the event loop (a file chunk's lines: the log is read 64 kB
 * at a time) leave as one write, at the end of the turn or at 64 kB: written one by one, each
 * line was a chunk of its own on the wire and a system call of its own, and `logs --tail 100`
 * took 4.2 ms against dockerd's 2.6. A live follower's lines still leave in the turn that read
 * them. (Not the response's cork(): Node's corked chunked writes after flushHeaders() framed
 * the body wrongly in a test.)
 */
export async function pump(
  entries: AsyncIterable<LogEntry>,
  out: NodeJS.WritableStream,
  o: { stdout: boolean; stderr: boolean; tty: boolean; timestamps: boolean; details?: Buffer },
): Promise<void> {
  let batch: Buffer[] = [];
  let bytes = 0;
  let blocked: Promise<void> | undefined;
  const flush = () => {
    if (batch.length === 0) return;
    const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes);
    batch = [];
    bytes = 0;
    if (!out.write(data)) blocked = new Promise((r) => out.once('drain', () => r(void (blocked = undefined))));
  };
  try {
    for await (const e of entries) {
      if (e.stream === 'stdout' ? !o.stdout : !o.stderr) continue;
      const data = o.details ? Buffer.concat([o.details, e.data]) : e.data;
      const payload = o.timestamps ? Buffer.concat([Buffer.from(`${rfc3339Nano(e.time)} `), data]) : data;
      let chunk = payload;
      if (!o.tty) {
        const head = Buffer.alloc(8);
        head[0] = e.stream === 'stdout' ? 1 : 2;
        head.writeUInt32BE(payload.length, 4);
        chunk = Buffer.concat([head, payload]);
      }
      if (batch.length === 0) process.nextTick(flush);
      batch.push(chunk);
      bytes += chunk.length;
      if (bytes >= 64 * 1024) flush();
      if (blocked) await blocked;
    }
    flush();
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
}

/** moby's RFC3339NanoFixed, as `logs -t` shows it: always nine digits of the second. */
function rfc3339Nano(d: Date & { nanos?: number }): string {
  return d.toISOString().replace(
    /\.(\d{3})Z$/,
    (_m, ms) =>
      `.${ms}${String(d.nanos ?? 0)
        .padStart(6, '0')
        .slice(0, 6)}Z`,
  );
}

/**
 * `h` and `w` of a resize: both required, Atoi's integers (dockerd refuses an absent one). A
 * negative or huge size, which dockerd passes on wrapped, is clamped to what a terminal takes.
 */
export function terminalSize(q: URLSearchParams): { h: number; w: number } {
  const clamp = (n: number) => Math.min(Math.max(n, 0), 0xffff);
  return { h: clamp(atoi(q.get('h') ?? '')), w: clamp(atoi(q.get('w') ?? '')) };
}

/**
 * `since` and `until` of the logs, as dockerd's logs read them: unix timestamps (see
 * unixTimestamp); an empty one, and an `until` of 0, put no bound.
 */
function logsWindow(q: URLSearchParams): { since?: number; until?: number } {
  const since = q.get('since');
  const until = q.get('until');
  return {
    since: since ? unixTimestamp(since) : undefined,
    until: until && until !== '0' ? unixTimestamp(until) : undefined,
  };
}
