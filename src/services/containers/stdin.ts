/**
 * The one stdin pump, for `attach`/`run -i` (`attachStdin`) and for `exec -i`: a client's input goes to a
 * process's stdin session until the input ends (the process's stdin is closed: end of file),
 * the client goes away without an end (the session is dropped, the stdin stays open), the
 * process ends, or — with a TTY — the client types the detach keys.
 *
 * It respects backpressure: when the session's stream cannot take more, the input is paused
 * until it drains, so a fast client and a slow process hold only a stream buffer's worth in
 * the daemon, not everything the client sent.
 *
 * @example
 *   const how = await pumpStdin(socket, runtime.openStdin(id), { detachKeys: parseDetachKeys('ctrl-p,ctrl-q') });
 */
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { StdinSession } from '../../runtime/index.ts';
import { DetachScanner } from './attach.ts';
import type { ContainerContext } from './context.ts';
import type { ContainerRecord } from './types.ts';

export interface PumpOptions {
  /** With a TTY: the keys that detach (parsed with `parseDetachKeys`); none without one. */
  detachKeys?: Buffer;
  /** The session failed (the bridge to the process's stdin could not run). */
  onError?: (err: Error) => void;
}

/** Resolves `detached` when the client typed the detach keys, else `ended`. */
export function pumpStdin(input: Readable, session: StdinSession, o: PumpOptions = {}): Promise<'detached' | 'ended'> {
  const scanner = o.detachKeys ? new DetachScanner(o.detachKeys) : undefined;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (how: 'detached' | 'ended') => {
      if (settled) return;
      settled = true;
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('close', onClose);
      session.input.off('drain', onDrain);
      if (how === 'detached') session.close();
      resolve(how);
    };
    const onDrain = () => input.resume();
    const onData = (chunk: Buffer) => {
      let data = chunk;
      if (scanner) {
        const r = scanner.push(chunk);
        data = r.pass;
        if (r.detached) {
          if (data.length) session.input.write(data);
          finish('detached');
          return;
        }
      }
      if (data.length && !session.input.write(data)) {
        input.pause();
        session.input.once('drain', onDrain);
      }
    };
    // End of input: the process's stdin closes (unless it was made to stay open).
    const onEnd = () => {
      session.input.end();
      finish('ended');
    };
    // The client went without an end of input (it dropped the connection): like a detach.
    const onClose = () => {
      session.close();
      finish('ended');
    };
    // An input can end before the pump begins — `run -i < /dev/null`: the client half-closes
    // while the task is still being made — and 'end' is emitted only once: see it here.
    if (input.readableEnded) {
      onEnd();
      return;
    }
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('close', onClose);
    session.done.then(
      () => finish('ended'),
      (err: Error) => {
        o.onError?.(err);
        finish('ended');
      },
    );
    input.resume();
  });
}

/**
 * Waits until the task of container `id` exists (its stdin can be opened): true then; false
 * when the container ends or is removed first, or the client goes away. `changes` is the
 * service's (see context.ts). `exists` is asked once the listeners are in place: the task
 * created ahead at `create` may be done before the client attaches, its event long gone.
 */
export function taskCreated(
  changes: EventEmitter,
  id: string,
  input: Readable,
  exists: () => Promise<boolean> = async () => false,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const created = () => {
      off();
      resolve(true);
    };
    const gone = () => {
      off();
      resolve(false);
    };
    const off = () => {
      changes.off(`created:${id}`, created);
      changes.off(`exit:${id}`, gone);
      changes.off(`removed:${id}`, gone);
      input.off('close', gone);
    };
    changes.once(`created:${id}`, created);
    changes.once(`exit:${id}`, gone);
    changes.once(`removed:${id}`, gone);
    input.once('close', gone);
    void exists().then(
      (yes) => yes && created(),
      () => {},
    );
  });
}

/**
 * `attach`/`run -i`: forwards a client's input to the stdin of container `c`, from the moment
 * its process exists until the input ends, the container ends or — with a TTY — the client
 * types the detach keys (`detachKeys` in Docker's notation, checked by the caller with
 * `parseDetachKeys`). Resolves `detached` in that last case, else `ended`.
 */
export async function attachStdin(
  ctx: ContainerContext,
  c: ContainerRecord,
  input: Readable,
  detachKeys: Buffer,
): Promise<'detached' | 'ended'> {
  input.pause();
  if (!c.Config.OpenStdin) {
    // Docker ignores input for a container created without -i.
    input.resume();
    return 'ended';
  }
  const rt = ctx.runtime(c);
  if (!c.State.Running && !(await taskCreated(ctx.changes, c.Id, input, () => rt.exists(c.Id)))) return 'ended';
  return pumpStdin(input, ctx.runtime(c).openStdin(c.Id), {
    // No keys (the CRI's attach): nothing detaches.
    detachKeys: c.Config.Tty && detachKeys.length ? detachKeys : undefined,
    onError: (err) => ctx.d.log.warn(err.message),
  });
}
