import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podStatus, parseShare, portBindings, memberRequest, guardRemove, prunable } from './state.ts';
import { POD_LABELS, type PodRecord } from './types.ts';

const s = (...statuses: string[]) => statuses.map((Status) => ({ Status }) as never);

const pod: PodRecord = {
  Id: 'p'.repeat(64),
  Name: 'web',
  Created: '2026-12-06T00:00:00Z',
  Labels: {},
  Hostname: 'web',
  SharedNamespaces: ['ipc', 'net', 'uts'],
  InfraContainerID: 'i'.repeat(64),
  Network: 'bridge',
  PortMappings: [],
  Dns: [],
  DnsSearch: [],
  DnsOptions: [],
  HostAdd: [],
  Sysctls: {},
  CgroupParent: '',
};

test("a pod's status follows Podman's rules from its containers' states", () => {
  assert.equal(podStatus(s('created', 'created')), 'Created');
  assert.equal(podStatus(s('running', 'running')), 'Running');
  assert.equal(podStatus(s('running', 'exited')), 'Degraded');
  assert.equal(podStatus(s('running', 'created')), 'Degraded');
  assert.equal(podStatus(s('paused', 'paused')), 'Paused');
  assert.equal(podStatus(s('exited', 'exited')), 'Exited');
  assert.equal(podStatus(s('exited', 'created')), 'Stopped');
  assert.equal(podStatus([]), 'Created');
});

test('--share takes Podman namespace names, comma separated, and refuses others', () => {
  assert.deepEqual(parseShare(undefined), ['ipc', 'net', 'uts']);
  assert.deepEqual(parseShare(['net,pid']), ['net', 'pid']);
  assert.deepEqual(parseShare(['none']), []);
  assert.throws(() => parseShare(['net,mnt']), /invalid kernel namespace to share: mnt/);
});

test("a pod's published ports become the infra container's port bindings", () => {
  assert.deepEqual(portBindings([{ container_port: 80, host_port: 8080 }]), {
    PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
    ExposedPorts: { '80/tcp': {} },
  });
  assert.deepEqual(
    portBindings([{ container_port: 53, host_port: 0, host_ip: '127.0.0.1', protocol: 'udp' }]).PortBindings,
    { '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
  );
  assert.throws(() => portBindings([{ container_port: 80, host_port: 1, protocol: 'icmp' }]), /invalid port protocol/);
});

test("a member joins the infra's network, IPC and host name, and carries its pod's labels", () => {
  const r = memberRequest(pod, { Image: 'busybox', Labels: { a: 'b' }, HostConfig: { NetworkMode: 'default' } });
  assert.equal(r.HostConfig?.NetworkMode, `container:${pod.InfraContainerID}`);
  assert.equal(r.HostConfig?.IpcMode, `container:${pod.InfraContainerID}`);
  assert.equal(r.HostConfig?.UTSMode, `container:${pod.InfraContainerID}`, "the infra's UTS namespace, as Podman's");
  assert.equal(r.HostConfig?.PidMode, undefined);
  assert.equal(r.Hostname, 'web');
  assert.deepEqual(r.Labels, { a: 'b', [POD_LABELS.id]: pod.Id, [POD_LABELS.name]: 'web' });
  const onHost = memberRequest({ ...pod, Network: 'host', Hostname: '' }, { Image: 'busybox' });
  assert.equal(onHost.HostConfig?.UTSMode, 'host', "a host-network pod's members have the host's name");
  assert.equal(onHost.Hostname, undefined);
  const init = memberRequest(pod, { Image: 'busybox' }, { init: true });
  assert.equal(init.Labels?.[POD_LABELS.init], 'always');
});

test('a member cannot take itself half out of the pod: its own network, ports, hostname or IPC are refused', () => {
  assert.throws(
    () => memberRequest(pod, { Image: 'b', HostConfig: { NetworkMode: 'host' } }),
    /network cannot be configured when it is shared with a pod/,
  );
  assert.throws(
    () => memberRequest(pod, { Image: 'b', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '1' }] } } }),
    /published or exposed ports must be defined when the pod is created/,
  );
  assert.throws(() => memberRequest(pod, { Image: 'b', Hostname: 'other' }), /cannot set hostname/);
  assert.throws(() => memberRequest(pod, { Image: 'b', HostConfig: { IpcMode: 'host' } }), /IPC namespace/);
  // Without infra nothing is shared, so nothing is refused.
  const bare = { ...pod, InfraContainerID: '', SharedNamespaces: [] };
  assert.equal(
    memberRequest(bare, { Image: 'b', HostConfig: { NetworkMode: 'host' } }).HostConfig?.NetworkMode,
    'host',
  );
});

test('a pod with running containers is removed only with force, and is not pruned', () => {
  assert.throws(() => guardRemove(pod, s('running', 'exited'), false), /pod has running containers/);
  guardRemove(pod, s('running'), true);
  guardRemove(pod, s('exited', 'created'), false);
  assert.equal(prunable(s('exited', 'created')), true);
  assert.equal(prunable(s('paused')), false);
});
