import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerInspect } from '../types/index.ts';
import { libpodInspect, libpodListEntry } from './libpod-inspect.ts';

const docker = {
  Id: 'c'.repeat(64),
  Created: '2026-12-06T18:00:00Z',
  Path: 'sh',
  Args: ['-c', 'exit 3'],
  State: {
    Status: 'dead',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: true,
    Pid: 0,
    ExitCode: 3,
    Error: '',
    StartedAt: '2026-12-06T18:00:01Z',
    FinishedAt: '2026-12-06T18:00:02Z',
  },
  Image: 'sha256:' + 'i'.repeat(64),
  ResolvConfPath: '',
  HostnamePath: '',
  HostsPath: '',
  LogPath: '',
  Name: '/web',
  RestartCount: 0,
  Driver: 'overlay2',
  Platform: 'linux',
  MountLabel: '',
  ProcessLabel: '',
  AppArmorProfile: '',
  ExecIDs: null,
  HostConfig: { NetworkMode: 'none', AutoRemove: true },
  GraphDriver: { Name: 'overlay2', Data: null },
  Mounts: [
    {
      Type: 'volume',
      Name: 'data',
      Source: '/v/data/_data',
      Destination: '/data',
      Mode: 'z',
      RW: false,
      Propagation: '',
    },
  ],
  Config: { Image: 'busybox', Tty: true, Entrypoint: ['sh', '-c'], Cmd: 'exit 3', StopSignal: 'SIGQUIT' },
  NetworkSettings: {},
} as unknown as ContainerInspect;

test("Libpod's inspect says in Podman's types what the Engine API's does: a signal number, one entrypoint string, the pod", () => {
  const l = libpodInspect(docker, 'p'.repeat(64), false);
  assert.equal(l.Name, 'web');
  assert.equal(l.Image, 'i'.repeat(64));
  assert.equal(l.ImageName, 'busybox');
  assert.equal(l.Pod, 'p'.repeat(64));
  assert.equal(l.State.Status, 'exited', 'Libpod has no dead state');
  assert.equal(l.State.ExitCode, 3);
  assert.equal(l.Config.Tty, true);
  assert.equal(l.Config.StopSignal, 3);
  assert.equal(l.Config.Entrypoint, 'sh -c');
  assert.deepEqual(l.Config.Cmd, ['exit 3']);
  assert.deepEqual(l.Mounts[0]?.Options, ['ro']);
  assert.equal(l.HostConfig.AutoRemove, true);
  assert.deepEqual(l.ExecIDs, []);
});

test("a line of Libpod's container list: the command as a list, times as Unix seconds, the pod by ID and name, ports in Podman's names", () => {
  const withPorts = {
    ...docker,
    HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } },
  } as unknown as ContainerInspect;
  const l = libpodListEntry(withPorts, 'busybox', { id: 'p'.repeat(64), name: 'web', isInfra: false });
  assert.deepEqual(l.Command, ['sh', '-c', 'exit 3']);
  assert.deepEqual(l.Names, ['web']);
  assert.equal(l.State, 'exited');
  assert.equal(l.Exited, true);
  assert.equal(l.ExitedAt, Date.parse('2026-12-06T18:00:02Z') / 1000);
  assert.equal(l.PodName, 'web');
  assert.deepEqual(l.Ports, [{ host_ip: '', container_port: 80, host_port: 8080, range: 1, protocol: 'tcp' }]);
});
