/**
 * Disk use and clean-up across object types: `system df` (with -v), `system prune` and
 * `builder prune`, in the docker CLI's words and layout. Each prune calls the daemon's own
 * prune endpoint for its type, as the docker CLI does.
 */
import type { DiskUsage, Volume } from '../client/index.ts';
import { type Cli, type Command, parseFilterFlags } from './cli.ts';
import { ago, ellipsis, humanSize, shortId, table } from './format.ts';
import { containerContext } from './ps.ts';
import { printRows, rowContext, type Row } from './table.ts';
import { pruneFlags } from './commonflags.ts';
import { confirmPrune, deletedList, imageDeletions, reclaimedLine } from './prune.ts';

/** "1.2MB (40%)", docker's reclaimable column: the percentage only when there is a total. */
function reclaimable(amount: number, total: number): string {
  return total > 0 ? `${humanSize(amount, 4)} (${Math.floor((amount * 100) / total)}%)` : humanSize(amount, 4);
}

/** The four summary rows of `system df`, computed as the docker CLI computes them. */
export function diskUsageRows(du: DiskUsage): Row[] {
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];
  const layers = du.LayersSize ?? 0;
  const usedByImages = images
    .filter((i) => i.Containers > 0 && i.SharedSize >= 0)
    .reduce((n, i) => n + i.Size - i.SharedSize, 0);
  const containersSize = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const idleContainers = containers.filter((c) => c.State !== 'running').reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volumeSize = (v: Volume) => Math.max(v.UsageData?.Size ?? 0, 0);
  const volumesSize = volumes.reduce((n, v) => n + volumeSize(v), 0);
  const idleVolumes = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + volumeSize(v), 0);
  const cacheSize = cache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
  const idleCache = cache.filter((b) => !b.InUse && !b.Shared).reduce((n, b) => n + b.Size, 0);
  const row = (Type: string, TotalCount: number, Active: number, size: number, Reclaimable: string) => {
    const f = { Type, TotalCount: String(TotalCount), Active: String(Active), Size: humanSize(size, 4), Reclaimable };
    return rowContext(f, () => ({ ...f }));
  };
  return [
    row(
      'Images',
      images.length,
      images.filter((i) => i.Containers > 0).length,
      layers,
      reclaimable(layers - usedByImages, layers),
    ),
    row(
      'Containers',
      containers.length,
      containers.filter((c) => c.State === 'running').length,
      containersSize,
      reclaimable(idleContainers, containersSize),
    ),
    row(
      'Local Volumes',
      volumes.length,
      volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length,
      volumesSize,
      reclaimable(idleVolumes, volumesSize),
    ),
    row('Build Cache', cache.length, cache.filter((b) => b.InUse).length, cacheSize, humanSize(idleCache, 4)),
  ];
}

/** `system df -v`: one table per type. */
export function diskUsageVerbose(du: DiskUsage, now = Date.now()): string {
  let s = 'Images space usage:\n\n';
  const imageRows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS']];
  for (const i of du.Images ?? []) {
    const [repo, tag] = splitRepoTag(i.RepoTags?.[0]);
    const shared = Math.max(i.SharedSize, 0);
    imageRows.push([
      repo,
      tag,
      shortId(i.Id),
      ago(i.Created, now),
      humanSize(i.Size, 3),
      humanSize(shared, 4),
      humanSize(i.Size - shared, 4),
      String(i.Containers),
    ]);
  }
  s += table(imageRows);
  s += '\nContainers space usage:\n\n';
  const containerRows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES']];
  for (const c of du.Containers ?? []) {
    const ctx = containerContext(c, true, now) as Record<string, unknown>;
    const localVolumes = (c.Mounts ?? []).filter((m) => m.Type === 'volume').length;
    containerRows.push([
      String(ctx.ID),
      String(ctx.Image),
      String(ctx.Command),
      String(localVolumes),
      humanSize(c.SizeRw ?? 0, 4),
      String(ctx.RunningFor),
      String(ctx.Status),
      String(ctx.Names),
    ]);
  }
  s += table(containerRows);
  s += '\nLocal Volumes space usage:\n\n';
  const volumeRows = [['VOLUME NAME', 'LINKS', 'SIZE']];
  for (const v of du.Volumes ?? [])
    volumeRows.push([v.Name, String(v.UsageData?.RefCount ?? 0), humanSize(Math.max(v.UsageData?.Size ?? 0, 0), 4)]);
  s += table(volumeRows);
  const cache = du.BuildCache ?? [];
  s += `\nBuild cache usage: ${humanSize(
    cache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0),
    4,
  )}\n\n`;
  const cacheRows = [['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED']];
  const unix = (t?: string | null) => (t ? Date.parse(t) / 1000 : NaN);
  for (const b of cache) {
    cacheRows.push([
      ellipsis(b.ID, 12),
      b.Type ?? '',
      humanSize(b.Size, 4),
      Number.isNaN(unix(b.CreatedAt)) ? '' : ago(unix(b.CreatedAt), now),
      Number.isNaN(unix(b.LastUsedAt)) ? '' : ago(unix(b.LastUsedAt), now),
      String(b.UsageCount ?? 0),
      String(!!b.Shared),
    ]);
  }
  s += table(cacheRows);
  return s;
}

function splitRepoTag(repoTag: string | undefined): [string, string] {
  if (!repoTag || repoTag === '<none>:<none>') return ['<none>', '<none>'];
  const i = repoTag.lastIndexOf(':');
  return i > repoTag.lastIndexOf('/') ? [repoTag.slice(0, i), repoTag.slice(i + 1)] : [repoTag, '<none>'];
}

const df: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Show docker disk usage',
    args: { max: 0 },
    flags: [
      {
        long: 'format',
        type: 'string',
        help: "Format output using a custom template:\n'table': Print output in table format with column headers (default)\n'table TEMPLATE': Print output in table format using the given Go template\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template.",
      },
      { long: 'verbose', short: 'v', type: 'bool', help: 'Show detailed information on space usage' },
    ],
  },
  async run(cli, f) {
    const du = await cli.client.systemDf();
    if (f.bool('verbose') && !f.str('format')) {
      cli.out(diskUsageVerbose(du));
      return;
    }
    printRows(cli, diskUsageRows(du), {
      format: f.str('format') ?? '',
      defaultTable: 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
      headers: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
    });
  },
};

/** The sections a prune prints: "Deleted Containers:" and its IDs, a blank line after each. */
async function pruneBuildCache(
  cli: Cli,
  all: boolean,
  filters: Record<string, string[]>,
): Promise<{ text: string; reclaimed: number }> {
  const r = await cli.client.buildPrune({ all, filters });
  return { text: deletedList('Deleted build cache objects', r.CachesDeleted), reclaimed: r.SpaceReclaimed ?? 0 };
}

const systemPrune: Command = {
  spec: {
    usage: '[OPTIONS]',
    description: 'Remove unused data',
    args: { max: 0 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Remove all unused images not just dangling ones' },
      ...pruneFlags('label=<key>=<value>'),
      { long: 'volumes', type: 'bool', help: 'Prune anonymous volumes' },
    ],
  },
  async run(cli, f) {
    const all = f.bool('all');
    const volumes = f.bool('volumes');
    const warning = `WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n${volumes ? '  - all anonymous volumes not used by at least one container\n' : ''}${all ? '  - all images without at least one container associated to them\n  - all build cache\n' : '  - all dangling images\n  - unused build cache\n'}`;
    if (!(await confirmPrune(cli, f, warning))) return 0;
    const filters = parseFilterFlags(f.list('filter'));
    let out = '';
    let reclaimed = 0;
    const containers = await cli.client.containerPrune(filters);
    out += deletedList('Deleted Containers', containers.ContainersDeleted);
    reclaimed += containers.SpaceReclaimed ?? 0;
    const networks = await cli.client.networkPrune(filters);
    out += deletedList('Deleted Networks', networks.NetworksDeleted);
    if (volumes) {
      const v = await cli.client.volumePrune(filters);
      out += deletedList('Deleted Volumes', v.VolumesDeleted);
      reclaimed += v.SpaceReclaimed ?? 0;
    }
    const images = await cli.client.imagePrune({ ...filters, dangling: [all ? 'false' : 'true'] });
    out += deletedList('Deleted Images', imageDeletions(images.ImagesDeleted));
    reclaimed += images.SpaceReclaimed ?? 0;
    const cache = await pruneBuildCache(cli, all, filters);
    out += cache.text;
    reclaimed += cache.reclaimed;
    cli.out(out + reclaimedLine(reclaimed));
  },
};

const builderPrune: Command = {
  spec: {
    usage: '',
    description: 'Remove build cache',
    args: { max: 0 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', help: 'Remove all unused build cache, not just dangling ones' },
      ...pruneFlags('until=24h'),
    ],
  },
  async run(cli, f) {
    const what = f.bool('all') ? 'all build cache' : 'all dangling build cache';
    if (!(await confirmPrune(cli, f, `WARNING! This will remove ${what}.`, true))) return 0;
    const r = await pruneBuildCache(cli, f.bool('all'), parseFilterFlags(f.list('filter')));
    cli.out(r.text + reclaimedLine(r.reclaimed));
  },
};

export const systemDiskCommands: Record<string, Command> = { df, prune: systemPrune };
export const builderCommands: Record<string, Command> = { prune: builderPrune };
