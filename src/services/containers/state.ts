/**
 * A container's state as Docker reports it (`State`, shaped by `api/types`): its transitions, the
 * STATUS text, and the guards that say which operations a state allows. The runtime driver knows nothing of these rules: they live here.
 */
import { conflict } from '../../errdefs/index.ts';
import { humanDuration } from '../../spec/index.ts';
import type { ContainerState } from '../../api/types/index.ts';

export { humanDuration };

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

export function running(s: ContainerState, pid: number, at: Date): ContainerState {
  return {
    ...s,
    Status: 'running',
    Running: true,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: pid,
    ExitCode: 0,
    Error: '',
    StartedAt: at.toISOString(),
  };
}

export function exited(s: ContainerState, code: number, at: Date, oomKilled: boolean, error = ''): ContainerState {
  return {
    ...s,
    Status: 'exited',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: oomKilled,
    Pid: 0,
    ExitCode: code,
    Error: error,
    FinishedAt: at.toISOString(),
  };
}

/**
 * A start that failed before the process ran: dockerd keeps the status it had (a created
 * container stays created, an exited one exited, FinishedAt untouched) with the start's exit
 * code (127, 126 or 128) and its error.
 */
export function failedStart(s: ContainerState, code: number, error: string): ContainerState {
  const status = s.Status === 'created' ? 'created' : 'exited';
  return {
    ...s,
    Status: status,
    Running: false,
    Paused: false,
    Restarting: false,
    Pid: 0,
    ExitCode: code,
    Error: error,
  };
}

/** Exited, with a restart policy restart to come: Docker counts it as running meanwhile. */
export function restarting(s: ContainerState, code: number, at: Date, oomKilled: boolean): ContainerState {
  return { ...exited(s, code, at, oomKilled), Status: 'restarting', Running: true, Restarting: true };
}

/** The STATUS column of `docker ps`. */
export function statusText(s: ContainerState, now = Date.now(), health?: string): string {
  switch (s.Status) {
    case 'running': {
      const up = `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
      return health ? `${up} (${health})` : up;
    }
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(s.StartedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'exited':
      if (s.FinishedAt === ZERO_TIME) return 'Created';
      return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    default:
      return 'Created';
  }
}

/** Guards: each throws Docker's error when the state forbids the operation. */
export const guard = {
  start(name: string, s: ContainerState): void {
    if (s.Status === 'paused') throw conflict(`cannot start a paused container, try unpause instead`);
    if (s.Status === 'removing') throw conflict(`container "${name}" is marked for removal and cannot be started`);
    if (s.Status === 'dead') throw conflict(`container "${name}" is marked for removal and cannot be started`);
  },
  remove(name: string, s: ContainerState, force: boolean): void {
    if (s.Status === 'removing') throw conflict(`removal of container ${name} is already in progress`);
    if (force) return;
    if (s.Status === 'paused')
      throw conflict(`cannot remove container "/${name}": container is paused and must be unpaused first`);
    if (s.Running || s.Status === 'restarting') {
      throw conflict(
        `cannot remove container "/${name}": container is ${s.Status}: stop the container before removing or force remove`,
      );
    }
  },
  kill(id: string, s: ContainerState): void {
    if (!s.Running) throw conflict(`Container ${id} is not running`);
  },
  pause(id: string, s: ContainerState): void {
    if (!s.Running) throw conflict(`Container ${id} is not running`);
    if (s.Paused) throw conflict(`Container ${id} is already paused`);
    if (s.Restarting) throw conflict(`Container ${id} is restarting, wait until the container is running`);
  },
  unpause(id: string, s: ContainerState): void {
    if (!s.Paused) throw conflict(`Container ${id} is not paused`);
  },
  /** `docker top`: the processes of a running container; a restarting one has none to show. */
  top(id: string, s: ContainerState): void {
    if (!s.Running) throw conflict(`container ${id} is not running`);
    if (s.Restarting) throw conflict(`Container ${id} is restarting, wait until the container is running`);
  },
  exec(id: string, s: ContainerState): void {
    if (s.Paused) throw conflict(`Container ${id} is paused, unpause the container before exec`);
    if (s.Restarting) throw conflict(`Container ${id} is restarting, wait until the container is running`);
    if (!s.Running) throw conflict(`container ${id} is not running`);
  },
};

/**
 * A runtime's refusal to create a task, as moby 24+ answers it through containerd's shim
 * (`failed to create task for container: failed to create shim task: OCI runtime create failed:
 * runc create failed: unable to start container process: exec: "x": …: unknown`): what users
 * search for and scripts match; the docker CLI takes its exit code (127, 126) from runc's words.
 */
export function runtimeCreateError(msg: string): string {
  const cause = /^exec: "/.test(msg) ? `runc create failed: unable to start container process: ${msg}` : msg;
  const error = `failed to create task for container: failed to create shim task: OCI runtime create failed: ${cause}: unknown`;
  // dockerd's hint for a mount of a file over a directory or the reverse (runc says ENOTDIR in
  // lower case, crun capitalised): the runtime's words alone do not name the likely mistake.
  return /not a directory/i.test(cause) ? `${error}: ${NOT_A_DIRECTORY_HINT}` : error;
}

const NOT_A_DIRECTORY_HINT =
  'Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';
