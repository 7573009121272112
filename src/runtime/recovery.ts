/**
 * What the driver knows of a container from disk alone, for a daemon that restarts: the exit
 * the monitor recorded while nobody watched (and whether the kernel's OOM killer caused it),
 * the runtime's state where its file is one this version cannot read, and the inventory a
 * restarted daemon takes of every container the runtime still holds. The driver (runc.ts, and
 * runsc.ts through it) passes what it reads; nothing here keeps state.
 *
 * @example
 *   const found = await recoverContainers(await rt.list(), {
 *     state: (id) => rt.state(id), monitorAlive: (id) => rt.monitorAlive(id), readExit: (id) => rt.readExit(id),
 *     track: (id) => tracked.add(id) });
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../host/index.ts';
import { readExitFile } from './exits.ts';
import { wasOomKilled } from './monitor.ts';
import type { Exit } from './roles.ts';
import type { ContainerStatus, RuncStateFile } from './state.ts';

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** The container's init process on the host (gone once `stopped`). */
  pid: number;
  bundle: string;
  created?: Date;
}

/** A container found on disk by `recover()` (after a daemon restart). */
export interface RecoveredContainer extends ContainerState {
  /** Is its conmon still there? A live container whose monitor died has nobody to record its exit. */
  monitorAlive: boolean;
  /** The exit recorded while nobody watched, if the process has ended. */
  exit?: Omit<Exit, 'id'>;
}

/**
 * The exit the monitor recorded in `exitFile`, with whether it was the OOM killer's (asked only
 * when there is an exit); undefined while the process runs.
 */
export async function recordedExit(
  exitFile: string,
  oomKilled: () => Promise<boolean>,
): Promise<Omit<Exit, 'id'> | undefined> {
  const e = await readExitFile(exitFile);
  return e && { ...e, oomKilled: await oomKilled() };
}

/** Did the OOM killer end the container of `bundle` and state `s`? */
export async function oomKilledIn(bundle: string | undefined, s: RuncStateFile | undefined): Promise<boolean> {
  // conmon marks an OOM event it saw with an `oom` file in its working directory, the bundle.
  // One stat on the event loop: this is on the way from an exit to its waiters (see readExitFile).
  if (bundle && existsSync(join(bundle, 'oom'))) return true;
  const memory = s?.cgroupPaths.memory ?? s?.cgroupPaths[''];
  return memory ? wasOomKilled(memory) : false;
}

/** `<runtime> state`, for a state file this version does not understand; undefined when the runtime does not know `id`. */
export async function stateFromRuntime(
  runtime: (...args: string[]) => Promise<RunResult>,
  id: string,
): Promise<ContainerState | undefined> {
  const r = await runtime('state', id);
  if (r.code !== 0) return undefined;
  const j = JSON.parse(r.stdout) as { status: ContainerStatus; pid: number; bundle: string; created?: string };
  return { id, status: j.status, pid: j.pid, bundle: j.bundle, created: j.created ? new Date(j.created) : undefined };
}

/** How `recoverContainers` asks the driver about one container. */
export interface RecoveryProbe {
  state(id: string): Promise<ContainerState | undefined>;
  monitorAlive(id: string): Promise<boolean>;
  readExit(id: string): Promise<Omit<Exit, 'id'> | undefined>;
  /** The driver reports this container's exit from now on, even after the runtime forgot it. */
  track(id: string): void;
}

/**
 * After a daemon restart: each of `ids` the runtime still has a state for, with its status,
 * whether its monitor lives, and the exit recorded while nobody watched.
 */
export async function recoverContainers(ids: readonly string[], probe: RecoveryProbe): Promise<RecoveredContainer[]> {
  const found = await Promise.all(
    ids.map(async (id): Promise<RecoveredContainer | undefined> => {
      const st = await probe.state(id).catch(() => undefined);
      if (!st) return undefined;
      probe.track(id);
      const [monitorAlive, exit] = await Promise.all([probe.monitorAlive(id), probe.readExit(id)]);
      return { ...st, monitorAlive, ...(exit ? { exit } : {}) };
    }),
  );
  return found.filter((c): c is RecoveredContainer => !!c);
}
