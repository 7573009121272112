/**
 * The `berth pod` commands that act on pods by name or on all of them — start, stop, restart,
 * kill, pause, unpause, rm — as Podman 4.3's: every name (and every ID a `--pod-id-file`
 * holds) is looked up before any pod is acted on, so a missing one fails the command with
 * nothing done (`--ignore` skips it instead, and so does `rm --force`, as `docker rm -f`
 * does); `--all` and names exclude each other; each pod's full ID is printed when its action
 * succeeds, each failure as `Error: ...`, and the command exits 125 (`pod rm` of a missing pod
 * 1, Podman's code for "no such pod" there).
 */
import { isNotFound } from '../client/index.ts';
import { type Cli, type Command, StatusError, describeError } from './cli.ts';
import type { Flags } from './flags.ts';

/** The daemon's message without the docker CLI's prefix: Podman prints `Error: <message>`. */
export function podError(e: unknown): string {
  return describeError(e).replace(/^Error response from daemon: /, '');
}

const ALL = (what: string) => ({ long: 'all', short: 'a', type: 'bool', help: what }) as const;
const IGNORE = {
  long: 'ignore',
  short: 'i',
  type: 'bool',
  help: 'Ignore errors when a specified pod is missing',
} as const;
const ID_FILE = { long: 'pod-id-file', type: 'list', help: 'Read the pod ID from the file' } as const;
const TIME = {
  long: 'time',
  short: 't',
  type: 'int',
  help: 'Seconds to wait for pod stop before killing the container',
} as const;

interface Target {
  Id: string;
  Name: string;
}

/** `--time` as Podman's uint flag: negative values are refused by the flag's parser there. */
function seconds(f: Flags): number | undefined {
  const t = f.int('time');
  if (t !== undefined && t < 0)
    throw new StatusError(
      125,
      `Error: invalid argument "${t}" for "-t, --time" flag: strconv.ParseUint: parsing "${t}": invalid syntax`,
    );
  return t;
}

async function idFiles(f: Flags, has: boolean): Promise<string[]> {
  if (!has) return [];
  const { readFile } = await import('node:fs/promises');
  const ids: string[] = [];
  for (const file of f.list('pod-id-file')) {
    try {
      const id = (await readFile(file, 'utf8')).trim().split('\n')[0]!.trim();
      if (id) ids.push(id);
    } catch (e) {
      throw new StatusError(125, `Error: reading pod ID file: ${(e as Error).message}`);
    }
  }
  return ids;
}

/** The pods named (or all of them), each looked up once before any is acted on. */
async function targets(
  cli: Cli,
  f: Flags,
  args: string[],
  o: { ignore: boolean; missingExit: number; idFile: boolean },
): Promise<Target[]> {
  const names = [...args, ...(await idFiles(f, o.idFile))];
  const all = f.bool('all');
  if (all && names.length) throw new StatusError(125, 'Error: no arguments are needed with --all');
  if (!all && !names.length) throw new StatusError(125, 'Error: you must provide at least one name or id');
  if (all) return (await cli.client.podList()).map((p) => ({ Id: p.Id, Name: p.Name }));
  const out: Target[] = [];
  for (const name of names) {
    try {
      const p = await cli.client.podInspect(name);
      if (!out.some((t) => t.Id === p.Id)) out.push({ Id: p.Id, Name: p.Name });
    } catch (e) {
      if (isNotFound(e) && o.ignore) continue;
      throw new StatusError(isNotFound(e) ? o.missingExit : 125, `Error: ${podError(e)}`);
    }
  }
  return out;
}

/** Runs `fn` on each pod in turn: its ID printed, or its error; 125 when any failed. */
async function eachPod(cli: Cli, pods: Target[], fn: (p: Target) => Promise<void>): Promise<number> {
  let failed = false;
  for (const p of pods) {
    try {
      await fn(p);
      cli.out(`${p.Id}\n`);
    } catch (e) {
      failed = true;
      cli.err(`Error: ${podError(e)}\n`);
    }
  }
  return failed ? 125 : 0;
}

type Verb = 'start' | 'stop' | 'restart' | 'kill' | 'pause' | 'unpause';

/** start, stop, restart, kill, pause, unpause over Libpod's `POST /libpod/pods/{name}/<verb>`. */
function action(
  verb: Verb,
  description: string,
  flags: Command['spec']['flags'],
  query: (f: Flags) => Record<string, string | number | undefined> = () => ({}),
): Command {
  const ignore = flags.some((d) => d.long === 'ignore');
  const idFile = flags.some((d) => d.long === 'pod-id-file');
  return {
    spec: { usage: '[OPTIONS] POD [POD...]', description, aliases: [`berth pod ${verb}`], flags },
    async run(cli, f, args) {
      const q = query(f);
      const pods = await targets(cli, f, args, { ignore: ignore && f.bool('ignore'), missingExit: 125, idFile });
      return eachPod(cli, pods, async (p) => {
        const r = await cli.client.podAction(p.Id, verb, q);
        if (r?.Errs?.length) throw new Error(r.Errs.join('\n'));
      });
    },
  };
}

const remove: Command = {
  spec: {
    usage: '[OPTIONS] POD [POD...]',
    description: 'Remove one or more pods',
    aliases: ['berth pod rm'],
    flags: [
      ALL('Remove all running pods'),
      {
        long: 'force',
        short: 'f',
        type: 'bool',
        help: 'Force removal of a running pod by first stopping all containers, then removing all containers in the pod',
      },
      IGNORE,
      ID_FILE,
      TIME,
    ],
  },
  async run(cli, f, args) {
    const force = f.bool('force');
    // Without -t, -f kills the running containers (docker rm -f's way); with it, each gets
    // that long to stop first, as `pod stop -t` gives it.
    if (f.has('time') && !force)
      throw new StatusError(125, 'Error: --force option must be specified to use the --time option');
    const timeout = seconds(f);
    const pods = await targets(cli, f, args, { ignore: f.bool('ignore') || force, missingExit: 1, idFile: true });
    return eachPod(cli, pods, async (p) => {
      try {
        await cli.client.podRemove(p.Id, force, timeout);
      } catch (e) {
        // Gone between the lookup and the removal (another rm): what -f and -i ask for anyway.
        if (!(isNotFound(e) && (force || f.bool('ignore')))) throw e;
      }
    });
  },
};

export const podOps: Record<string, Command> = {
  start: action('start', 'Start one or more pods', [ALL('Start all pods'), ID_FILE]),
  stop: action('stop', 'Stop one or more pods', [ALL('Stop all running pods'), IGNORE, ID_FILE, TIME], (f) => ({
    t: seconds(f),
  })),
  restart: action('restart', 'Restart one or more pods', [ALL('Restart all running pods')]),
  kill: action(
    'kill',
    'Send the specified signal or SIGKILL to containers in pod',
    [
      ALL('Kill all containers in all pods'),
      {
        long: 'signal',
        short: 's',
        type: 'string',
        default: 'KILL',
        help: 'Signal to send to the containers in the pod',
      },
    ],
    (f) => ({ signal: f.str('signal') }),
  ),
  pause: action('pause', 'Pause one or more pods', [ALL('Pause all running pods')]),
  unpause: action('unpause', 'Unpause one or more pods', [ALL('Unpause all running pods')]),
  rm: remove,
};
