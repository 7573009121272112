import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expandEnv,
  parseBytes,
  parseDevice,
  parseGoDuration,
  parsePublish,
  parseRestart,
  parseUlimit,
  parseMount,
} from './flagvalues.ts';
import { runRequestFor } from './run.ts';

test('parseBytes is go-units RAMInBytes', () => {
  assert.equal(parseBytes('64m'), 64 * 1024 * 1024);
  assert.equal(parseBytes('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseBytes('512'), 512);
  assert.equal(parseBytes('10KiB'), 10240);
  assert.equal(parseBytes('2 MB'), 2 * 1024 * 1024);
  assert.throws(() => parseBytes('bogus'), { message: "invalid size: 'bogus'" });
});

test('parseGoDuration', () => {
  assert.equal(parseGoDuration('30s'), 30e9);
  assert.equal(parseGoDuration('1m30s'), 90e9);
  assert.equal(parseGoDuration('500ms'), 5e8);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('0'), 0);
  assert.throws(() => parseGoDuration('10'), /invalid duration/);
});

test('parsePublish follows nat.ParsePortSpec', () => {
  assert.deepEqual(parsePublish('8080:80'), {
    exposed: ['80/tcp'],
    bindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
  });
  assert.deepEqual(parsePublish('127.0.0.1::53/udp'), {
    exposed: ['53/udp'],
    bindings: { '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
  });
  assert.deepEqual(parsePublish('80'), { exposed: ['80/tcp'], bindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } });
  assert.deepEqual(parsePublish('[::1]:8080:80'), {
    exposed: ['80/tcp'],
    bindings: { '80/tcp': [{ HostIp: '::1', HostPort: '8080' }] },
  });
  assert.deepEqual(parsePublish('8000-8001:80-81').bindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8000' }],
    '81/tcp': [{ HostIp: '', HostPort: '8001' }],
  });
  assert.deepEqual(parsePublish('8000-8010:80').bindings, { '80/tcp': [{ HostIp: '', HostPort: '8000-8010' }] });
  assert.throws(() => parsePublish('8000-8001:80-82'), /invalid ranges/);
  assert.throws(() => parsePublish('80/bogus'), /invalid proto/);
});

test('ulimits, restart policies, devices, mounts', () => {
  assert.deepEqual(parseUlimit('nofile=100:200'), { Name: 'nofile', Soft: 100, Hard: 200 });
  assert.deepEqual(parseUlimit('nproc=64'), { Name: 'nproc', Soft: 64, Hard: 64 });
  assert.throws(() => parseUlimit('nofile=300:200'), /soft limit/);
  assert.deepEqual(parseRestart('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(parseRestart('unless-stopped'), { Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.throws(() => parseRestart('always:3'), /maximum retry count can only be used/);
  assert.deepEqual(parseDevice('/dev/sda:/dev/xvda:r'), {
    PathOnHost: '/dev/sda',
    PathInContainer: '/dev/xvda',
    CgroupPermissions: 'r',
  });
  assert.deepEqual(parseDevice('/dev/fuse'), {
    PathOnHost: '/dev/fuse',
    PathInContainer: '/dev/fuse',
    CgroupPermissions: 'rwm',
  });
  assert.deepEqual(parseMount('type=bind,source=/a,target=/b,readonly'), {
    Type: 'bind',
    Source: '/a',
    Target: '/b',
    ReadOnly: true,
  });
});

test('-e NAME takes the local value when there is one', () => {
  assert.equal(expandEnv('A', { A: 'x' }), 'A=x');
  assert.equal(expandEnv('A', {}), 'A');
  assert.equal(expandEnv('A=1', { A: 'x' }), 'A=1');
});

test("a run command line becomes docker's create request", () => {
  const r = runRequestFor([
    '--rm',
    '--name',
    'web',
    '-e',
    'A=1',
    '-w',
    '/w',
    '-u',
    '1:2',
    '--entrypoint',
    '',
    '--hostname',
    'h',
    '-l',
    'k=v',
    '--init',
    '-m',
    '64m',
    '--cpus',
    '0.5',
    '--pids-limit',
    '10',
    '--read-only',
    '--cap-add',
    'NET_ADMIN',
    '--cap-drop',
    'ALL',
    '--privileged',
    '--security-opt',
    'no-new-privileges',
    '--ulimit',
    'nofile=10:20',
    '--network',
    'mynet',
    '--network-alias',
    'db',
    '-p',
    '8080:80',
    '-v',
    '/h:/c:ro',
    '-v',
    '/anon',
    '--restart',
    'no',
    '-it',
    'busybox',
    'sh',
    '-c',
    'echo hi',
  ]);
  assert.equal(r.name, 'web');
  assert.equal(r.autoRemove, true);
  assert.equal(r.tty && r.stdin, true);
  assert.deepEqual(r.attach, { stdin: true, stdout: true, stderr: true });
  const b = r.body;
  assert.equal(b.Image, 'busybox');
  assert.deepEqual(b.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(b.Entrypoint, ['']);
  assert.deepEqual(b.Env, ['A=1']);
  assert.equal(b.WorkingDir, '/w');
  assert.equal(b.User, '1:2');
  assert.equal(b.Hostname, 'h');
  assert.deepEqual(b.Labels, { k: 'v' });
  assert.equal(b.OpenStdin && b.StdinOnce && b.Tty, true);
  assert.deepEqual(b.ExposedPorts, { '80/tcp': {} });
  assert.deepEqual(b.Volumes, { '/anon': {} });
  const h = b.HostConfig!;
  assert.equal(h.AutoRemove, true);
  assert.equal(h.Init, true);
  assert.equal(h.Memory, 64 * 1024 * 1024);
  assert.equal(h.NanoCpus, 5e8);
  assert.equal(h.PidsLimit, 10);
  assert.equal(h.ReadonlyRootfs && h.Privileged, true);
  assert.deepEqual(h.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(h.CapDrop, ['ALL']);
  assert.deepEqual(h.SecurityOpt, ['no-new-privileges']);
  assert.deepEqual(h.Ulimits, [{ Name: 'nofile', Soft: 10, Hard: 20 }]);
  assert.equal(h.NetworkMode, 'mynet');
  assert.deepEqual(h.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(h.Binds, ['/h:/c:ro']);
  assert.deepEqual(h.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  assert.deepEqual(b.NetworkingConfig, { EndpointsConfig: { mynet: { Aliases: ['db'] } } });
});

test('run defaults: detached attaches nothing, unset flags stay out of the request', () => {
  const r = runRequestFor(['-d', 'busybox']);
  assert.deepEqual(r.attach, { stdin: false, stdout: false, stderr: false });
  assert.equal(r.body.Cmd, undefined);
  assert.equal(r.body.HostConfig!.Memory, undefined);
  assert.equal(r.body.HostConfig!.NetworkMode, 'default');
  assert.equal(r.sigProxy, true);
  assert.throws(
    () => runRequestFor(['--rm', '--restart', 'always', 'busybox']),
    /conflicting options: cannot specify both --restart and --rm/,
  );
  assert.throws(() => runRequestFor(['-m', 'x', 'busybox']), {
    message: 'invalid argument "x" for "-m, --memory" flag: invalid size: \'x\'',
  });
});
