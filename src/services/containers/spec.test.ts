import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Image } from '../../images/index.ts';
import type { Digest } from '../../spec/index.ts';
import { newRecord } from './create.ts';
import { buildSpec, cgroupsPathFor } from './spec.ts';
import { validateCreateTypes } from './request-shape.ts';

const create = (extra: Record<string, unknown>) => () => validateCreateTypes({ Image: 'busybox', ...extra });

test('create requests: wrong JSON types are 400s naming the field, as Go decoding refuses them', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ Env: [1, 2] }, /Env must be a list of strings/],
    [{ Cmd: 5 }, /Cmd must be a string or a list of strings/],
    [{ Labels: { a: 1 } }, /Labels must be an object of strings/],
    [{ StopTimeout: 'x' }, /StopTimeout must be a number/],
    [{ Healthcheck: { Test: 'x' } }, /Healthcheck\.Test must be a list of strings/],
    [{ HostConfig: [] }, /HostConfig must be an object/],
    [{ HostConfig: { Memory: '1g' } }, /HostConfig\.Memory must be a number/],
    [{ HostConfig: { Privileged: 'yes' } }, /HostConfig\.Privileged must be a boolean/],
    [{ HostConfig: { PortBindings: { '80/tcp': 'x' } } }, /HostConfig\.PortBindings\.80\/tcp must be a list/],
    [
      { HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 8080 }] } } },
      /HostConfig\.PortBindings\.80\/tcp\[0\]\.HostPort must be a string/,
    ],
    [{ HostConfig: { Devices: [{ PathOnHost: 1 }] } }, /HostConfig\.Devices\[0\]\.PathOnHost must be a string/],
    [
      { HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': 5 } } } },
      /HostConfig\.LogConfig\.Config must be an object of strings/,
    ],
    [{ HostConfig: { RestartPolicy: 'always' } }, /HostConfig\.RestartPolicy must be an object/],
    [{ HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 'a' }] } }, /HostConfig\.Ulimits\[0\]\.Soft must be a number/],
    [{ HostConfig: { Ulimits: [{ Name: 'files', Soft: 1, Hard: 1 }] } }, /invalid ulimit type: files/],
    [{ NetworkingConfig: { EndpointsConfig: { n: 1 } } }, /NetworkingConfig\.EndpointsConfig\.n must be an object/],
    [
      { NetworkingConfig: { EndpointsConfig: { n: { Aliases: 'a' } } } },
      /NetworkingConfig\.EndpointsConfig\.n\.Aliases must be a list of strings/,
    ],
    [{ ExposedPorts: { abc: {} } }, /invalid port specification: "abc"/],
    [{ HostConfig: { PortBindings: { '99999/tcp': [] } } }, /invalid port specification: "99999\/tcp"/],
  ];
  for (const [req, message] of cases) assert.throws(create(req), message, JSON.stringify(req));
});

test('create requests: what Go accepts is accepted (a string Cmd, nulls, unknown fields)', () => {
  for (const req of [
    { Cmd: 'echo hi', Entrypoint: ['sh', '-c'] },
    { HostConfig: { Init: null, OomKillDisable: null, PortBindings: null, Memory: 0 }, NetworkingConfig: null },
    {
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8080': {} },
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } },
    },
    { SomethingNewer: { nested: true }, HostConfig: { AlsoNewer: 1 } },
  ])
    assert.doesNotThrow(create(req), JSON.stringify(req));
});

test("create requests: HostConfig fields match without regard to case, as Go decodes them (the SDK's CPURealtimePeriod)", () => {
  const req: Record<string, unknown> = { Image: 'busybox', HostConfig: { CPURealtimePeriod: 500000, memory: 8388608 } };
  validateCreateTypes(req);
  assert.deepEqual(req.HostConfig, { CpuRealtimePeriod: 500000, Memory: 8388608 });
});

test("--cgroup-parent puts the container's cgroup under that parent, absolute or relative to the root", () => {
  assert.equal(cgroupsPathFor(undefined, 'abc'), '/berth/abc');
  assert.equal(cgroupsPathFor('', 'abc'), '/berth/abc');
  assert.equal(cgroupsPathFor('/pods/p1', 'abc'), '/pods/p1/abc');
  assert.equal(cgroupsPathFor('pods', 'abc'), '/pods/abc');
  assert.equal(cgroupsPathFor('/../x/', 'abc'), '/x/abc');
});

test("a warm sandbox's /etc files: its hand-over writes only those the container's differ in, and records them", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-etc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const image: Pick<Image, 'id' | 'config' | 'topChain'> = {
    id: `sha256:${'cd'.repeat(32)}` as Digest,
    topChain: null,
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: ['sh'] } },
  };
  const at = { id: 'a'.repeat(64), name: 'box', image, runtime: 'crun', now: new Date() };
  const ctx = { dir, rootfs: join(dir, 'rootfs'), resolveUser: async () => ({ uid: 0, gid: 0, additionalGids: [] }) };
  const etc = new Map<string, string>();
  // The making: every file written, and what was written recorded.
  await buildSpec(newRecord({ Image: image.id, HostConfig: { NetworkMode: 'none' } }, at), { ...ctx, etcWritten: etc });
  assert.deepEqual([...etc.keys()].sort(), ['hostname', 'hosts', 'resolv.conf']);
  assert.equal(readFileSync(join(dir, 'hostname'), 'utf8'), 'aaaaaaaaaaaa\n');
  // Marks on disk show which files the hand-over writes again.
  for (const f of etc.keys()) writeFileSync(join(dir, f), 'untouched');
  const withHost = newRecord({ Image: image.id, HostConfig: { NetworkMode: 'none', ExtraHosts: ['db:10.1.2.3'] } }, at);
  await buildSpec(withHost, { ...ctx, etcWritten: etc });
  assert.equal(readFileSync(join(dir, 'hostname'), 'utf8'), 'untouched');
  assert.equal(readFileSync(join(dir, 'resolv.conf'), 'utf8'), 'untouched');
  assert.match(readFileSync(join(dir, 'hosts'), 'utf8'), /^10\.1\.2\.3\tdb$/m);
  assert.match(etc.get('hosts')!, /10\.1\.2\.3\tdb/);
  // Without the record (any other task), every file is written.
  await buildSpec(withHost, ctx);
  assert.equal(readFileSync(join(dir, 'hostname'), 'utf8'), 'aaaaaaaaaaaa\n');
});
