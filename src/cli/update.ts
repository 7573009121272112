/** `update`: new resource limits and restart policy for containers, with docker's flags. */
import { type Command, StatusError, forEach } from './cli.ts';
import { badValue, parseBytes, parseRestart } from './flagvalues.ts';
import { RUN_FLAGS } from './runflags.ts';
import type { FlagDef } from './flags.ts';

/** docker update's flags: those of run for the same settings, and the CFS pair run lacks here. */
const SHARED = ['cpus', 'cpu-shares', 'cpuset-cpus', 'memory', 'memory-reservation', 'memory-swap', 'pids-limit'];
const FLAGS: FlagDef[] = [
  ...SHARED.map((name) => RUN_FLAGS.find((f) => f.long === name)!),
  { long: 'cpu-period', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { long: 'cpu-quota', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { long: 'cpuset-mems', type: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
  // No default here: an update leaves the policy alone unless asked.
  { long: 'restart', type: 'string', help: 'Restart policy to apply when a container exits' },
];

export const update: Command = {
  spec: {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Update configuration of one or more containers',
    aliases: ['berth container update', 'berth update'],
    args: { min: 1 },
    flags: FLAGS,
  },
  async run(cli, f, args) {
    if (!FLAGS.some((fl) => f.has(fl.long)))
      throw new StatusError(1, 'you must provide one or more flags when using this command');
    const bytes = (name: string, label: string) => {
      const v = f.str(name);
      if (v === undefined || v === '') return undefined;
      if (v === '-1' && name === 'memory-swap') return -1;
      try {
        return parseBytes(v);
      } catch (e) {
        throw badValue(v, label, (e as Error).message);
      }
    };
    let nanoCpus: number | undefined;
    const cpus = f.str('cpus');
    if (cpus !== undefined) {
      if (!/^\d*\.?\d+$/.test(cpus)) throw badValue(cpus, '--cpus', `failed to parse ${cpus} as a rational number`);
      nanoCpus = Math.round(Number(cpus) * 1e9);
    }
    const restart = f.has('restart') ? f.str('restart') : undefined;
    const body = {
      Memory: bytes('memory', '-m, --memory'),
      MemoryReservation: bytes('memory-reservation', '--memory-reservation'),
      MemorySwap: bytes('memory-swap', '--memory-swap'),
      NanoCpus: nanoCpus,
      CpuShares: f.int('cpu-shares'),
      CpuPeriod: f.int('cpu-period'),
      CpuQuota: f.int('cpu-quota'),
      CpusetCpus: f.str('cpuset-cpus'),
      CpusetMems: f.str('cpuset-mems'),
      PidsLimit: f.has('pids-limit') ? f.int('pids-limit') : undefined,
      RestartPolicy: restart !== undefined ? parseRestart(restart) : undefined,
    };
    return forEach(cli, args, async (id) => void (await cli.client.containerUpdate(id, body)));
  },
};
