/**
 * ExecSync: run a command in a container and answer its whole output and exit code — kubelet's
 * exec probes and `crictl exec -s`. It is the streaming runtime's exec (no stdin, no terminal)
 * with the output kept in memory instead of streamed:
 *
 * - each of stdout and stderr keeps at most 16 MiB (kubelet's gRPC message limit; CRI-O caps
 *   the same way); the rest is read and dropped, so the command never blocks on a full pipe;
 * - `timeout` (seconds, 0 = none) bounds the command: when it runs out the command is killed
 *   (the runtime's exec ends when its AbortSignal fires) and the call fails DEADLINE_EXCEEDED
 *   with containerd's words, which kubelet reads as a probe timeout;
 * - a caller that goes away (the gRPC call's signal) kills it the same way.
 */
import { Writable } from 'node:stream';
import { deadlineExceeded } from '../errdefs/index.ts';
import { checkExecRequest, type StreamingRuntime } from '../streaming/index.ts';
import type { Handlers } from './server.ts';

export const EXEC_SYNC_OUTPUT_LIMIT = 16 * 1024 * 1024;

/** A writable that keeps the first `limit` bytes written to it and drops the rest. */
export class CappedBuffer extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly limit: number;
  truncated = false;

  constructor(limit = EXEC_SYNC_OUTPUT_LIMIT) {
    super();
    this.limit = limit;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    const room = this.limit - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room > 0) {
      const kept = chunk.subarray(0, room);
      this.chunks.push(kept);
      this.size += kept.length;
    }
    cb();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

interface ExecSyncReq {
  container_id: string;
  cmd: string[];
  timeout: string | number;
}

export function execSyncHandlers(runtime: Pick<StreamingRuntime, 'exec'>, limit = EXEC_SYNC_OUTPUT_LIMIT): Handlers {
  return {
    async ExecSync(r: ExecSyncReq, signal: AbortSignal) {
      const req = { containerId: r.container_id, cmd: r.cmd, stdin: false, stdout: true, stderr: true, tty: false };
      checkExecRequest(req);
      const timeout = Number(r.timeout);
      const stdout = new CappedBuffer(limit);
      const stderr = new CappedBuffer(limit);
      const ac = new AbortController();
      const onAbort = () => ac.abort(signal.reason);
      signal.addEventListener('abort', onAbort);
      let timedOut = false;
      const timer =
        timeout > 0
          ? setTimeout(() => {
              timedOut = true;
              ac.abort(deadlineExceeded(`timeout ${timeout}s exceeded`));
            }, timeout * 1000)
          : undefined;
      try {
        const exitCode = await runUntilAborted(
          runtime.exec(req, { stdout, stderr, tty: false, onResize: () => {} }, ac.signal),
          ac.signal,
        );
        return { stdout: stdout.bytes, stderr: stderr.bytes, exit_code: exitCode };
      } catch (e) {
        if (timedOut)
          throw deadlineExceeded(
            `failed to exec in container: timeout ${timeout}s exceeded: context deadline exceeded`,
            e,
          );
        throw e;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
}

/** The command's result, or the abort's reason as soon as the signal fires (the kill is the runtime's). */
function runUntilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
