/**
 * Talking to a VM's shim over its control socket (`ctl.sock` in the state directory): the
 * START that lets the container's process run, SIGNAL for `kill --all`, and PS for the guest's
 * processes. The socket is
 * reached by a relative path from the state directory, because a unix socket path holds at
 * most 107 bytes and state directories under a test's data root are longer.
 */
import { connect } from 'node:net';
import { internal } from '../errdefs/index.ts';
import { FILES } from './plan.ts';
import { encodeFrame, FrameReader, FrameType, type Frame } from './wire.ts';

/** Sends one frame; with `until`, waits for the first answer whose type is in it. */
export function request(
  dir: string,
  frame: Buffer,
  until?: readonly string[],
  timeoutMs = 60_000,
): Promise<Frame | undefined> {
  const cwd = process.cwd();
  process.chdir(dir);
  return new Promise<Frame | undefined>((resolve, reject) => {
    const sock = connect(FILES.controlSocket);
    process.chdir(cwd);
    const reader = new FrameReader();
    const timer = setTimeout(() => {
      sock.destroy();
      reject(internal(`the VM's shim did not answer in ${timeoutMs / 1000} seconds`));
    }, timeoutMs);
    const done = (f?: Frame, err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(f);
    };
    sock.on('error', (e) => done(undefined, internal(`the container's VM is not running: ${e.message}`, e)));
    sock.on('connect', () => {
      sock.write(frame, () => {
        if (!until) done();
      });
    });
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) if (until?.includes(f.type)) return done(f);
      } catch (e) {
        done(undefined, e as Error);
      }
    });
    sock.on('close', () =>
      done(undefined, until ? internal("the container's VM closed its control socket") : undefined),
    );
  });
}

/** START with its payload; resolves with the guest pid, or throws with the agent's reason. */
export async function startProcess(dir: string, payload: Buffer): Promise<number> {
  const f = await request(dir, encodeFrame(FrameType.Start, 0, payload), [FrameType.Started, FrameType.Failed]);
  if (!f) throw internal("the container's VM did not answer START");
  const text = f.payload.toString('utf8');
  if (f.type === FrameType.Failed) throw internal(`unable to start container process: ${text}`);
  return Number(text);
}

/** A signal for the container's process, or with `all` for every process in the guest. */
export async function signalProcess(dir: string, signal: number, all: boolean): Promise<void> {
  await request(dir, encodeFrame(FrameType.Signal, 0, Buffer.from(`${signal} ${all ? 1 : 0}`)));
}

/** The agent's list of the container's processes in the guest (see PROCS in vm-wire.h). */
export async function listProcesses(dir: string): Promise<string> {
  const f = await request(dir, encodeFrame(FrameType.Ps, 0, Buffer.alloc(0)), [FrameType.Procs], 10_000);
  if (!f) throw internal("the container's VM did not answer PS");
  return f.payload.toString('utf8');
}
