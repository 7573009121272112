/**
 * A container's create for runc-like runtimes: conmon is spawned, runs `<runtime> create` (or
 * `restore`, from a checkpoint) and stays the container's parent; the create resolves with the
 * container's pid once the runtime made it. The driver (runc.ts) keeps its bookkeeping (which
 * containers it tracks, their bundles) and says which programs and directories; this file is
 * what a create does with them. exec.ts runs exec sessions the same way.
 *
 * @example
 *   const m = { host, conmon: '/usr/bin/conmon', runtimePath: '/usr/bin/crun', runtimeRoot: '/run/berth/runc',
 *     runtimeArgs: [], socketDir: '/run/berth/sockets', env: process.env };
 *   const { pid } = await createUnderMonitor(m, '/run/berth/exits', { id, bundle, logPath, terminal: false, stdin: false });
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/index.ts';
import { conmonArgs, runConmon } from './conmon.ts';
import { monitorRotates } from './monitor.ts';
import type { CreateOptions } from './roles.ts';
import { specText, type SeccompCache, type SpecWithSeccomp } from './seccomp-cache.ts';

/** What running a process under the monitor takes: the programs, the runtime's state root and flags, the environment. */
export interface MonitorSetup {
  host: Host;
  /** The monitor: conmon or build/berth-monitor. */
  conmon: string;
  /** The program the monitor runs (the runtime, or a wrapper of it) and its flags before the monitor's own. */
  runtimePath: string;
  runtimeArgs: readonly string[];
  runtimeRoot: string;
  /** Where the monitor puts attach sockets. */
  socketDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Creates the container `o.id` from its bundle under its own monitor, which writes its exit to
 * `<exitDir>/<id>`. With `seccomp` (crun), the compiled filter goes into the spec when it is
 * known (and the profile's rules out of the file written), else it is learnt from the runtime's
 * state after the create.
 */
export async function createUnderMonitor(
  m: MonitorSetup,
  exitDir: string,
  o: CreateOptions,
  seccomp?: SeccompCache,
): Promise<{ pid: number; logsRotated?: boolean }> {
  // A previous run's exit and OOM marks must not be taken for this run's.
  await Promise.all([fs.rm(join(exitDir, o.id), { force: true }), fs.rm(join(o.bundle, 'oom'), { force: true })]);
  // berth-monitor keeps max-file's old logs itself; under conmon the caller does (LogRotator).
  const logsRotated = monitorRotates(m.conmon) && (o.logMaxFiles ?? 1) > 1;
  const args = conmonArgs({
    id: o.id,
    bundle: o.bundle,
    runtimePath: m.runtimePath,
    runtimeRoot: m.runtimeRoot,
    runtimeArgs: m.runtimeArgs,
    restorePath: o.restoreFrom,
    logPath: o.logPath,
    exitDir,
    socketDir: m.socketDir,
    terminal: o.terminal,
    stdin: o.stdin,
    leaveStdinOpen: o.leaveStdinOpen,
    logSizeMax: o.logSizeMax,
    logMaxFiles: logsRotated ? o.logMaxFiles : undefined,
  });
  const seccompKey = await (o.spec ? seccomp?.annotate(o.spec as SpecWithSeccomp) : seccomp?.prepare(o.bundle))?.catch(
    () => undefined,
  );
  // With the compiled filter in it, written without the profile's rules (seccomp-cache.ts's specText).
  if (o.spec) await fs.writeFile(join(o.bundle, 'config.json'), specText(o.spec as SpecWithSeccomp));
  const { pid } = await runConmon(m.host, m.conmon, args, {
    cwd: o.bundle,
    env: m.env,
    what: `create container "${o.id}"`,
    nice: o.nice,
  });
  if (seccompKey) await seccomp!.learn(seccompKey, join(m.runtimeRoot, o.id, 'seccomp.bpf')).catch(() => {});
  return { pid, logsRotated };
}
