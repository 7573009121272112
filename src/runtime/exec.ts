/**
 * `docker exec` for runc-like runtimes: each session runs under a monitor of its own (conmon's
 * `--exec`), which runs `runc exec`, logs the output, keeps the session's attach socket and
 * control FIFO, and sends the exit code on its sync pipe. The driver (runc.ts) says which
 * programs and directories (`MonitorSetup`, create.ts); this file is what an exec does with them.
 *
 * @example
 *   const m = { host, conmon: '/usr/bin/conmon', runtimePath: '/usr/bin/runc', runtimeRoot: '/run/berth/runc',
 *     runtimeArgs: [], socketDir: '/run/berth/sockets', env: process.env };
 *   const { pid, exit } = await execUnderMonitor(m, { id, sessionId, dir, process, logPath, terminal: false, stdin: false });
 *   console.log(pid, await exit);
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../errdefs/index.ts';
import { conmonArgs, runConmon } from './conmon.ts';
import type { MonitorSetup } from './create.ts';
import type { ExecOptions } from './roles.ts';

/**
 * Runs `o.process` in the running container `o.id` as an exec session: the process spec, the
 * monitor's files and exit file in `o.dir`, the attach socket named by `o.sessionId`. Resolves
 * once the process runs, with its pid and a promise of its exit code (-1 when the monitor died
 * without recording one).
 */
export async function execUnderMonitor(
  m: MonitorSetup,
  o: ExecOptions,
): Promise<{ pid: number; exit: Promise<number> }> {
  if (!/^[0-9a-f]{8,64}$/.test(o.sessionId)) throw invalidArgument(`exec in container "${o.id}": invalid session id`);
  await fs.mkdir(o.dir, { recursive: true, mode: 0o700 });
  const specPath = join(o.dir, 'process.json');
  await fs.writeFile(specPath, JSON.stringify(o.process));
  const args = conmonArgs(
    {
      id: o.id,
      bundle: o.dir,
      runtimePath: m.runtimePath,
      runtimeRoot: m.runtimeRoot,
      runtimeArgs: m.runtimeArgs,
      logPath: o.logPath,
      // conmon names the exit file after the container: a directory of the session's own
      // keeps it from looking like the container's exit.
      exitDir: join(o.dir, 'exits'),
      socketDir: m.socketDir,
      terminal: o.terminal,
      stdin: o.stdin,
      leaveStdinOpen: false,
    },
    { processSpec: specPath, cuuid: o.sessionId },
  );
  await fs.mkdir(join(o.dir, 'exits'), { recursive: true });
  const { pid, later } = await runConmon(m.host, m.conmon, args, {
    cwd: o.dir,
    env: m.env,
    what: `exec in container "${o.id}"`,
    keepSync: true,
  });
  // After the pid, conmon sends the exec's exit code on the same pipe; when the pipe closes
  // without it (conmon died), the exit file it may have written says.
  const exit = later!.then(async (msg) => {
    if (msg) return msg.data;
    const t = await fs.readFile(join(o.dir, 'exits', o.id), 'utf8').catch(() => '');
    return /^-?\d+$/.test(t.trim()) ? Number(t.trim()) : -1;
  });
  return { pid, exit };
}
