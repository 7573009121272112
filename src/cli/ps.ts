/**
 * `berth ps` (`container ls`): the container list, its columns and its templates. The row
 * context is shared with `system df -v` (diskusage.ts).
 */
import type { ContainerSummary } from '../client/index.ts';
// Ports are computed in client/ so that the dashboard (ui/) shows what ps prints.
import { displayablePorts } from '../client/index.ts';
import { parseReference, familiarString } from '../spec/index.ts';
import { type Command, parseFilterFlags } from './cli.ts';
import { ago, ellipsis, goQuote, goTimeString, humanSize, shortId } from './format.ts';
import { printRows, rowContext, type Row } from './table.ts';
import { TABLE_FORMAT_FLAG, filterFlag } from './commonflags.ts';

function psImage(c: ContainerSummary, trunc: boolean): string {
  if (!c.Image) return '<no image>';
  if (!trunc) return c.Image;
  if (c.ImageID && shortId(c.ImageID) === shortId(c.Image)) return shortId(c.Image);
  try {
    const r = parseReference(c.Image);
    if (r.digest && r.tag === undefined) return familiarString({ ...r, digest: undefined, tag: undefined });
    if (r.digest) return familiarString({ ...r, digest: undefined });
    const hadTag = /:[^/]+$/.test(c.Image.split('@')[0]!);
    return hadTag ? familiarString(r) : familiarString({ ...r, tag: undefined });
  } catch {
    return c.Image;
  }
}

export function containerContext(c: ContainerSummary, trunc: boolean, now = Date.now()): Row {
  const names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  let shown = names;
  if (trunc) {
    const plain = names.find((n) => !n.includes('/'));
    if (plain !== undefined) shown = [plain];
  }
  const labels = c.Labels ?? {};
  const mounts = (c.Mounts ?? []).map((m) => {
    const name = m.Name ? m.Name : m.Source;
    return trunc ? ellipsis(name, 15) : name;
  });
  const networks = Object.keys(c.NetworkSettings?.Networks ?? {}).sort();
  const size =
    c.SizeRootFs && c.SizeRootFs > 0
      ? `${humanSize(c.SizeRw ?? 0, 3)} (virtual ${humanSize(c.SizeRootFs, 3)})`
      : humanSize(c.SizeRw ?? 0, 3);
  const f = {
    ID: trunc ? shortId(c.Id) : c.Id,
    Image: psImage(c, trunc),
    Command: goQuote(trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
    CreatedAt: goTimeString(c.Created),
    RunningFor: ago(c.Created, now),
    Ports: displayablePorts(c.Ports),
    State: c.State,
    Status: c.Status,
    Size: size,
    Names: shown.join(','),
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    Mounts: mounts.join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Networks: networks.join(','),
    Label: (name: string) => labels[name] ?? '',
  };
  return rowContext(f, () => {
    const { Label: _l, ...rest } = f;
    void _l;
    return { ...rest, Platform: null };
  });
}

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
};

export const ps: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'List containers',
    aliases: ['berth container ls', 'berth container list', 'berth container ps', 'berth ps'],
    args: { max: 0 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Show all containers (default shows just running)' },
      filterFlag(),
      TABLE_FORMAT_FLAG,
      {
        long: 'last',
        short: 'n',
        type: 'int',
        default: -1,
        help: 'Show n last created containers (includes all states)',
      },
      { long: 'latest', short: 'l', type: 'bool', help: 'Show the latest created container (includes all states)' },
      { long: 'no-trunc', type: 'bool', help: "Don't truncate output" },
      { long: 'quiet', short: 'q', type: 'bool', help: 'Only display container IDs' },
      { long: 'size', short: 's', type: 'bool', help: 'Display total file sizes' },
    ],
  },
  async run(cli, f) {
    let last = f.int('last') ?? -1;
    if (f.bool('latest') && last === -1) last = 1;
    const format = f.str('format') ?? '';
    const size = f.bool('size') || (!f.bool('quiet') && /\.Size\b/.test(format));
    const list = await cli.client.containerList({
      all: f.bool('all'),
      limit: last > 0 ? last : undefined,
      size,
      filters: parseFilterFlags(f.list('filter')),
    });
    const trunc = !f.bool('no-trunc');
    const now = Date.now();
    printRows(
      cli,
      list.map((c) => containerContext(c, trunc, now)),
      {
        format,
        defaultTable: `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${f.bool('size') ? '\t{{.Size}}' : ''}`,
        headers: PS_HEADERS,
        quiet: '{{.ID}}',
        isQuiet: f.bool('quiet'),
      },
    );
  },
};
