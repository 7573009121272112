/**
 * The OCI runtimes this daemon offers, each as the runc/conmon driver of `runtime/` (which
 * implements the services' runtime roles itself): the default (crun through the berth-crun
 * wrapper, or runc), the ones Berth brings when their programs are there — gVisor's `runsc`
 * and the micro-VM runtime `berth-vm` — and any a user adds with `--add-runtime name=path`,
 * as dockerd offers runc and what `--add-runtime` names.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Host } from '../host/index.ts';
import { RuncRuntime, RunscRuntime } from '../runtime/index.ts';
import { Runtimes } from '../services/containers/index.ts';
import type { RuntimeEntry } from './config.ts';

const BUILD = join(import.meta.dirname, '..', '..', 'build');
const CRUN_WRAPPER = join(BUILD, 'berth-crun');
const BERTH_VM = join(import.meta.dirname, '..', '..', 'bin', 'berth-vm');
const RUNSC = '/usr/bin/runsc';

/**
 * `--default-runtime`: `runc`, or `crun` (run through the berth-crun wrapper, which lets it work
 * on hybrid cgroup hosts), or a path to a runc-compatible runtime.
 */
export function runtimePath(name: string): string {
  if (name === 'crun') return CRUN_WRAPPER;
  return name;
}

/** The runtime when none was asked for: crun (and its wrapper) if installed, else runc. */
export function defaultRuntimeName(): string {
  return existsSync(CRUN_WRAPPER) && existsSync(process.env.BERTH_CRUN || '/usr/bin/crun') ? 'crun' : 'runc';
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

/**
 * The runtimes containers can ask for by name (`HostConfig.Runtime`), `defaultName` first: the
 * services take them as one set, each container runs on the one its record names. The default
 * keeps its state in `<execRoot>/runc` as before there were several; every other runtime in
 * `<execRoot>/runtimes/<name>`. `added` (from `--add-runtime`) wins over a built-in of its name.
 */
export async function createRuntimes(
  host: Host,
  execRoot: string,
  defaultName: string,
  added: readonly RuntimeEntry[] = [],
): Promise<{ runtimes: Runtimes<RuncRuntime>; paths: Map<string, string> }> {
  const entries = new Map<string, RuntimeEntry>();
  for (const e of [...(await builtinRuntimes(host)), ...added]) entries.set(e.name, e);
  const byName = new Map<string, RuncRuntime>();
  const paths = new Map<string, string>();
  const main = entries.get(defaultName) ?? { name: defaultName, path: runtimePath(defaultName), args: [] };
  byName.set(defaultName, new RuncRuntime({ host, root: execRoot, runtimePath: main.path, runtimeArgs: main.args }));
  paths.set(defaultName, main.path);
  for (const e of entries.values()) {
    if (e.name === defaultName) continue;
    const stateDir = join(execRoot, 'runtimes', e.name);
    // gVisor's state and signals are its own (see runtime/runsc.ts).
    const Driver = basename(e.path) === 'runsc' ? RunscRuntime : RuncRuntime;
    byName.set(e.name, new Driver({ host, root: execRoot, stateDir, runtimePath: e.path, runtimeArgs: e.args }));
    paths.set(e.name, e.path);
  }
  await Promise.all([...byName.values()].map((rt) => rt.init()));
  return { runtimes: new Runtimes(byName, defaultName), paths };
}
