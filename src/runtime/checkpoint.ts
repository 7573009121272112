/**
 * Checkpoints for runc-like runtimes: `runc checkpoint` saves a running container's processes
 * through CRIU into a directory, and a restore is a create that conmon runs as `runc restore`
 * (runc.ts's `create` with `restoreFrom`). Both hand runc the CRIU to use when it is not the
 * one in PATH (setup's CRIU 4.1, criu.ts); crun links CRIU's library and takes no such flag.
 * Whether the runtime can checkpoint at all is asked first (criu.ts's `checkpointSupportOf`),
 * so that a checkpoint is refused with the reason instead of failing halfway.
 *
 * @example
 *   await checkpointContainer((...a) => rt.runRuntime(rt.runcArgs(...a)), await rt.checkpointSupport(),
 *     { id, dir: '/var/lib/berth/checkpoints/c1', leaveRunning: true, criuFlags: criuFlags('/usr/bin/runc', criu) });
 */
import { basename } from 'node:path';
import { notImplemented } from '../errdefs/index.ts';
import type { Host, RunResult } from '../host/index.ts';
import { checkpointSupportOf } from './criu.ts';
import { runcFailure } from './failures.ts';
import type { CheckpointSupport } from './roles.ts';

/**
 * Whether the runtime at `runtimePath` can checkpoint here with the CRIU `criu` (criu.ts's
 * rule), asking both their versions; `runRuntime` runs the runtime with the arguments given.
 */
export function probeCheckpointSupport(
  host: Host,
  runtimePath: string,
  criu: string,
  runRuntime: (args: string[]) => Promise<RunResult>,
): Promise<CheckpointSupport> {
  return checkpointSupportOf(
    basename(runtimePath),
    () => runRuntime(['--version']).then((v) => v.stdout),
    () => host.run(criu, ['--version'], { allowFailure: true }).then((r) => (r.code === 0 ? r.stdout : '')),
  );
}

/** runc's `--criu` where the CRIU is not the one in PATH (crun links CRIU's library instead). */
export function criuFlags(runtimePath: string, criu: string): string[] {
  return basename(runtimePath) === 'runc' && criu !== 'criu' ? ['--criu', criu] : [];
}

/**
 * Saves the running container's processes into `dir` (`<runtime> checkpoint`); without
 * `leaveRunning` the container then ends. `runtime` runs the runtime with its global flags and
 * root before the arguments it is given.
 */
export async function checkpointContainer(
  runtime: (...args: string[]) => Promise<RunResult>,
  support: CheckpointSupport,
  o: { id: string; dir: string; leaveRunning: boolean; criuFlags: readonly string[] },
): Promise<void> {
  if (!support.supported) throw notImplemented(`checkpoint container "${o.id}": ${support.reason}`);
  const r = await runtime(
    ...o.criuFlags,
    'checkpoint',
    '--image-path',
    o.dir,
    ...(o.leaveRunning ? ['--leave-running'] : []),
    o.id,
  );
  if (r.code !== 0) throw runcFailure('checkpoint', o.id, r.stderr);
}
