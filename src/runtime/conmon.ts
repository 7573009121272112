/**
 * conmon's command line and its sync-pipe protocol (conmon 2.x, `--api-version 1`), as podman's
 * libpod/oci_conmon_common.go drives it:
 *
 * - conmon forks (the parent writes `--conmon-pidfile` and exits 0; the child calls setsid and
 *   becomes a subreaper), creates the attach socket `<bundle>/attach` (with a symlink
 *   `<socket-dir-path>/<cuuid>` → bundle, to keep socket paths short) and the `ctl`/`winsz` FIFOs
 *   in the bundle, then runs `<runtime> <runtime-args...> create --bundle B --pid-file P <id>`.
 * - On the fd named by `_OCI_SYNCPIPE` it writes one JSON line: `{"data": <pid>}` once the
 *   runtime created the container, or `{"data": -1, "message": "<runtime stderr>"}` when it
 *   failed. An early failure (bad option, missing --socket-dir-path) closes the pipe with no
 *   line at all, and the first process exits non-zero with its reason on stderr.
 * - When the container's process ends, conmon drains its output into the log, then writes the
 *   exit status (128+signal for a signal) to `<exit-dir>/<id>` atomically (temp file + rename),
 *   and an `oom` file in its working directory if the memory cgroup reported an OOM kill.
 * - No `_OCI_STARTPIPE`: nothing needs to happen between fork and create here, so conmon does
 *   not wait for us.
 */
import type { Readable } from 'node:stream';
import { internal, is, notFound } from '../errdefs/index.ts';
import type { Host } from '../host/index.ts';

export interface ConmonArgs {
  id: string;
  bundle: string;
  runtimePath: string;
  runtimeRoot: string;
  /** Global flags for the runtime before `--root` (dockerd's `runtimeArgs`). */
  runtimeArgs?: readonly string[];
  logPath: string;
  exitDir: string;
  socketDir: string;
  terminal: boolean;
  stdin: boolean;
  /** Keep the container's stdin open when attached clients go (Docker: a TTY, or StdinOnce off). */
  leaveStdinOpen?: boolean;
  /** Bytes conmon keeps in the log before it starts a new file; unset or ≤ 0: no cap. */
  logSizeMax?: number;
  /**
   * berth-monitor only (conmon has no such option): `--log-max-files N`, the monitor keeps the
   * full files as `<log>.1` … `<log>.N-1` (see berth-monitor.c's rotate_log).
   */
  logMaxFiles?: number;
  /** Restore from this checkpoint (`<runtime> restore --detach --image-path ...`) instead of `create`. */
  restorePath?: string;
}

/** Files conmon makes in the bundle (for cleanup). `oom` is written in its working directory, the bundle. */
/** For an exec session: `--exec` with the process spec; `cuuid` names its attach socket directory. */
export interface ConmonExecArgs {
  processSpec: string;
  cuuid: string;
}

export const BUNDLE_FILES = ['pidfile', 'conmon.pid', 'attach', 'ctl', 'winsz', 'oom'] as const;

export function conmonArgs(o: ConmonArgs, exec?: ConmonExecArgs): string[] {
  const args = [
    '--api-version',
    '1',
    '-c',
    o.id,
    '-u',
    exec?.cuuid ?? o.id,
    '-n',
    o.id,
    '-r',
    o.runtimePath,
    '-b',
    o.bundle,
    '-p',
    `${o.bundle}/pidfile`,
    '-P',
    `${o.bundle}/conmon.pid`,
    '-l',
    `k8s-file:${o.logPath}`,
    '--log-level',
    'error',
    '--exit-dir',
    o.exitDir,
    '--socket-dir-path',
    o.socketDir,
    ...(o.runtimeArgs ?? []).flatMap((a) => ['--runtime-arg', a]),
    // runc logs JSON lines on stderr, which conmon hands back in the sync message.
    '--runtime-arg',
    `--root=${o.runtimeRoot}`,
    '--runtime-arg',
    '--log-format=json',
    // The daemon does not need conmon to fsync the log on exit; the exit is reported sooner.
    '--no-sync-log',
  ];
  if (exec) args.push('--exec', '--exec-process-spec', exec.processSpec);
  else if (o.restorePath) args.push('--restore', o.restorePath);
  if (o.logSizeMax !== undefined && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
  if (o.logMaxFiles !== undefined && o.logMaxFiles > 1) args.push('--log-max-files', String(o.logMaxFiles));
  if (o.terminal) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
  return args;
}

/**
 * conmon's environment: the daemon's, without what would make runc or the container act on the
 * daemon's behalf (systemd's notify socket makes `runc start` wait for READY=1; socket
 * activation variables would hand the daemon's sockets on).
 */
export function conmonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (k === 'NOTIFY_SOCKET' || k.startsWith('LISTEN_') || k.startsWith('_OCI_')) continue;
    out[k] = v;
  }
  out._OCI_SYNCPIPE = '3';
  return out;
}

export interface SyncMessage {
  data: number;
  message?: string;
}

/** The first complete JSON line in what conmon wrote to the sync pipe, if there is one yet. */
export function parseSyncMessage(text: string): SyncMessage | undefined {
  const nl = text.indexOf('\n');
  if (nl < 0) return undefined;
  const v = JSON.parse(text.slice(0, nl)) as unknown;
  if (typeof v !== 'object' || v === null || typeof (v as SyncMessage).data !== 'number') {
    throw new Error(`unexpected message from conmon: ${text.slice(0, nl)}`);
  }
  return v as SyncMessage;
}

/**
 * The reason in a runtime's stderr: runc's JSON log lines (`{"level":"error","msg":...}`) give
 * their messages; anything else comes back trimmed as it is.
 */
export function runtimeError(stderr: string): string {
  const msgs: string[] = [];
  for (const line of stderr.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    if (t.startsWith('{')) {
      try {
        const j = JSON.parse(t) as { level?: string; msg?: string };
        if (j.msg && (j.level === 'error' || j.level === 'fatal')) msgs.push(j.msg);
        continue;
      } catch {
        // not a JSON line
      }
    }
    const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(t);
    msgs.push(m ? m[1]!.replace(/\\(.)/g, '$1') : t);
  }
  return msgs.join(': ') || stderr.trim();
}

/**
 * Spawns conmon and waits for its first sync message (the pid, or the runtime's error).
 * With `keepSync`, `later` settles with the message conmon sends after it (an exec's exit
 * code), or undefined when the pipe closes without one. Both are read by one listener from
 * the start: the two can come in one chunk, before a listener added later would be there.
 */
export async function runConmon(
  host: Host,
  conmon: string,
  args: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; what: string; keepSync?: boolean; nice?: number },
): Promise<{ pid: number; later?: Promise<SyncMessage | undefined> }> {
  const { cwd, what, keepSync = false } = o;
  const child = host.spawn(conmon, args, {
    cwd,
    env: conmonEnv(o.env),
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    // Its own session: a signal to the daemon's process group does not reach the monitor.
    detached: true,
    nice: o.nice,
  });
  const sync = child.stdio[3] as Readable | null | undefined;
  const stderr: Buffer[] = [];
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  // The first conmon exits once it forked the monitor and wrote its pid file.
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.once('error', () => resolve(-1));
  });
  const first = settable<SyncMessage | undefined>();
  const second = settable<SyncMessage | undefined>();
  if (sync) {
    let text = '';
    let count = 0;
    sync.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      try {
        for (let m = parseSyncMessage(text); m && count < 2; m = parseSyncMessage(text)) {
          text = text.slice(text.indexOf('\n') + 1);
          (count++ === 0 ? first : second).resolve(m);
        }
      } catch (e) {
        first.reject(e as Error);
        second.resolve(undefined);
      }
      if (count === 2 || (count === 1 && !keepSync)) sync.destroy();
    });
    const ended = () => {
      first.resolve(undefined);
      second.resolve(undefined);
    };
    sync.on('end', ended);
    sync.on('close', ended);
    sync.on('error', (e) => {
      first.reject(e);
      second.resolve(undefined);
    });
  }
  child.once('error', (e: NodeJS.ErrnoException) =>
    first.reject(
      e.code === 'ENOENT'
        ? notFound(`"${conmon}" not found: ${/conmon$/.test(conmon) ? 'install conmon' : 'run npm run setup'}`, e)
        : e,
    ),
  );
  let message: SyncMessage | undefined;
  try {
    if (!sync) throw internal('conmon was started without its sync pipe');
    message = await first.promise;
  } catch (e) {
    sync?.destroy();
    throw is(e, 'NotFound') ? e : internal(`${what}: ${(e as Error).message}`, e);
  }
  if (!message) {
    const code = await exited;
    child.stderr?.destroy();
    const why = Buffer.concat(stderr).toString('utf8').trim();
    throw internal(
      `${what}: conmon exited with status ${code}${why ? `: ${why}` : ' without a word (does its socket directory exist?)'}`,
    );
  }
  if (message.data < 0) {
    sync.destroy();
    child.stderr?.destroy();
    child.unref();
    const why = runtimeError(message.message ?? Buffer.concat(stderr).toString('utf8'));
    throw internal(`${what}: ${why || 'the runtime failed'}`);
  }
  // Long done by now: the first conmon exits before runc create even begins.
  await exited;
  child.stderr?.destroy();
  child.unref();
  return { pid: message.data, later: keepSync ? second.promise : undefined };
}

/** A promise with its resolve and reject at hand; only the first settle counts. */
function settable<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}
