/**
 * The OCI runtimes this daemon offers: crun (through the berth-crun wrapper) or runc, each as
 * the runc/conmon driver of `runtime/`, which implements the services' runtime roles itself,
 * under the monitor `--monitor` names: conmon, or Berth's own (build/berth-monitor, which
 * speaks conmon's command line and protocols).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/index.ts';
import { RuncRuntime } from '../runtime/index.ts';
import { Runtimes } from '../services/containers/index.ts';

/**
 * `--default-runtime`: `runc`, or `crun` (run through the berth-crun wrapper, which lets it work
 * on hybrid cgroup hosts), or a path to a runc-compatible runtime.
 */
export function runtimePath(name: string): string {
  if (name === 'crun') return CRUN_WRAPPER;
  return name;
}

const CRUN_WRAPPER = join(import.meta.dirname, '..', '..', 'build', 'berth-crun');
const BERTH_MONITOR = join(import.meta.dirname, '..', '..', 'build', 'berth-monitor');

/** The monitor program for `--monitor`: conmon from PATH, or Berth's own. */
export function monitorPath(monitor: 'conmon' | 'berth'): string {
  return monitor === 'berth' ? BERTH_MONITOR : 'conmon';
}

/** The runtime when none was asked for: crun (and its wrapper) if installed, else runc. */
export function defaultRuntimeName(): string {
  return existsSync(CRUN_WRAPPER) && existsSync(process.env.BERTH_CRUN || '/usr/bin/crun') ? 'crun' : 'runc';
}

/** The driver for runtime `runtimeName`, its programs found and its exit watching started. */
export async function createRuntime(
  host: Host,
  execRoot: string,
  runtimeName = 'runc',
  monitor: 'conmon' | 'berth' = 'berth',
): Promise<RuncRuntime> {
  const rt = new RuncRuntime({
    host,
    root: execRoot,
    runtimePath: runtimePath(runtimeName),
    conmonPath: monitorPath(monitor),
  });
  await rt.init();
  return rt;
}

/**
 * The runtimes containers can ask for by name (`HostConfig.Runtime`), `defaultName` first: the
 * services take them as one set, each container runs on the one its record names. Beside the
 * default, crun and runc are offered when installed (dockerd always offers `runc`; clients ask
 * for it by name). The default keeps the exec root's own state directories, as before there were
 * several; each other runtime gets one of its own (`<execRoot>/runtimes/<name>`), so that no two
 * drivers ever watch the same exit files or list each other's containers.
 */
export async function createRuntimes(
  host: Host,
  execRoot: string,
  defaultName: string,
  monitor: 'conmon' | 'berth' = 'berth',
): Promise<Runtimes<RuncRuntime>> {
  const byName = new Map([[defaultName, await createRuntime(host, execRoot, defaultName, monitor)]]);
  for (const name of ['crun', 'runc']) {
    if (byName.has(name) || (name === 'crun' && defaultRuntimeName() !== 'crun')) continue;
    // A runtime that is not installed is simply not offered (init finds its programs or throws).
    const rt = await createRuntime(host, join(execRoot, 'runtimes', name), name, monitor).catch(() => undefined);
    if (rt) byName.set(name, rt);
  }
  return new Runtimes(byName, defaultName);
}
