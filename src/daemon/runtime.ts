/**
 * The OCI runtimes this daemon offers, by name, each as the runc/monitor driver of `runtime/`
 * (which implements the services' runtime roles itself) under the monitor `--monitor` names:
 * conmon, or Berth's own (build/berth-monitor, which speaks conmon's command line and
 * protocols). The set: the default (crun through the berth-crun wrapper, or runc), crun and runc
 * beside it when installed, the ones Berth brings when their programs are there — gVisor's
 * `runsc` and the micro-VM runtime `berth-vm` — and any a user adds with
 * `--add-runtime name=path`, as dockerd offers runc and what `--add-runtime` names.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Host } from '../host/index.ts';
import { BerthVmRuntime, crunBinary, RuncRuntime, RunscRuntime } from '../runtime/index.ts';
import { Runtimes } from '../services/containers/index.ts';
import type { RuntimeEntry } from './config.ts';

const BUILD = join(import.meta.dirname, '..', '..', 'build');
const CRUN_WRAPPER = join(BUILD, 'berth-crun');
const BERTH_MONITOR = join(BUILD, 'berth-monitor');
const BERTH_VM = join(import.meta.dirname, '..', '..', 'bin', 'berth-vm');
const RUNSC = '/usr/bin/runsc';

/**
 * `--default-runtime`: `runc`, or `crun` (run through the berth-crun wrapper, which lets it work
 * under conmon), or a path.
 */
export function runtimePath(name: string): string {
  if (name === 'crun') return CRUN_WRAPPER;
  return name;
}

/** The monitor program for `--monitor`: conmon from PATH, or Berth's own. */
export function monitorPath(monitor: 'conmon' | 'berth'): string {
  return monitor === 'berth' ? BERTH_MONITOR : 'conmon';
}

/** The runtime when none was asked for: crun (and its wrapper) if installed, else runc. */
export function defaultRuntimeName(): string {
  return existsSync(CRUN_WRAPPER) && existsSync(crunBinary()) ? 'crun' : 'runc';
}

/**
 * The runtimes Berth offers beside the default when their programs are there: `runsc` (gVisor)
 * and `berth-vm` (its guest made by setup). gVisor runs on its systrap platform, which needs no
 * KVM (these machines have none), or on ptrace where the installed runsc predates systrap
 * (Debian 12's, of 2022).
 */
export async function builtinRuntimes(host: Host): Promise<RuntimeEntry[]> {
  const out: RuntimeEntry[] = [];
  if (existsSync(RUNSC)) {
    const flags = await host.run(RUNSC, ['flags'], { allowFailure: true }).catch(() => undefined);
    const platform = /systrap/.test(flags?.stdout ?? '') ? 'systrap' : 'ptrace';
    out.push({ name: 'runsc', path: RUNSC, args: [`--platform=${platform}`] });
  }
  if (existsSync(join(BUILD, 'vm', 'initramfs.img')) && existsSync(join(BUILD, 'berth-vm-shim')))
    out.push({ name: 'berth-vm', path: BERTH_VM, args: [] });
  return out;
}

/** A runtime by name: crun and runc by theirs, anything else as a path with no flags of its own. */
function entryFor(name: string): RuntimeEntry {
  return { name, path: runtimePath(name), args: [] };
}

/**
 * The driver for runtime `e` keeping its state under `root`, its programs found and its exit
 * watching started. gVisor's state, signals and network are its own (see runtime/runsc.ts); a
 * VM's processes are in its guest (runtime/berthvm.ts).
 */
export async function createRuntime(
  host: Host,
  root: string,
  e: RuntimeEntry = entryFor('runc'),
  monitor: 'conmon' | 'berth' = 'berth',
): Promise<RuncRuntime> {
  const program = basename(e.path);
  const Driver = program === 'runsc' ? RunscRuntime : program === 'berth-vm' ? BerthVmRuntime : RuncRuntime;
  const rt = new Driver({
    host,
    root,
    runtimePath: e.path,
    runtimeArgs: e.args,
    conmonPath: monitorPath(monitor),
  });
  await rt.init();
  return rt;
}

/**
 * The runtimes containers can ask for by name (`HostConfig.Runtime`), `defaultName` first: the
 * services take them as one set, each container runs on the one its record names. Beside the
 * default, crun and runc are offered when installed (dockerd always offers `runc`; clients ask
 * for it by name), then runsc and berth-vm when there, then `added` (from `--add-runtime`), which
 * wins over a built-in of its name. The default keeps the exec root's own state directories, as
 * before there were several; each other runtime gets one of its own
 * (`<execRoot>/runtimes/<name>`), so that no two drivers ever watch the same exit files or list
 * each other's containers. `paths` is each runtime's program, for `docker info`.
 */
export async function createRuntimes(
  host: Host,
  execRoot: string,
  defaultName: string,
  monitor: 'conmon' | 'berth' = 'berth',
  added: readonly RuntimeEntry[] = [],
): Promise<{ runtimes: Runtimes<RuncRuntime>; paths: Map<string, string> }> {
  const entries = new Map<string, RuntimeEntry>();
  for (const e of [...(await builtinRuntimes(host)), ...added]) entries.set(e.name, e);
  const main = entries.get(defaultName) ?? entryFor(defaultName);
  const byName = new Map([[defaultName, await createRuntime(host, execRoot, main, monitor)]]);
  const paths = new Map([[defaultName, main.path]]);
  for (const offered of [entryFor('crun'), entryFor('runc'), ...entries.values()]) {
    const e = entries.get(offered.name) ?? offered;
    if (byName.has(e.name) || (e === offered && e.name === 'crun' && defaultRuntimeName() !== 'crun')) continue;
    // A runtime that is not installed is simply not offered (init finds its programs or throws).
    const rt = await createRuntime(host, join(execRoot, 'runtimes', e.name), e, monitor).catch(() => undefined);
    if (rt) {
      byName.set(e.name, rt);
      paths.set(e.name, e.path);
    }
  }
  return { runtimes: new Runtimes(byName, defaultName), paths };
}
