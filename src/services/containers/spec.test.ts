import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupsPathFor, validateCreateTypes } from './spec.ts';

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
