import test from 'node:test';
import assert from 'node:assert/strict';
import { ago, containerRow, eventView, imageRows, networkRow, overview, statsView, volumeRow } from './views.ts';
import type {
  ContainerSummary,
  DiskUsage,
  ImageSummary,
  Network,
  StatsResponse,
  SystemVersion,
} from '../client/index.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const secs = (iso: string) => Date.parse(iso) / 1000;

const summary = (over: Partial<ContainerSummary> = {}): ContainerSummary => ({
  Id: 'a'.repeat(64),
  Names: ['/web'],
  Image: 'busybox',
  ImageID: 'sha256:' + 'b'.repeat(64),
  Command: 'sleep 300',
  Created: secs('2026-11-22T10:00:00Z'),
  Ports: [],
  Labels: {},
  State: 'running',
  Status: 'Up 2 hours',
  HostConfig: { NetworkMode: 'bridge' },
  NetworkSettings: { Networks: {} },
  Mounts: [],
  ...over,
});

test('a container row reads as docker ps: name, image, status text, ports, created', () => {
  const r = containerRow(
    summary({
      Names: ['/app/web', '/web'],
      Ports: [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' },
      ],
    }),
    NOW,
  );
  assert.equal(r.name, 'web');
  assert.equal(r.shortId, 'aaaaaaaaaaaa');
  assert.equal(r.status, 'Up 2 hours');
  assert.equal(r.ports, '443/tcp, 0.0.0.0:8080->80/tcp');
  assert.equal(r.created, '2 hours ago');
  assert.equal(r.createdAt, '2026-11-22T10:00:00.000Z');
  // an image known only by its ID shows the short ID
  assert.equal(containerRow(summary({ Image: 'sha256:' + 'b'.repeat(64) }), NOW).image, 'bbbbbbbbbbbb');
});

test("ago is docker's CREATED column", () => {
  assert.equal(ago(secs('2026-11-22T11:59:30Z'), NOW), '30 seconds ago');
  assert.equal(ago(secs('2026-11-19T12:00:00Z'), NOW), '3 days ago');
  assert.equal(ago(0, NOW), '');
});

test("image rows: one per tag, <none> when untagged, sizes in docker images' units", () => {
  const base: ImageSummary = {
    Id: 'sha256:' + 'c'.repeat(64),
    ParentId: '',
    RepoTags: ['busybox:latest', 'localhost:5000/bb:1'],
    RepoDigests: [],
    Created: secs('2026-11-01T12:00:00Z'),
    Size: 1984132,
    SharedSize: -1,
    VirtualSize: 1984132,
    Labels: {},
    Containers: 2,
  };
  const rows = imageRows([base, { ...base, RepoTags: [], Id: 'sha256:' + 'd'.repeat(64) }], NOW);
  assert.deepEqual(
    rows.map((r) => [r.repository, r.tag, r.ref, r.size]),
    [
      ['busybox', 'latest', 'busybox:latest', '1.98MB'],
      ['localhost:5000/bb', '1', 'localhost:5000/bb:1', '1.98MB'],
      ['<none>', '<none>', 'sha256:' + 'd'.repeat(64), '1.98MB'],
    ],
  );
  assert.equal(rows[0]!.created, '3 weeks ago');
  assert.equal(rows[0]!.containers, 2);
  const used = imageRows([base], NOW, [summary({ ImageID: base.Id }), summary({ ImageID: 'sha256:other' })]);
  assert.equal(used[0]!.containers, 1);
});

test("stats: docker stats' CPU %, memory and I/O text", () => {
  const s = {
    cpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 10_000_000_000 },
    memory_stats: { usage: 10 * 1024 * 1024, limit: 100 * 1024 * 1024, stats: { total_inactive_file: 0 } },
    networks: { eth0: { rx_bytes: 1000, tx_bytes: 2000 } },
    pids_stats: { current: 3 },
  } as unknown as StatsResponse;
  const v = statsView(s);
  assert.equal(v.cpu, '20.00%');
  assert.equal(v.mem, '10MiB / 100MiB');
  assert.equal(v.memPct, '10.00%');
  assert.equal(v.net, '1kB / 2kB');
  assert.equal(v.pids, '3');
});

test('volumes, networks, events and the overview', () => {
  const v = volumeRow(
    {
      Name: 'data',
      Driver: 'local',
      Mountpoint: '/m',
      CreatedAt: '2026-11-22T11:00:00Z',
      Labels: null,
      Options: null,
      Scope: 'local',
    },
    NOW,
  );
  assert.deepEqual([v.name, v.created, v.size], ['data', 'About an hour ago', 'N/A']);
  const n = networkRow({
    Name: 'bridge',
    Id: 'e'.repeat(64),
    Driver: 'bridge',
    Scope: 'local',
    IPAM: { Config: [{ Subnet: '10.1.0.0/16' }] },
    Containers: { x: {} },
  } as unknown as Network);
  assert.deepEqual([n.shortId, n.subnet, n.containers, n.builtin], ['eeeeeeeeeeee', '10.1.0.0/16', 1, true]);
  const e = eventView({
    Type: 'container',
    Action: 'start',
    Actor: { ID: 'abc', Attributes: { name: 'web', image: 'busybox' } },
    scope: 'local',
    time: 1795348800,
    timeNano: '1795348800123456789',
  });
  assert.deepEqual([e.name, e.attributes, e.time], ['web', 'image=busybox', new Date(1795348800123).toISOString()]);
  const o = overview(
    { Version: '0.1.0', ApiVersion: '1.45', Os: 'linux', Arch: 'amd64' } as SystemVersion,
    [summary(), summary({ State: 'paused' }), summary({ State: 'exited' }), summary({ State: 'created' })],
    3,
    1,
    2,
    {
      LayersSize: 2_000_000,
      Containers: [{ SizeRw: 1000 }, { SizeRw: -1 }],
      Volumes: [{ UsageData: { Size: 5000 } }],
    } as unknown as DiskUsage,
  );
  assert.deepEqual(o.containers, { running: 1, paused: 1, stopped: 2, total: 4 });
  assert.deepEqual(o.disk, { images: '2MB', containers: '1kB', volumes: '5kB', buildCache: '0B' });
});
