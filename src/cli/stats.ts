/** `berth stats`: containers' resource usage, streamed or once (`--no-stream`). */
import { statsRow, statsText, type StatsRow } from '../client/index.ts';
import { type Command, StatusError, describeError } from './cli.ts';
import { shortId } from './format.ts';
import { printRows, rowContext, type Row } from './table.ts';
import { TABLE_FORMAT_FLAG } from './commonflags.ts';

export function statsContext(r: StatsRow, trunc: boolean): Row {
  const t = statsText(r);
  const f = {
    Container: r.name || (trunc ? shortId(r.id) : r.id),
    ID: trunc ? shortId(r.id) : r.id,
    Name: r.name || '--',
    CPUPerc: t.cpu,
    MemUsage: t.mem,
    MemPerc: t.memPct,
    NetIO: t.net,
    BlockIO: t.block,
    PIDs: t.pids,
  };
  return rowContext(f, () => ({ ...f }));
}

export const stats: Command = {
  spec: {
    usage: '[OPTIONS] [CONTAINER...]',
    description: 'Display a live stream of container(s) resource usage statistics',
    aliases: ['berth container stats', 'berth stats'],
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Show all containers (default shows just running)' },
      TABLE_FORMAT_FLAG,
      { long: 'no-stream', type: 'bool', help: 'Disable streaming stats and only pull the first result' },
      { long: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    ],
  },
  async run(cli, f, args) {
    const c = cli.client;
    const trunc = !f.bool('no-trunc');
    const targets = async (): Promise<string[]> => {
      if (args.length) return args;
      return (await c.containerList({ all: f.bool('all') })).map((x) => x.Id);
    };
    const sample = async (): Promise<{ rows: Row[]; errors: string[] }> => {
      const ids = await targets();
      const errors: string[] = [];
      const rows = await Promise.all(
        ids.map(async (id) => {
          try {
            return statsContext(statsRow(id, await c.containerStats(id)), trunc);
          } catch (e) {
            errors.push(describeError(e));
            return undefined;
          }
        }),
      );
      return { rows: rows.filter((r): r is Row => !!r), errors };
    };
    const spec = {
      format: f.str('format') ?? '',
      defaultTable:
        'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}',
      headers: {
        Container: 'CONTAINER',
        ID: 'CONTAINER ID',
        Name: 'NAME',
        CPUPerc: 'CPU %',
        MemUsage: 'MEM USAGE / LIMIT',
        MemPerc: 'MEM %',
        NetIO: 'NET I/O',
        BlockIO: 'BLOCK I/O',
        PIDs: 'PIDS',
      },
    };
    if (f.bool('no-stream')) {
      const { rows, errors } = await sample();
      if (errors.length && args.length) throw new StatusError(1, errors.join('\n'));
      printRows(cli, rows, spec);
      return;
    }
    for (;;) {
      const { rows } = await sample();
      if (cli.outIsTTY) cli.out('\x1b[2J\x1b[H');
      printRows(cli, rows, spec);
      await new Promise((r) => setTimeout(r, 500));
    }
  },
};
