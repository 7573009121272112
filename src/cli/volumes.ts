/** `berth volume ...`: create, ls, inspect, rm, prune. */
import type { Volume } from '../client/index.ts';
import { compareVersions } from '../client/index.ts';
import { type Command, StatusError, describeError, parseFilterFlags, parseKeyValues } from './cli.ts';
import { byNaturalName, humanSize } from './format.ts';
import { printRows, rowContext, type Row } from './table.ts';
import { inspectCommand } from './inspect.ts';
import { TABLE_FORMAT_FLAG, filterFlag, pruneFlags } from './commonflags.ts';
import { confirmPrune, deletedList, reclaimedLine } from './prune.ts';

export function volumeContext(v: Volume): Row {
  const labels = v.Labels ?? {};
  const f = {
    Name: v.Name,
    Driver: v.Driver,
    Scope: v.Scope,
    Mountpoint: v.Mountpoint,
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    Links: v.UsageData && v.UsageData.RefCount >= 0 ? String(v.UsageData.RefCount) : 'N/A',
    Size: v.UsageData && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size, 4) : 'N/A',
    Group: 'N/A',
    Availability: 'N/A',
    Status: 'N/A',
    Label: (k: string) => labels[k] ?? '',
  };
  return rowContext(f, () => {
    const { Label: _l, ...rest } = f;
    void _l;
    return rest;
  });
}

const create: Command = {
  spec: {
    usage: '[OPTIONS] [VOLUME]',
    description: 'Create a volume',
    args: { max: 1 },
    flags: [
      { long: 'driver', short: 'd', type: 'string', default: 'local', help: 'Specify volume driver name' },
      { long: 'label', type: 'list', help: 'Set metadata for a volume' },
      { long: 'name', type: 'string', hidden: true },
      { long: 'opt', short: 'o', type: 'list', valueName: 'map', help: 'Set driver specific options' },
    ],
  },
  async run(cli, f, args) {
    if (args[0] && f.has('name') && f.str('name') !== args[0])
      throw new StatusError(
        1,
        `conflicting options: cannot specify a volume-name through both --name and as a positional arg`,
      );
    const v = await cli.client.volumeCreate({
      Name: args[0] ?? f.str('name'),
      Driver: f.str('driver'),
      DriverOpts: parseKeyValues(f.list('opt')),
      Labels: parseKeyValues(f.list('label')),
    });
    cli.out(`${v.Name}\n`);
  },
};

const ls: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'List volumes',
    aliases: ['berth volume ls', 'berth volume list'],
    args: { max: 0 },
    flags: [
      filterFlag('Provide filter values (e.g. "dangling=true")'),
      TABLE_FORMAT_FLAG,
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display volume names' },
    ],
  },
  async run(cli, f) {
    const res = await cli.client.volumeList(parseFilterFlags(f.list('filter')));
    const list = [...(res.Volumes ?? [])].sort(byNaturalName);
    printRows(cli, list.map(volumeContext), {
      format: f.str('format') ?? '',
      defaultTable: 'table {{.Driver}}\t{{.Name}}',
      headers: {
        Name: 'VOLUME NAME',
        Driver: 'DRIVER',
        Scope: 'SCOPE',
        Mountpoint: 'MOUNTPOINT',
        Labels: 'LABELS',
        Links: 'LINKS',
        Size: 'SIZE',
        Group: 'GROUP',
        Availability: 'AVAILABILITY',
        Status: 'STATUS',
      },
      quiet: '{{.Name}}',
      isQuiet: f.bool('quiet'),
    });
    for (const w of res.Warnings ?? []) cli.err(`${w}\n`);
  },
};

const rm: Command = {
  spec: {
    usage: '[OPTIONS] VOLUME [VOLUME...]',
    description: 'Remove one or more volumes',
    aliases: ['berth volume rm', 'berth volume remove'],
    args: { min: 1 },
    flags: [{ long: 'force', short: 'f', type: 'bool', help: 'Force the removal of one or more volumes' }],
  },
  async run(cli, f, args) {
    const errors: string[] = [];
    for (const name of args) {
      try {
        await cli.client.volumeRemove(name, f.bool('force'));
        cli.out(`${name}\n`);
      } catch (e) {
        errors.push(describeError(e));
      }
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};

const prune: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Remove unused local volumes',
    args: { max: 0 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Remove all unused volumes, not just anonymous ones' },
      ...pruneFlags('label=<label>'),
    ],
  },
  async run(cli, f) {
    const filters = parseFilterFlags(f.list('filter'));
    if (f.bool('all')) {
      const v = await cli.client.negotiate();
      if (compareVersions(v, '1.42') < 0)
        throw new StatusError(1, `"--all" requires API version 1.42, but the Berth daemon API version is ${v}`);
      filters.all = ['true'];
    }
    const warning = f.bool('all')
      ? 'WARNING! This will remove all local volumes not used by at least one container.'
      : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (!(await confirmPrune(cli, f, warning))) return 0;
    const r = await cli.client.volumePrune(filters);
    cli.out(deletedList('Deleted Volumes', r.VolumesDeleted) + reclaimedLine(r.SpaceReclaimed ?? 0));
  },
};

export const volumeGroup: Record<string, Command> = {
  create,
  ls,
  list: ls,
  inspect: inspectCommand('volume'),
  rm,
  remove: rm,
  prune,
};
