/**
 * What the pages show, made from Engine API answers on the server: the rows of each list and
 * the figures of the overview and of live stats, formatted as the `berth`/`docker` CLI prints
 * them (sizes, "2 hours ago", PORTS, CPU %) with the same helpers, so the page's scripts only
 * lay out text and never compute it.
 */
import type {
  ContainerSummary,
  DiskUsage,
  ImageSummary,
  Network,
  StatsResponse,
  StreamedEvent,
  SystemVersion,
  Volume,
} from '../client/index.ts';
import { displayablePorts, statsRow, statsText } from '../client/index.ts';
import { humanDuration, humanSize } from '../spec/index.ts';

/** `docker ps`'s CREATED column. */
export function ago(unixSeconds: number, now = Date.now()): string {
  return unixSeconds > 0 ? `${humanDuration(now - unixSeconds * 1000)} ago` : '';
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

export interface ContainerRow {
  id: string;
  shortId: string;
  name: string;
  image: string;
  command: string;
  state: string;
  status: string;
  ports: string;
  created: string;
  createdAt: string;
}

export function containerRow(c: ContainerSummary, now = Date.now()): ContainerRow {
  const names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  return {
    id: c.Id,
    shortId: short(c.Id),
    // the plain name, not a link alias (`/web/db`), as ps shows it
    name: names.find((n) => !n.includes('/')) ?? names[0] ?? short(c.Id),
    image: c.Image && c.ImageID && short(c.ImageID) === short(c.Image) ? short(c.Image) : c.Image || '<no image>',
    command: c.Command ?? '',
    state: c.State,
    status: c.Status,
    ports: displayablePorts(c.Ports),
    created: ago(c.Created, now),
    createdAt: new Date(c.Created * 1000).toISOString(),
  };
}

export interface ImageRow {
  id: string;
  shortId: string;
  /** What a removal names: the repo:tag of this row, or the ID for an untagged image. */
  ref: string;
  repository: string;
  tag: string;
  size: string;
  created: string;
  containers: number;
}

/**
 * `docker images`: one row per tag, `<none>` for untagged images. `containers` (when given)
 * counts who uses each image: the list's own `Containers` is -1 unless the daemon was asked to
 * compute it, and an image in use is what makes a removal fail.
 */
export function imageRows(list: ImageSummary[], now = Date.now(), containers?: ContainerSummary[]): ImageRow[] {
  const users = new Map<string, number>();
  for (const c of containers ?? []) users.set(c.ImageID, (users.get(c.ImageID) ?? 0) + 1);
  const rows: ImageRow[] = [];
  for (const i of list) {
    const base = {
      id: i.Id,
      shortId: short(i.Id),
      size: humanSize(i.Size, 3),
      created: ago(i.Created, now),
      containers: containers ? (users.get(i.Id) ?? 0) : i.Containers,
    };
    const tags = (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    if (!tags.length) {
      const repo = (i.RepoDigests ?? [])[0]?.split('@')[0] ?? '<none>';
      rows.push({ ...base, ref: i.Id, repository: repo, tag: '<none>' });
      continue;
    }
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      const slash = t.lastIndexOf('/');
      const [repository, tag] = colon > slash ? [t.slice(0, colon), t.slice(colon + 1)] : [t, '<none>'];
      rows.push({ ...base, ref: t, repository, tag });
    }
  }
  return rows;
}

export interface VolumeRow {
  name: string;
  driver: string;
  mountpoint: string;
  created: string;
  size: string;
}

export function volumeRow(v: Volume, now = Date.now()): VolumeRow {
  const created = v.CreatedAt ? Date.parse(v.CreatedAt) : NaN;
  const size = (v as { UsageData?: { Size?: number } }).UsageData?.Size;
  return {
    name: v.Name,
    driver: v.Driver,
    mountpoint: v.Mountpoint,
    created: Number.isFinite(created) ? ago(created / 1000, now) : '',
    size: size !== undefined && size >= 0 ? humanSize(size, 4) : 'N/A',
  };
}

export interface NetworkRow {
  id: string;
  shortId: string;
  name: string;
  driver: string;
  scope: string;
  subnet: string;
  containers: number;
  /** bridge, host and none are the daemon's own and cannot be removed. */
  builtin: boolean;
}

export function networkRow(n: Network): NetworkRow {
  const cfg = (n.IPAM?.Config ?? []) as { Subnet?: string }[];
  return {
    id: n.Id,
    shortId: short(n.Id),
    name: n.Name,
    driver: n.Driver,
    scope: n.Scope,
    subnet: cfg
      .map((c) => c.Subnet)
      .filter(Boolean)
      .join(', '),
    containers: Object.keys(n.Containers ?? {}).length,
    builtin: ['bridge', 'host', 'none'].includes(n.Name),
  };
}

export interface StatsView {
  cpu: string;
  mem: string;
  memPct: string;
  net: string;
  block: string;
  pids: string;
  /** The raw figures, for a bar. */
  cpuValue: number;
  memPctValue: number;
}

/** One `docker stats` line. */
export function statsView(s: StatsResponse): StatsView {
  const r = statsRow('', s);
  return {
    ...statsText(r),
    cpuValue: r.cpu,
    memPctValue: r.memPct,
  };
}

export interface EventView {
  time: string;
  type: string;
  action: string;
  id: string;
  name: string;
  attributes: string;
}

export function eventView(e: StreamedEvent): EventView {
  const attrs = e.Actor?.Attributes ?? {};
  const nanos = e.timeNano ? Number(BigInt(e.timeNano) / 1_000_000n) : (e.time ?? 0) * 1000;
  return {
    time: new Date(nanos).toISOString(),
    type: e.Type,
    action: e.Action,
    id: e.Actor?.ID ?? '',
    name: attrs.name ?? '',
    attributes: Object.keys(attrs)
      .sort()
      .filter((k) => k !== 'name')
      .map((k) => `${k}=${attrs[k]}`)
      .join(', '),
  };
}

export interface Overview {
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
  kernel: string;
  containers: { running: number; paused: number; stopped: number; total: number };
  images: number;
  volumes: number;
  networks: number;
  disk: { images: string; containers: string; volumes: string; buildCache: string };
}

export function overview(
  v: SystemVersion,
  containers: ContainerSummary[],
  images: number,
  volumes: number,
  networks: number,
  d: DiskUsage,
): Overview {
  const sum = (xs: (number | undefined)[]) => xs.reduce<number>((a, x) => a + (x && x > 0 ? x : 0), 0);
  const count = (s: string) => containers.filter((c) => c.State === s).length;
  const running = count('running');
  const paused = count('paused');
  return {
    version: v.Version,
    apiVersion: v.ApiVersion,
    os: v.Os,
    arch: v.Arch,
    kernel: v.KernelVersion ?? '',
    containers: { running, paused, stopped: containers.length - running - paused, total: containers.length },
    images,
    volumes,
    networks,
    disk: {
      images: humanSize(d.LayersSize ?? sum((d.Images ?? []).map((i) => i.Size)), 3),
      containers: humanSize(sum((d.Containers ?? []).map((c) => c.SizeRw)), 3),
      volumes: humanSize(sum((d.Volumes ?? []).map((x) => x.UsageData?.Size)), 3),
      buildCache: humanSize(sum((d.BuildCache ?? []).map((b) => b.Size)), 3),
    },
  };
}
