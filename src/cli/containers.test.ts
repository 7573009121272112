import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerSummary, ImageSummary, StatsResponse } from '../client/index.ts';
import { displayablePorts, statsRow } from '../client/index.ts';
import { naturalLess } from './format.ts';
import { containerContext } from './ps.ts';
import { statsContext } from './stats.ts';
import { imageRows, imageContext } from './images.ts';
import { render } from './template.ts';

test('displayablePorts groups ranges and lists host mappings last', () => {
  assert.equal(displayablePorts([{ PrivatePort: 80, Type: 'tcp' }]), '80/tcp');
  assert.equal(
    displayablePorts([
      { PrivatePort: 81, Type: 'tcp' },
      { PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 82, Type: 'tcp' },
    ]),
    '80-82/tcp',
  );
  assert.equal(
    displayablePorts([
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    ]),
    '0.0.0.0:8080->80/tcp, [::]:8080->80/tcp',
  );
  assert.equal(
    displayablePorts([
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 80, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 81, PublicPort: 81, Type: 'tcp' },
    ]),
    '0.0.0.0:80-81->80-81/tcp',
  );
  assert.equal(displayablePorts(null), '');
});

const summary: ContainerSummary = {
  Id: 'd1f08660d3b59720e1db59e77f4ff4593009d6f3d11b1644bab21ee925b4798e',
  Names: ['/web', '/other/link'],
  Image: 'busybox',
  ImageID: 'sha256:5552ffaf4c6b5bf7',
  Command: "sh -c 'echo err >&2; exit 3'",
  Created: 1795354258,
  Ports: [],
  Labels: { b: '2', a: '1' },
  State: 'exited',
  Status: 'Exited (3) 2 seconds ago',
  HostConfig: { NetworkMode: 'bridge' },
  NetworkSettings: { Networks: { bridge: {} } },
  Mounts: [],
};

test('ps row context: truncation, quoting, names, labels, json keys', () => {
  process.env.TZ = 'UTC';
  const c = containerContext(summary, true, 1795354258_000 + 3_000);
  assert.equal(c.ID, 'd1f08660d3b5');
  assert.equal(c.Command, '"sh -c \'echo err >&2…"');
  assert.equal(c.Names, 'web');
  assert.equal(c.RunningFor, '3 seconds ago');
  assert.equal(c.Labels, 'a=1,b=2');
  assert.equal(c.Size, '0B');
  assert.equal(render('{{.Label "b"}}', c), '2');
  assert.equal(
    render('{{json .}}', c),
    '{"Command":"\\"sh -c \'echo err \\u003e\\u00262…\\"","CreatedAt":"2026-11-22 13:30:58 +0000 UTC","ID":"d1f08660d3b5","Image":"busybox","Labels":"a=1,b=2","LocalVolumes":"0","Mounts":"","Names":"web","Networks":"bridge","Platform":null,"Ports":"","RunningFor":"3 seconds ago","Size":"0B","State":"exited","Status":"Exited (3) 2 seconds ago"}',
  );
  const full = containerContext(summary, false);
  assert.equal(full.Names, 'web,other/link');
  assert.equal(full.Command, '"sh -c \'echo err >&2; exit 3\'"');
  assert.equal(
    containerContext({ ...summary, Image: 'docker.io/library/busybox:latest' }, true).Image,
    'busybox:latest',
  );
  assert.equal(containerContext({ ...summary, Image: 'sha256:5552ffaf4c6b5bf7' }, true).Image, '5552ffaf4c6b');
});

test('image rows: one per repo:tag, dangling as <none>', () => {
  process.env.TZ = 'UTC';
  const img: ImageSummary = {
    Id: 'sha256:5552ffaf4c6b5bf7fb750b2137d10ce9449a298769776ea44fb1540f03558e43',
    ParentId: '',
    RepoTags: ['foo/bar:v1', 'busybox:latest'],
    RepoDigests: [],
    Created: 1795354202,
    Size: 1984132,
    SharedSize: -1,
    VirtualSize: 1984132,
    Labels: {},
    Containers: -1,
  };
  assert.deepEqual(imageRows(img, false), [
    { repo: 'foo/bar', tag: 'v1', digest: '<none>' },
    { repo: 'busybox', tag: 'latest', digest: '<none>' },
  ]);
  assert.deepEqual(imageRows({ ...img, RepoTags: [] }, false), [{ repo: '<none>', tag: '<none>', digest: '<none>' }]);
  assert.deepEqual(imageRows({ ...img, RepoTags: [], RepoDigests: ['busybox@sha256:' + 'a'.repeat(64)] }, false), [
    { repo: 'busybox', tag: '<none>', digest: '' },
  ]);
  const ctx = imageContext(img, { repo: 'busybox', tag: 'latest', digest: '<none>' }, true, 1795354202_000 + 90_000);
  assert.equal(
    render('{{json .}}', ctx),
    '{"Containers":"N/A","CreatedAt":"2026-11-22 13:30:02 +0000 UTC","CreatedSince":"About a minute ago","Digest":"\\u003cnone\\u003e","ID":"5552ffaf4c6b","Repository":"busybox","SharedSize":"N/A","Size":"1.98MB","Tag":"latest","UniqueSize":"N/A","VirtualSize":"1.984MB"}',
  );
});

test("stats: docker's CPU and memory arithmetic", () => {
  const r = statsRow('1395ddd249d9ff30', {
    name: '/web2',
    cpu_stats: { cpu_usage: { total_usage: 2_000_000 }, system_cpu_usage: 200_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 1_000_000 }, system_cpu_usage: 100_000_000 },
    memory_stats: { usage: 1_000_000, limit: 2_000_000, stats: { total_inactive_file: 447_040 } },
    networks: { eth0: { rx_bytes: 1000, tx_bytes: 2000 } },
    blkio_stats: {
      io_service_bytes_recursive: [
        { op: 'Read', value: 4096 },
        { op: 'Write', value: 8192 },
      ],
    },
    pids_stats: { current: 1 },
  } as unknown as StatsResponse);
  const c = statsContext(r, true);
  assert.equal(c.CPUPerc, '2.00%');
  assert.equal(c.MemUsage, '540KiB / 1.907MiB');
  assert.equal(c.MemPerc, '27.65%');
  assert.equal(c.NetIO, '1kB / 2kB');
  assert.equal(c.BlockIO, '4.1kB / 8.19kB');
  assert.equal(c.Name, 'web2');
  assert.equal(c.PIDs, '1');
});

test('naturalLess compares digit runs as numbers', () => {
  assert.equal(naturalLess('n2', 'n10'), true);
  assert.equal(naturalLess('n10', 'n2'), false);
  assert.equal(naturalLess('a', 'b'), true);
});
